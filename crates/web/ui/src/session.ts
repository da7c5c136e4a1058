// Who is signed in (`GET /v1/me`) and what they may do. Views read it through `useSession`.

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { request, setCsrfToken, SIGN_IN_URL } from "./api";

export type Permission =
  | "analytics.read"
  | "analytics.export"
  | "compliance.read"
  | "compliance.delete"
  | "policies.read"
  | "policies.manage"
  | "users.read"
  | "users.manage"
  | "keys.manage"
  | "budgets.manage"
  | "workspace.admin";

export interface Me {
  kind: "user" | "local_admin" | "api_key" | string;
  workspace_id: string;
  permissions: string[];
  csrf_token?: string | null;
  email?: string | null;
  user_id?: string | null;
  username?: string | null;
  name?: string | null;
}

export interface Session {
  me: Me;
  can(p: Permission): boolean;
  /** `/v1/workspaces/{ws}` (Steward's own API). */
  ws: string;
  /** `/v1/analytics/codex/workspaces/{ws}` (the OpenAI-compatible Analytics API). */
  analytics: string;
}

export function makeSession(me: Me): Session {
  const granted = new Set(me.permissions ?? []);
  const wsId = encodeURIComponent(me.workspace_id);
  return {
    me,
    // `analytics.export` and `*.manage` imply their read permission (docs/identity.md).
    can: (p) =>
      granted.has(p) ||
      (p === "analytics.read" && granted.has("analytics.export")) ||
      (p === "policies.read" && granted.has("policies.manage")) ||
      (p === "users.read" && granted.has("users.manage")),
    ws: `/v1/workspaces/${wsId}`,
    analytics: `/v1/analytics/codex/workspaces/${wsId}`,
  };
}

/** Loads `/v1/me`; on 401 the browser is sent to the sign-in page (and this never resolves). */
export async function loadSession(): Promise<Session> {
  try {
    const me = await request<Me>("/v1/me", { noRedirectOn401: true });
    setCsrfToken(me.csrf_token);
    return makeSession(me);
  } catch (e) {
    if (e && typeof e === "object" && (e as { status?: number }).status === 401) {
      window.location.assign(SIGN_IN_URL);
      return new Promise(() => {});
    }
    throw e;
  }
}

/** How the signed-in identity is shown in the header. */
export function identityLabel(me: Me): string {
  if (me.kind === "user") return me.name || me.email || me.user_id || "signed in";
  if (me.kind === "local_admin") return `${me.username ?? "admin"} (local admin)`;
  if (me.kind === "api_key") return `API key ${me.name ?? ""}`.trim();
  return me.kind;
}

export async function signOut(): Promise<void> {
  try {
    await request("/auth/logout", { method: "POST", noRedirectOn401: true });
  } finally {
    window.location.assign("/auth/sign-in");
  }
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside of SessionContext");
  return s;
}

/** The permission a view needs, named in its "you cannot see this" message. */
export const PERMISSION_HELP: Record<Permission, string> = {
  "analytics.read": "read usage analytics",
  "analytics.export": "export usage",
  "compliance.read": "read the compliance log",
  "compliance.delete": "delete compliance content",
  "policies.read": "read managed policies",
  "policies.manage": "change managed policies",
  "users.read": "see users, groups and roles",
  "users.manage": "manage users and role assignments",
  "keys.manage": "manage API keys and ingest tokens",
  "budgets.manage": "set budgets",
  "workspace.admin": "administer the workspace",
};
