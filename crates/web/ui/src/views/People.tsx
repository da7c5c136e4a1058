// People and access: users, groups, roles, role assignments, API keys and ingest tokens.
// Listing needs users.read (keys: keys.manage); actions need users.manage / keys.manage.

import { Fragment } from "preact";
import { useMemo, useState } from "preact/hooks";
import { request, seg } from "../api";
import { Tabs } from "../components/Tabs";
import { ErrorNotice, Loading, NeedsPermission } from "../components/status";
import { fmtDateTimeMs, fmtInt } from "../format";
import { useLoader } from "../poll";
import { useReady } from "../ready";
import { updateQuery } from "../router";
import { useSession } from "../session";

interface UserRow {
  id: string;
  email: string | null;
  name: string | null;
  kind: string;
  active: boolean;
  created_at_ms: number;
}
interface GroupRow {
  id: string;
  name: string;
  source: string;
  members: number;
  created_at_ms: number;
}
interface RoleRow {
  name: string;
  description: string;
  builtin: boolean;
  permissions: string[];
  assignments: number;
  is_default: boolean;
}
interface RoleAssignmentRow {
  role: string;
  subject_kind: string;
  subject_id: string;
  subject: string | null;
  created_at_ms: number;
}
interface CredentialRow {
  id: string;
  name: string;
  kind: string;
  user_id?: string;
  scopes?: string[];
  prefix: string;
  created_at_ms: number;
  created_by: string | null;
  expires_at_ms: number | null;
  last_used_at_ms: number | null;
  revoked_at_ms: number | null;
  status: string;
}

const TABS = [
  { id: "users", label: "Users" },
  { id: "groups", label: "Groups" },
  { id: "roles", label: "Roles" },
  { id: "assignments", label: "Role assignments" },
  { id: "keys", label: "API keys & tokens" },
];

type List<T> = { data: T[] };

export function People({ query }: { query: URLSearchParams }) {
  const s = useSession();
  const tab = TABS.some((t) => t.id === query.get("tab")) ? query.get("tab")! : "users";
  return (
    <div class="view">
      <div class="view-head">
        <h2>People &amp; access</h2>
      </div>
      <Tabs tabs={TABS} selected={tab} onSelect={(id) => updateQuery({ tab: id })} label="People and access">
        {tab === "users" && <UsersTab />}
        {tab === "groups" && <GroupsTab />}
        {tab === "roles" && <RolesTab />}
        {tab === "assignments" && <AssignmentsTab />}
        {tab === "keys" && (s.can("keys.manage") ? <KeysTab /> : <NeedsPermissionReady permission="keys.manage" />)}
      </Tabs>
    </div>
  );
}

function NeedsPermissionReady({ permission }: { permission: "keys.manage" }) {
  useReady("people", true);
  return <NeedsPermission permission={permission} view="API keys and ingest tokens" />;
}

/** Loads a list endpoint and marks the view ready when it answered. */
function useList<T>(key: string, path: string) {
  const loaded = useLoader(key, (signal) => request<List<T>>(path, { signal }));
  useReady("people", !!(loaded.data || loaded.error), loaded.data);
  return loaded;
}

const PAGE = 100;

function UsersTab() {
  const s = useSession();
  const users = useList<UserRow>("users", `${s.ws}/users`);
  const assignments = useLoader("role-assignments", (signal) => request<List<RoleAssignmentRow>>(`${s.ws}/role_assignments`, { signal }));
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState(0);
  const [actionError, setActionError] = useState<Error | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  // Roles assigned to the user directly (group roles are on the Role assignments tab).
  const rolesOf = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const a of assignments.data?.data ?? []) {
      if (a.subject_kind !== "user") continue;
      m.set(a.subject_id, [...(m.get(a.subject_id) ?? []), a.role]);
    }
    return m;
  }, [assignments.data]);
  const rows = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const all = users.data?.data ?? [];
    return f ? all.filter((u) => (u.email ?? "").toLowerCase().includes(f) || (u.name ?? "").toLowerCase().includes(f)) : all;
  }, [users.data, filter]);
  const shown = rows.slice(page * PAGE, (page + 1) * PAGE);

  const setActive = async (u: UserRow, active: boolean) => {
    if (!u.email) return;
    if (!active && !window.confirm(`Deactivate ${u.email}? Their tokens and sessions are revoked at once.`)) return;
    setBusy(u.id);
    setActionError(null);
    try {
      await request(`${s.ws}/users/${seg(u.email)}/${active ? "activate" : "deactivate"}`, { method: "POST" });
      users.reload();
    } catch (e) {
      setActionError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setBusy(null);
    }
  };

  if (users.error) return <ErrorNotice error={users.error} what="users" />;
  if (!users.data) return <Loading what="users" />;
  const canManage = s.can("users.manage");
  return (
    <>
      <div class="filters">
        <div class="field grow">
          <label for="people-filter">Filter by email or name</label>
          <input id="people-filter" type="search" value={filter} onInput={(e) => (setFilter(e.currentTarget.value), setPage(0))} />
        </div>
      </div>
      {actionError && <ErrorNotice error={actionError} what="the change" />}
      <div class="table-wrap">
        <table class="data" data-testid="people-users">
          <caption>
            {fmtInt(rows.length)} users{filter ? " matching the filter" : ""}
          </caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Active</th>
              <th scope="col">Roles (assigned directly)</th>
              {canManage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {shown.map((u) => (
              <tr key={u.id} data-testid="people-user-row" data-user-id={u.id}>
                <td>
                  <a href={`#/users/${encodeURIComponent(u.id)}`}>{u.email ?? u.id}</a>
                </td>
                <td>{u.name ?? <span class="muted">–</span>}</td>
                <td>{u.kind}</td>
                <td>{u.active ? <span class="badge badge-ok">✔ active</span> : <span class="badge badge-bad">✖ inactive</span>}</td>
                <td>{(rolesOf.get(u.id) ?? []).join(", ") || <span class="muted">default role</span>}</td>
                {canManage && (
                  <td>
                    {u.email && (
                      <button type="button" class="small-btn" disabled={busy === u.id} onClick={() => setActive(u, !u.active)}>
                        {u.active ? "Deactivate" : "Activate"}
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length > PAGE && (
        <nav class="pager" aria-label="User pages">
          <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
            ← Previous
          </button>
          <span>
            Rows {fmtInt(page * PAGE + 1)}–{fmtInt(page * PAGE + shown.length)} of {fmtInt(rows.length)}
          </span>
          <button type="button" disabled={(page + 1) * PAGE >= rows.length} onClick={() => setPage(page + 1)}>
            Next →
          </button>
        </nav>
      )}
    </>
  );
}

function GroupsTab() {
  const s = useSession();
  const groups = useList<GroupRow>("groups", `${s.ws}/groups`);
  const [open, setOpen] = useState<string | null>(null);
  const members = useLoader(open, (signal) => request<List<string>>(`${s.ws}/groups/${seg(open ?? "")}/members`, { signal }));
  if (groups.error) return <ErrorNotice error={groups.error} what="groups" />;
  if (!groups.data) return <Loading what="groups" />;
  if (groups.data.data.length === 0) return <p class="empty">No group yet (SCIM-provisioned or created with `steward groups create`).</p>;
  return (
    <div class="table-wrap">
      <table class="data" data-testid="people-groups">
        <caption>{fmtInt(groups.data.data.length)} groups</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Source</th>
            <th scope="col" class="num">
              Members
            </th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {groups.data.data.map((g) => (
            <Fragment key={g.id}>
              <tr>
                <td>
                  <button type="button" class="link" aria-expanded={open === g.name} onClick={() => setOpen(open === g.name ? null : g.name)}>
                    {open === g.name ? "▾" : "▸"} {g.name}
                  </button>
                </td>
                <td>{g.source}</td>
                <td class="num">{fmtInt(g.members)}</td>
                <td>{fmtDateTimeMs(g.created_at_ms)}</td>
              </tr>
              {open === g.name && (
                <tr>
                  <td colSpan={4}>
                    {members.error && <ErrorNotice error={members.error} what="members" />}
                    {members.loading && <Loading what="members" />}
                    {members.data && (members.data.data.length ? <p class="small">{members.data.data.join(", ")}</p> : <p class="muted">No members.</p>)}
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RolesTab() {
  const s = useSession();
  const roles = useList<RoleRow>("roles", `${s.ws}/roles`);
  if (roles.error) return <ErrorNotice error={roles.error} what="roles" />;
  if (!roles.data) return <Loading what="roles" />;
  return (
    <div class="table-wrap">
      <table class="data" data-testid="people-roles">
        <caption>Built-in and custom roles</caption>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Kind</th>
            <th scope="col">Permissions</th>
            <th scope="col" class="num">
              Assigned to
            </th>
          </tr>
        </thead>
        <tbody>
          {roles.data.data.map((r) => (
            <tr key={r.name}>
              <td>
                <strong>{r.name}</strong>
                {r.is_default && <span class="badge">default role</span>}
                <div class="muted small">{r.description}</div>
              </td>
              <td>{r.builtin ? "built-in" : "custom"}</td>
              <td>{r.permissions.length ? <span class="perm-list">{r.permissions.map((p) => <code key={p}>{p}</code>)}</span> : <span class="muted">none (own usage only)</span>}</td>
              <td class="num">{fmtInt(r.assignments)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AssignmentsTab() {
  const s = useSession();
  const list = useList<RoleAssignmentRow>("assignments", `${s.ws}/role_assignments`);
  if (list.error) return <ErrorNotice error={list.error} what="role assignments" />;
  if (!list.data) return <Loading what="role assignments" />;
  if (list.data.data.length === 0) return <p class="empty">No role is assigned: everyone holds the workspace's default role.</p>;
  return (
    <div class="table-wrap">
      <table class="data" data-testid="people-assignments">
        <caption>Who holds which role</caption>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Assigned to</th>
            <th scope="col">Since</th>
          </tr>
        </thead>
        <tbody>
          {list.data.data.map((a, i) => (
            <tr key={i}>
              <td>{a.role}</td>
              <td>
                {a.subject_kind === "group" ? "group " : "user "}
                <strong>{a.subject ?? a.subject_id}</strong>
              </td>
              <td>{fmtDateTimeMs(a.created_at_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function KeysTab() {
  const s = useSession();
  const keys = useList<CredentialRow>("keys", `${s.ws}/keys`);
  const [error, setError] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const revoke = async (k: CredentialRow) => {
    if (!window.confirm(`Revoke ${k.kind.replace("_", " ")} "${k.name}" (${k.prefix}…)? Anything using it stops working at once.`)) return;
    setError(null);
    setDone(null);
    try {
      await request(`${s.ws}/keys/${seg(k.id)}`, { method: "DELETE" });
      setDone(`Revoked ${k.name} (${k.prefix}…).`);
      keys.reload();
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
    }
  };
  if (keys.error) return <ErrorNotice error={keys.error} what="keys" />;
  if (!keys.data) return <Loading what="keys" />;
  return (
    <>
      <div aria-live="polite">
        {done && <p class="result result-ok">✔ {done}</p>}
        {error && <ErrorNotice error={error} what="the revocation" />}
      </div>
      <div class="table-wrap">
        <table class="data" data-testid="people-keys">
          <caption>API keys and ingest tokens (secrets are never shown again)</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Scopes / user</th>
              <th scope="col">Status</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.data.map((k) => (
              <tr key={k.id} data-testid="key-row" data-key-id={k.id}>
                <td>
                  {k.name}
                  <div class="muted small">
                    <code>{k.prefix}…</code>
                  </div>
                </td>
                <td>{k.kind.replace(/_/g, " ")}</td>
                <td>{k.scopes ? k.scopes.join(", ") : k.user_id ? `user ${k.user_id}` : "workspace"}</td>
                <td>
                  <span class={k.status === "active" ? "badge badge-ok" : "badge badge-bad"}>
                    {k.status === "active" ? "✔" : "✖"} {k.status}
                  </span>
                </td>
                <td>{k.expires_at_ms ? fmtDateTimeMs(k.expires_at_ms) : "never"}</td>
                <td>{k.last_used_at_ms ? fmtDateTimeMs(k.last_used_at_ms) : "never"}</td>
                <td>
                  {k.status === "active" && (
                    <button type="button" class="small-btn danger" onClick={() => revoke(k)} aria-label={`Revoke ${k.name} (${k.prefix})`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
