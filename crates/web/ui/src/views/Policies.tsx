// Managed policies: the list, the ordered group assignment (first match wins, then the
// default), "which policy applies to <email>", and who runs which revision.

import { useState } from "preact/hooks";
import { request, withQuery } from "../api";
import { ErrorNotice, Loading } from "../components/status";
import { fmtDateTimeMs, fmtInt } from "../format";
import { useLoader } from "../poll";
import { useReady } from "../ready";
import { hrefFor, navigate } from "../router";
import { useSession } from "../session";
import { AssignmentEditor, type Assignment } from "./PolicyAssignment";

interface PolicySummary {
  id: string;
  name: string;
  description: string;
  latest_revision: number;
  created_at_ms: number;
  updated_at_ms: number;
}

interface Lookup {
  email: string | null;
  groups: string[];
  policy: { name: string; revision: number; sha256: string } | null;
  matched_by: { kind: "rule" | "default" | "none"; position?: number; group?: string };
  evaluated: { position: number; group: string; policy: string; matched: boolean }[];
  explanation: string;
}

interface SyncRow {
  user_id: string;
  email: string | null;
  host: string;
  channel: string;
  reported_policy: string | null;
  reported_revision: number | null;
  reported_at_ms: number;
  client_version: string | null;
  expected_policy: string | null;
  expected_revision: number | null;
  stale: boolean;
}

interface SyncStatus {
  machines: SyncRow[];
  stale: number;
  current: number;
  never_synced: string[];
}

export function Policies() {
  const s = useSession();
  const list = useLoader("policies", (signal) => request<{ data: PolicySummary[] }>(`${s.ws}/policies`, { signal }));
  const assignment = useLoader("assignment", (signal) => request<Assignment>(`${s.ws}/policy_assignment`, { signal }));
  const groups = useLoader("groups", (signal) => request<{ data: { name: string; members: number }[] }>(`${s.ws}/groups`, { signal }));
  const status = useLoader("status", (signal) => request<SyncStatus>(`${s.ws}/policy_status`, { signal }), 10_000);
  useReady("policies", !!(list.data || list.error) && !!(assignment.data || assignment.error));

  return (
    <div class="view">
      <div class="view-head">
        <h2>Policies</h2>
      </div>
      <section class="card" aria-labelledby="policy-list-title">
        <div class="card-head">
          <h3 id="policy-list-title">Policies</h3>
        </div>
        {list.error && <ErrorNotice error={list.error} what="policies" />}
        {!list.data && !list.error && <Loading what="policies" />}
        {list.data && list.data.data.length === 0 && <p class="empty">No policy yet.</p>}
        {list.data && list.data.data.length > 0 && (
          <div class="table-wrap">
            <table class="data" data-testid="policy-list">
              <caption class="sr-only">Policies</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Description</th>
                  <th scope="col" class="num">
                    Latest revision
                  </th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {list.data.data.map((p) => (
                  <tr key={p.id} data-testid="policy-row" data-policy={p.name}>
                    <td>
                      <a href={hrefFor(["policies", p.name])}>{p.name}</a>
                    </td>
                    <td>{p.description || <span class="muted">–</span>}</td>
                    <td class="num">{p.latest_revision}</td>
                    <td>{fmtDateTimeMs(p.updated_at_ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {s.can("policies.manage") && <NewPolicy />}
      </section>

      <section class="card" aria-labelledby="assignment-title">
        <h3 id="assignment-title">Assignment to groups</h3>
        <p class="card-sub">Rules are checked in order; the first rule whose group contains the person wins. Otherwise the default policy applies.</p>
        {assignment.error && <ErrorNotice error={assignment.error} what="the assignment" />}
        {assignment.data && (
          <AssignmentEditor
            key={assignment.data.version}
            assignment={assignment.data}
            policies={(list.data?.data ?? []).map((p) => p.name)}
            groups={(groups.data?.data ?? []).map((g) => g.name)}
            onSaved={assignment.reload}
          />
        )}
      </section>

      <LookupForm />

      <section class="card" aria-labelledby="status-title">
        <h3 id="status-title">Who runs which revision</h3>
        {status.error && <ErrorNotice error={status.error} what="the rollout status" />}
        {status.data && <StatusTable status={status.data} />}
      </section>
    </div>
  );
}

function NewPolicy() {
  const s = useSession();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await request(`${s.ws}/policies`, { method: "POST", body: { name: name.trim(), description, requirements_toml: "", comment: "created in the dashboard" } });
      navigate(hrefFor(["policies", name.trim()]));
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="inline-form" onSubmit={create} aria-labelledby="new-policy-title">
      <h4 id="new-policy-title">New policy</h4>
      <div class="filters">
        <div class="field">
          <label for="new-policy-name">Name</label>
          <input id="new-policy-name" type="text" required value={name} onInput={(e) => setName(e.currentTarget.value)} data-testid="new-policy-name" />
        </div>
        <div class="field grow">
          <label for="new-policy-description">Description</label>
          <input id="new-policy-description" type="text" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </div>
        <button type="submit" class="primary" disabled={busy || !name.trim()} data-testid="new-policy-create">
          Create and edit
        </button>
      </div>
      {error && <ErrorNotice error={error} what="the new policy" />}
    </form>
  );
}

function LookupForm() {
  const s = useSession();
  const [email, setEmail] = useState("");
  const [result, setResult] = useState<Lookup | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await request<Lookup>(withQuery(`${s.ws}/policy_lookup`, { email: email.trim() })));
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="lookup-title">
      <h3 id="lookup-title">Which policy applies to…</h3>
      <form class="filters" onSubmit={run}>
        <div class="field grow">
          <label for="lookup-email">Email</label>
          <input id="lookup-email" type="email" required placeholder="dana@example.com" value={email} onInput={(e) => setEmail(e.currentTarget.value)} data-testid="policy-lookup-email" />
        </div>
        <button type="submit" class="primary" disabled={busy || !email.trim()} data-testid="policy-lookup-submit">
          {busy ? "Looking up…" : "Look up"}
        </button>
      </form>
      <div aria-live="polite">
        {error && (
          <div class="notice notice-error" role="alert" data-testid="policy-lookup-error">
            <span class="notice-icon" aria-hidden="true">
              ✕
            </span>
            <div>
              <strong>No answer for {email.trim()}</strong>
              <p>{error.message}</p>
            </div>
          </div>
        )}
        {result && (
          <div class="lookup-result" data-testid="policy-lookup-result" data-policy={result.policy?.name ?? ""}>
            <p class="lead">
              {result.policy ? (
                <>
                  <strong>{result.policy.name}</strong> revision {result.policy.revision}
                </>
              ) : (
                <strong>No managed policy</strong>
              )}
            </p>
            <p>{result.explanation}</p>
            {result.groups.length > 0 && <p class="muted">Groups: {result.groups.join(", ")}</p>}
            {result.evaluated.length > 0 && (
              <ol class="evaluated" aria-label="Rules evaluated in order">
                {result.evaluated.map((r) => (
                  <li key={r.position}>
                    Rule {r.position}: group <strong>{r.group}</strong> → {r.policy} — {r.matched ? "✔ matched" : "✖ not a member"}
                  </li>
                ))}
              </ol>
            )}
          </div>
        )}
      </div>
    </section>
  );
}

function StatusTable({ status }: { status: SyncStatus }) {
  return (
    <>
      <p>
        <span data-testid="policy-status-current">{fmtInt(status.current)}</span> machines current,{" "}
        <span data-testid="policy-status-stale">{fmtInt(status.stale)}</span> stale
        {status.never_synced.length > 0 && <>, {fmtInt(status.never_synced.length)} people with a policy never synced</>}.
      </p>
      {status.machines.length === 0 ? (
        <p class="empty">No machine has reported yet. Machines report when `steward agent sync` runs or the Codex CLI fetches its policy.</p>
      ) : (
        <div class="table-wrap">
          <table class="data" data-testid="policy-status">
            <caption class="sr-only">Reported policy per machine</caption>
            <thead>
              <tr>
                <th scope="col">Person</th>
                <th scope="col">Host</th>
                <th scope="col">Channel</th>
                <th scope="col">Runs</th>
                <th scope="col">Should run</th>
                <th scope="col">State</th>
                <th scope="col">Reported</th>
              </tr>
            </thead>
            <tbody>
              {status.machines.map((m, i) => (
                <tr key={i}>
                  <td>{m.email ?? m.user_id}</td>
                  <td>{m.host}</td>
                  <td>{m.channel}</td>
                  <td>{m.reported_policy ? `${m.reported_policy} r${m.reported_revision ?? "?"}` : "none"}</td>
                  <td>{m.expected_policy ? `${m.expected_policy} r${m.expected_revision ?? "?"}` : "none"}</td>
                  <td>{m.stale ? <span class="badge badge-bad">✖ stale</span> : <span class="badge badge-ok">✔ current</span>}</td>
                  <td>{fmtDateTimeMs(m.reported_at_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {status.never_synced.length > 0 && (
        <details>
          <summary>People never synced ({fmtInt(status.never_synced.length)})</summary>
          <p class="small">{status.never_synced.join(", ")}</p>
        </details>
      )}
    </>
  );
}
