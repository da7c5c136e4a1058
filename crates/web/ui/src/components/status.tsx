// Loading, error and "updated at" messages, announced politely to screen readers.

import type { ComponentChildren } from "preact";
import { ApiError } from "../api";
import { fmtClock } from "../format";
import { PERMISSION_HELP, type Permission } from "../session";

/** An error as the server phrased it; a 403 also says which permission is missing. */
export function ErrorNotice({ error, what, testId }: { error: Error; what?: string; testId?: string }) {
  const api = error instanceof ApiError ? error : null;
  const missing = api?.forbidden ? missingPermission(api.message) : null;
  return (
    <div class="notice notice-error" role="alert" data-testid={testId}>
      <span class="notice-icon" aria-hidden="true">
        ✕
      </span>
      <div>
        <strong>{api?.forbidden ? "Not allowed" : what ? `Could not load ${what}` : "Error"}</strong>
        {api && api.status > 0 && !api.forbidden ? <span class="muted"> (HTTP {api.status})</span> : null}
        <p>{error.message}</p>
        {missing && (
          <p>
            This needs the <code>{missing}</code> permission ({PERMISSION_HELP[missing]}). Ask a workspace owner to
            grant a role that includes it.
          </p>
        )}
      </div>
    </div>
  );
}

/** Finds a permission name in a 403 message ("API key lacks policies.read"). */
function missingPermission(message: string): Permission | null {
  const m = message.match(/\b(analytics|compliance|policies|users|keys|budgets|workspace)\.(read|export|delete|manage|admin)\b/);
  if (!m) return null;
  const name = m[0] as Permission;
  return name in PERMISSION_HELP ? name : null;
}

/** The page a caller without the permission sees instead of a view. */
export function NeedsPermission({ permission, view }: { permission: Permission; view: string }) {
  return (
    <div class="notice notice-info" data-testid="needs-permission">
      <span class="notice-icon" aria-hidden="true">
        🔒
      </span>
      <div>
        <strong>{view} is not available to you</strong>
        <p>
          It needs the <code>{permission}</code> permission ({PERMISSION_HELP[permission]}). Ask a workspace owner to
          grant a role that includes it.
        </p>
      </div>
    </div>
  );
}

/** The polite live region of a view: loading, refreshed-at, or nothing. */
export function StatusLine({ loading, updatedAt, children }: { loading: boolean; updatedAt: Date | null; children?: ComponentChildren }) {
  return (
    <p class="status-line" aria-live="polite" aria-atomic="true" data-testid="status-line">
      {loading ? (
        <span class="loading">
          <span class="spinner" aria-hidden="true" /> Loading…
        </span>
      ) : updatedAt ? (
        <span>Updated {fmtClock(updatedAt)} · refreshes every 10 s</span>
      ) : null}
      {children}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
