// One policy: edit its documents with validation as you type (the server's own validator,
// Codex's rules), save a valid edit as a new revision, list revisions and diff two of them.

import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, request, seg, withQuery } from "../api";
import { CodeEditor, type CodeEditorHandle } from "../components/CodeEditor";
import { ErrorNotice, Loading } from "../components/status";
import { fmtDateTimeMs } from "../format";
import { useDebounced, useLoader } from "../poll";
import { useReady } from "../ready";
import { useSession } from "../session";

interface PolicyView {
  name: string;
  description: string;
  revision: number;
  latest_revision: number;
  requirements_toml: string;
  managed_config_toml: string;
  sha256: string;
  comment: string;
  revision_created_at_ms: number;
  revision_created_by: string;
  warnings: Diagnostic[];
}

export interface Diagnostic {
  severity: "error" | "warning";
  code: string;
  path: string;
  line: number;
  column: number;
  message: string;
}

interface Diagnostics {
  requirements_toml: Diagnostic[];
  managed_config_toml: Diagnostic[];
}

interface Revision {
  revision: number;
  sha256: string;
  comment: string;
  created_at_ms: number;
  created_by: string;
}

interface FieldChange {
  document: string;
  path: string;
  old: unknown;
  new: unknown;
}

type Doc = "requirements_toml" | "managed_config_toml";
const DOCS: { key: Doc; label: string }[] = [
  { key: "requirements_toml", label: "requirements.toml" },
  { key: "managed_config_toml", label: "managed_config.toml" },
];

export function PolicyEditor({ name }: { name: string }) {
  const s = useSession();
  const base = `${s.ws}/policies/${seg(name)}`;
  const policy = useLoader(`policy:${name}`, (signal) => request<PolicyView>(base, { signal }));
  const revisions = useLoader(`revisions:${name}`, (signal) => request<{ data: Revision[] }>(`${base}/revisions`, { signal }));
  useReady("policy", !!(policy.data || policy.error), policy.data);
  // Kept here, not in the editor: a save reloads the policy, which re-creates the editor (it is
  // keyed by revision), and the confirmation must outlive that.
  const [savedNote, setSavedNote] = useState<string | null>(null);

  return (
    <div class="view">
      <p class="crumb">
        <a href="#/policies">← Policies</a>
      </p>
      <div class="view-head">
        <h2>Policy {name}</h2>
        {policy.data && (
          <p class="muted">
            Revision {policy.data.revision} of {policy.data.latest_revision} · {fmtDateTimeMs(policy.data.revision_created_at_ms)} by{" "}
            {policy.data.revision_created_by}
          </p>
        )}
      </div>
      {policy.error && <ErrorNotice error={policy.error} what={`policy ${name}`} />}
      {!policy.data && !policy.error && <Loading what="the policy" />}
      {policy.data && (
        <Editor
          key={policy.data.sha256 + policy.data.revision}
          policy={policy.data}
          base={base}
          savedNote={savedNote}
          onSaved={(note) => {
            setSavedNote(note);
            policy.reload();
            revisions.reload();
          }}
        />
      )}
      <section class="card" aria-labelledby="revisions-title">
        <h3 id="revisions-title">Revisions</h3>
        {revisions.error && <ErrorNotice error={revisions.error} what="revisions" />}
        {revisions.data && <Revisions base={base} revisions={revisions.data.data} />}
      </section>
    </div>
  );
}

function Editor({
  policy,
  base,
  savedNote,
  onSaved,
}: {
  policy: PolicyView;
  base: string;
  savedNote: string | null;
  onSaved: (note: string) => void;
}) {
  const s = useSession();
  const canEdit = s.can("policies.manage");
  const [docs, setDocs] = useState<Record<Doc, string>>({
    requirements_toml: policy.requirements_toml,
    managed_config_toml: policy.managed_config_toml,
  });
  const [comment, setComment] = useState("");
  const [diagnostics, setDiagnostics] = useState<Diagnostics | null>(null);
  const [validating, setValidating] = useState(false);
  const [validateError, setValidateError] = useState<Error | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<Error | null>(null);
  const [saved, setSaved] = useState<string | null>(savedNote);
  const editors = { requirements_toml: useRef<CodeEditorHandle>(null), managed_config_toml: useRef<CodeEditorHandle>(null) };

  // Validate what is typed, debounced; a response for older text is ignored.
  const debounced = useDebounced(docs, 350);
  const generation = useRef(0);
  useEffect(() => {
    const gen = ++generation.current;
    setValidating(true);
    request<{ valid: boolean; diagnostics: Diagnostics }>(`${s.ws}/policies/validate`, { method: "POST", body: debounced })
      .then((r) => {
        if (gen !== generation.current) return;
        setDiagnostics(r.diagnostics);
        setValidateError(null);
      })
      .catch((e: unknown) => {
        if (gen !== generation.current) return;
        setValidateError(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        if (gen === generation.current) setValidating(false);
      });
  }, [debounced]);

  const pending = debounced !== docs || validating;
  const errors = diagnostics ? [...diagnostics.requirements_toml, ...diagnostics.managed_config_toml].filter((d) => d.severity === "error") : [];
  const unchanged = docs.requirements_toml === policy.requirements_toml && docs.managed_config_toml === policy.managed_config_toml;
  const blocked = !canEdit || pending || errors.length > 0 || !!validateError || unchanged || saving;
  const why = !canEdit
    ? "You need the policies.manage permission to save."
    : pending
      ? "Checking…"
      : errors.length > 0
        ? `Fix ${errors.length === 1 ? "the error" : `the ${errors.length} errors`} above to save.`
        : unchanged
          ? "No changes to save."
          : "Valid: saving creates a new revision.";

  const save = async () => {
    setSaving(true);
    setSaveError(null);
    setSaved(null);
    try {
      const view = await request<PolicyView>(base, {
        method: "PUT",
        body: { ...docs, comment, based_on_revision: policy.latest_revision },
      });
      const note = `Saved as revision ${view.revision}.`;
      setSaved(note);
      onSaved(note);
    } catch (e) {
      // A 422 carries the diagnostics: show them inline like the live validation.
      if (e instanceof ApiError && e.status === 422) {
        const d = (e.body as { diagnostics?: Diagnostics } | null)?.diagnostics;
        if (d) setDiagnostics(d);
      }
      setSaveError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setSaving(false);
    }
  };

  return (
    <section class="card" aria-labelledby="editor-title">
      <div class="card-head">
        <h3 id="editor-title">{canEdit ? "Edit" : "Documents"}</h3>
      </div>
      {!canEdit && <p class="card-sub">Read-only: changing policies needs the policies.manage permission.</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!blocked) void save();
        }}
      >
        {DOCS.map((d) => {
          const list = diagnostics?.[d.key] ?? [];
          const errorLines = new Set(list.filter((x) => x.severity === "error").map((x) => x.line));
          const problemsId = `problems-${d.key}`;
          return (
            <div class="doc" key={d.key}>
              <CodeEditor
                id={`editor-${d.key}`}
                label={d.label}
                value={docs[d.key]}
                readOnly={!canEdit}
                errorLines={errorLines}
                describedBy={problemsId}
                testId={d.key === "requirements_toml" ? "policy-editor" : "policy-editor-managed-config"}
                handle={editors[d.key]}
                onInput={(v) => {
                  setSaved(null);
                  setDocs((cur) => ({ ...cur, [d.key]: v }));
                  setSaved(null);
                }}
              />
              <ul class="problems" id={problemsId} data-testid={d.key === "requirements_toml" ? "policy-problems" : "policy-problems-managed-config"} aria-live="polite" aria-label={`Problems in ${d.label}`}>
                {list.map((p, i) => (
                  <li key={i} class={`problem problem-${p.severity}`} data-line={p.line} data-column={p.column} data-severity={p.severity} data-code={p.code}>
                    <button type="button" class="link" onClick={() => editors[d.key].current?.jumpTo(p.line, p.column)}>
                      Line {p.line}, column {p.column}
                    </button>
                    : <strong>{p.severity === "error" ? "Error" : "Warning"}</strong> {p.path && <code>{p.path}</code>} {p.message}{" "}
                    <span class="muted small">[{p.code}]</span>
                  </li>
                ))}
              </ul>
            </div>
          );
        })}
        {validateError && <ErrorNotice error={validateError} what="the validation" />}
        {canEdit && (
          <div class="field">
            <label for="policy-comment">Comment for this revision (optional)</label>
            <input id="policy-comment" type="text" value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
          </div>
        )}
        <div class="form-actions">
          {canEdit && (
            <button type="submit" class="primary" data-testid="policy-save" disabled={blocked} aria-describedby="save-why">
              {saving ? "Saving…" : "Save new revision"}
            </button>
          )}
          <span id="save-why" class={errors.length > 0 ? "why why-bad" : "why"} aria-live="polite" data-testid="policy-save-status">
            {saved ?? why}
          </span>
        </div>
        {saveError && <ErrorNotice error={saveError} what="the save" testId="policy-save-error" />}
      </form>
    </section>
  );
}

function Revisions({ base, revisions }: { base: string; revisions: Revision[] }) {
  const sorted = [...revisions].sort((a, b) => b.revision - a.revision);
  const latest = sorted[0]?.revision ?? 1;
  const [from, setFrom] = useState(Math.max(1, latest - 1));
  const [to, setTo] = useState(latest);
  const key = from && to && sorted.length > 1 ? `${from}:${to}` : null;
  const diff = useLoader(key, (signal) =>
    request<{ changes: FieldChange[]; from: number; to: number }>(withQuery(`${base}/diff`, { from, to }), { signal }),
  );
  return (
    <>
      <div class="table-wrap">
        <table class="data" data-testid="policy-revisions">
          <caption class="sr-only">Revisions, newest first</caption>
          <thead>
            <tr>
              <th scope="col" class="num">
                Revision
              </th>
              <th scope="col">Created</th>
              <th scope="col">By</th>
              <th scope="col">Comment</th>
              <th scope="col">SHA-256</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => (
              <tr key={r.revision}>
                <td class="num">{r.revision}</td>
                <td>{fmtDateTimeMs(r.created_at_ms)}</td>
                <td>{r.created_by}</td>
                <td>{r.comment || <span class="muted">–</span>}</td>
                <td>
                  <code title={r.sha256}>{r.sha256.slice(0, 12)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {sorted.length > 1 ? (
        <div class="diff-box">
          <h4>Compare revisions</h4>
          <div class="filters">
            <div class="field">
              <label for="diff-from">From revision</label>
              <select id="diff-from" data-testid="diff-from" value={String(from)} onChange={(e) => setFrom(Number(e.currentTarget.value))}>
                {sorted.map((r) => (
                  <option key={r.revision} value={String(r.revision)}>
                    {r.revision}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="diff-to">To revision</label>
              <select id="diff-to" data-testid="diff-to" value={String(to)} onChange={(e) => setTo(Number(e.currentTarget.value))}>
                {sorted.map((r) => (
                  <option key={r.revision} value={String(r.revision)}>
                    {r.revision}
                  </option>
                ))}
              </select>
            </div>
          </div>
          {diff.error && <ErrorNotice error={diff.error} what="the diff" />}
          {diff.data && <DiffView changes={diff.data.changes} from={diff.data.from} to={diff.data.to} />}
        </div>
      ) : (
        <p class="muted">Only one revision so far: nothing to compare.</p>
      )}
    </>
  );
}

function tomlValue(v: unknown): string {
  return JSON.stringify(v);
}

/** Setting-level diff rendered as unified-diff lines: `-` old value, `+` new value. */
function DiffView({ changes, from, to }: { changes: FieldChange[]; from: number; to: number }) {
  if (changes.length === 0) {
    return <p data-testid="policy-diff">Revisions {from} and {to} enforce the same settings (formatting and comments are ignored).</p>;
  }
  const byDoc = new Map<string, FieldChange[]>();
  for (const c of changes) byDoc.set(c.document, [...(byDoc.get(c.document) ?? []), c]);
  return (
    <pre class="diff" data-testid="policy-diff" aria-label={`Changes from revision ${from} to ${to}`}>
      <div class="diff-line diff-meta">--- revision {from}</div>
      <div class="diff-line diff-meta">+++ revision {to}</div>
      {[...byDoc.entries()].map(([doc, list]) => (
        <Fragment key={doc}>
          <div class="diff-line diff-hunk">@@ {doc.replace("_toml", ".toml")} @@</div>
          {list.flatMap((c) => [
            c.old !== null && c.old !== undefined ? (
              <div class="diff-line diff-del">
                - {c.path} = {tomlValue(c.old)}
              </div>
            ) : null,
            c.new !== null && c.new !== undefined ? (
              <div class="diff-line diff-add">
                + {c.path} = {tomlValue(c.new)}
              </div>
            ) : null,
          ])}
        </Fragment>
      ))}
    </pre>
  );
}
