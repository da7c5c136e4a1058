// The ordered group → policy rules and the default policy. Shown as an ordered list; with
// policies.manage, rules can be added, removed and moved, previewed (dry run: who would change
// policy) and saved against the version they were based on.

import { useState } from "preact/hooks";
import { request, withQuery } from "../api";
import { ErrorNotice } from "../components/status";
import { fmtDateTimeMs, fmtInt } from "../format";
import { useSession } from "../session";

export interface Assignment {
  rules: { position: number; group: string; policy: string }[];
  default_policy: string | null;
  version: number;
  updated_at_ms: number;
  updated_by: string;
}

interface Outcome {
  dry_run: boolean;
  changes: { user_id: string; email: string | null; from: string | null; to: string | null }[];
}

type Rule = { group: string; policy: string };

export function AssignmentEditor({ assignment, policies, groups, onSaved }: { assignment: Assignment; policies: string[]; groups: string[]; onSaved: () => void }) {
  const s = useSession();
  const canEdit = s.can("policies.manage");
  const [rules, setRules] = useState<Rule[]>(assignment.rules.map((r) => ({ group: r.group, policy: r.policy })));
  const [def, setDef] = useState<string>(assignment.default_policy ?? "");
  const [newGroup, setNewGroup] = useState("");
  const [newPolicy, setNewPolicy] = useState("");
  const [preview, setPreview] = useState<Outcome | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  const dirty =
    def !== (assignment.default_policy ?? "") ||
    rules.length !== assignment.rules.length ||
    rules.some((r, i) => r.group !== assignment.rules[i]?.group || r.policy !== assignment.rules[i]?.policy);

  const move = (i: number, by: number) => {
    const next = [...rules];
    const [r] = next.splice(i, 1);
    next.splice(i + by, 0, r!);
    setRules(next);
    setPreview(null);
  };

  const submit = async (dryRun: boolean) => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const out = await request<Outcome>(withQuery(`${s.ws}/policy_assignment`, { dry_run: dryRun ? "true" : undefined }), {
        method: "PUT",
        body: { rules, default_policy: def || null, based_on_version: assignment.version },
      });
      if (dryRun) setPreview(out);
      else {
        setPreview(null);
        setMessage(`Saved. ${fmtInt(out.changes.length)} people changed policy.`);
        onSaved();
      }
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div data-testid="policy-assignment">
      <ol class="rules" aria-label="Assignment rules, first match wins">
        {rules.map((r, i) => (
          <li key={`${r.group}:${i}`} class="rule" data-testid="assignment-rule">
            <span class="rule-pos">{i + 1}.</span>
            <span>
              Members of <strong>{r.group}</strong> get <strong>{r.policy}</strong>
            </span>
            {canEdit && (
              <span class="rule-actions">
                <button type="button" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move rule ${i + 1} (${r.group}) up`}>
                  ↑
                </button>
                <button type="button" disabled={i === rules.length - 1} onClick={() => move(i, 1)} aria-label={`Move rule ${i + 1} (${r.group}) down`}>
                  ↓
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setRules(rules.filter((_, j) => j !== i));
                    setPreview(null);
                  }}
                  aria-label={`Remove rule ${i + 1} (${r.group})`}
                >
                  Remove
                </button>
              </span>
            )}
          </li>
        ))}
        <li class="rule rule-default" data-testid="assignment-default">
          <span class="rule-pos">{rules.length === 0 ? "" : "Else"}</span>
          {canEdit ? (
            <span class="field inline">
              <label for="default-policy">Everyone else gets</label>
              <select id="default-policy" value={def} onChange={(e) => (setDef(e.currentTarget.value), setPreview(null))}>
                <option value="">no managed policy</option>
                {policies.map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </span>
          ) : (
            <span>
              Everyone else gets <strong>{def || "no managed policy"}</strong>
            </span>
          )}
        </li>
      </ol>
      <p class="muted small">
        Version {assignment.version}
        {assignment.updated_at_ms > 0 && ` · updated ${fmtDateTimeMs(assignment.updated_at_ms)} by ${assignment.updated_by}`}
      </p>
      {canEdit && (
        <>
          <div class="filters" role="group" aria-label="Add a rule">
            <div class="field">
              <label for="rule-group">Group</label>
              <select id="rule-group" value={newGroup} onChange={(e) => setNewGroup(e.currentTarget.value)}>
                <option value="">choose a group</option>
                {groups.map((g) => (
                  <option key={g} value={g}>
                    {g}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="rule-policy">Policy</label>
              <select id="rule-policy" value={newPolicy} onChange={(e) => setNewPolicy(e.currentTarget.value)}>
                <option value="">choose a policy</option>
                {policies.map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </div>
            <button
              type="button"
              disabled={!newGroup || !newPolicy}
              onClick={() => {
                setRules([...rules, { group: newGroup, policy: newPolicy }]);
                setNewGroup("");
                setNewPolicy("");
                setPreview(null);
              }}
            >
              Add rule
            </button>
          </div>
          <div class="form-actions">
            <button type="button" disabled={!dirty || busy} onClick={() => submit(true)}>
              Preview changes
            </button>
            <button type="button" class="primary" disabled={!dirty || busy} onClick={() => submit(false)} data-testid="assignment-save">
              Save assignment
            </button>
            {!dirty && <span class="why">No changes.</span>}
          </div>
        </>
      )}
      <div aria-live="polite">
        {message && <p class="result result-ok">✔ {message}</p>}
        {error && <ErrorNotice error={error} what="the assignment" />}
        {preview && (
          <div class="preview">
            <p>
              <strong>Preview:</strong> {fmtInt(preview.changes.length)} people would change policy.
            </p>
            {preview.changes.length > 0 && (
              <ul class="small">
                {preview.changes.slice(0, 50).map((c) => (
                  <li key={c.user_id}>
                    {c.email ?? c.user_id}: {c.from ?? "none"} → {c.to ?? "none"}
                  </li>
                ))}
                {preview.changes.length > 50 && <li>… and {fmtInt(preview.changes.length - 50)} more</li>}
              </ul>
            )}
          </div>
        )}
      </div>
    </div>
  );
}
