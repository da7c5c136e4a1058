// Compliance: sealed files, retention, legal holds, and an on-demand verification of the
// signed digest chain.

import { useState } from "preact/hooks";
import { ErrorNotice, Loading, StatusLine } from "../components/status";
import { fetchComplianceStatus, verifyCompliance, type Verification } from "../dashboard_api";
import { fmtAnyTime, fmtInt } from "../format";
import { useLoader } from "../poll";
import { useReady } from "../ready";
import { useSession } from "../session";
import { REFRESH_MS } from "./Overview";

function duration(secs: number): string {
  if (secs % 3600 === 0) return secs === 3600 ? "every hour" : `every ${secs / 3600} hours`;
  if (secs % 60 === 0) return `every ${secs / 60} minutes`;
  return `every ${secs} s`;
}

function days(n: number | null): string {
  return n === null ? "kept forever" : `${fmtInt(n)} days`;
}

export function Compliance() {
  const s = useSession();
  const status = useLoader("status", (signal) => fetchComplianceStatus(s, signal), REFRESH_MS);
  useReady("compliance", !!(status.data || status.error), status.data);

  const d = status.data;
  return (
    <div class="view">
      <div class="view-head">
        <h2>Compliance log</h2>
      </div>
      <StatusLine loading={status.loading} updatedAt={status.updatedAt} />
      {status.error && <ErrorNotice error={status.error} what="the compliance status" />}
      {!d && !status.error && <Loading what="compliance status" />}
      <Verify />
      {d && (
        <>
          <div class="kpis" role="group" aria-label="Sealed files">
            {d.files.map((f) => (
              <div class="kpi" key={f.event_type}>
                <div class="kpi-label">{f.event_type}</div>
                <div class="kpi-value" data-testid={`compliance-files-${f.event_type}`} data-value={f.files ?? ""}>
                  {fmtInt(f.files)}
                </div>
                <div class="kpi-note">sealed files</div>
              </div>
            ))}
            <div class="kpi">
              <div class="kpi-label">Waiting to be sealed</div>
              <div class="kpi-value" data-testid="compliance-pending" data-value={d.pending ?? ""}>
                {fmtInt(d.pending)}
              </div>
              <div class="kpi-note">{d.sealIntervalSecs !== null ? `records, sealed ${duration(d.sealIntervalSecs)}` : "records"}</div>
            </div>
          </div>
          <section class="card" aria-labelledby="files-title">
            <h3 id="files-title">Sealed files by event type</h3>
            <div class="table-wrap">
              <table class="data" data-testid="compliance-files">
                <caption class="sr-only">Sealed, unexpired files per event type</caption>
                <thead>
                  <tr>
                    <th scope="col">Event type</th>
                    <th scope="col" class="num">
                      Files
                    </th>
                    <th scope="col" class="num">
                      Records
                    </th>
                    <th scope="col" class="num">
                      Size
                    </th>
                    <th scope="col" class="num">
                      Content erased
                    </th>
                    <th scope="col">Newest file ends</th>
                  </tr>
                </thead>
                <tbody>
                  {d.files.map((f) => (
                    <tr key={f.event_type}>
                      <td>{f.event_type}</td>
                      <td class="num">{fmtInt(f.files)}</td>
                      <td class="num">{fmtInt(f.records)}</td>
                      <td class="num">{f.bytes === null ? "–" : fmtBytes(f.bytes)}</td>
                      <td class="num">{fmtInt(f.content_erased)}</td>
                      <td>{f.last_end_time ? fmtAnyTime(f.last_end_time) : <span class="muted">none yet</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <div class="two-col">
            <section class="card" aria-labelledby="retention">
              <h3 id="retention">Retention</h3>
              <div class="table-wrap">
                <table class="data" data-testid="compliance-retention">
                  <caption class="sr-only">Retention per event type</caption>
                  <thead>
                    <tr>
                      <th scope="col">Event type</th>
                      <th scope="col">Content kept</th>
                      <th scope="col">Files kept</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.retention.map((r) => (
                      <tr key={r.event_type}>
                        <td>{r.event_type}</td>
                        <td>{days(r.content_days)}</td>
                        <td>{days(r.metadata_days)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <p class="muted small">Set in the server configuration, <code>[compliance.retention.EVENT_TYPE]</code>.</p>
            </section>
            <section class="card" aria-labelledby="holds">
              <h3 id="holds">Legal holds</h3>
              {d.legalHolds.length === 0 ? (
                <p class="empty">No legal hold. Holds keep content past retention (`steward compliance hold add`).</p>
              ) : (
                <ul class="plain" aria-labelledby="holds" data-testid="compliance-holds">
                  {d.legalHolds.map((h, i) => (
                    <li key={String(h.id ?? i)}>
                      <strong>{h.scope === "workspace" ? "Whole workspace" : `User ${String(h.user ?? h.user_id ?? "")}`}</strong>: {String(h.reason ?? "")}{" "}
                      <span class="muted small">
                        since {fmtAnyTime(h.created_at_ms ?? h.created_at)}
                        {h.created_by ? ` by ${String(h.created_by)}` : ""}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </div>
        </>
      )}
    </div>
  );
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** "Verify now": checks the digest chain and every sealed file, on demand. */
function Verify() {
  const s = useSession();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Verification | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(await verifyCompliance(s));
    } catch (e) {
      setResult(null);
      setError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card verify" aria-labelledby="verify-title">
      <div class="card-head">
        <h3 id="verify-title">Integrity</h3>
        <button type="button" class="primary" data-testid="verify-now" onClick={run} disabled={busy} aria-describedby="verify-help">
          {busy ? "Verifying…" : "Verify now"}
        </button>
      </div>
      <p class="card-sub" id="verify-help">
        Checks the signed, hash-chained digest of every sealed file against the files in the object store.
      </p>
      <div aria-live="polite" data-testid="verify-result" data-ok={result ? String(result.ok) : undefined}>
        {busy && <p class="loading">Verifying the chain…</p>}
        {result && result.ok && (
          <p class="result result-ok">
            <span aria-hidden="true">✔</span> <strong>Verified:</strong> the digest chain is intact: {fmtInt(result.digestsChecked)} digests,{" "}
            {fmtInt(result.filesChecked)} files and {fmtInt(result.recordsChecked)} records checked
            {result.filesExpired ? `, ${fmtInt(result.filesExpired)} files expired by retention` : ""}
            {result.checkedAt ? ` (${fmtAnyTime(result.checkedAt)})` : ""}.
          </p>
        )}
        {result && !result.ok && (
          <div class="result result-bad">
            <p>
              <span aria-hidden="true">✖</span> <strong>Verification failed:</strong> {fmtInt(result.problems.length)} problems ({fmtInt(result.filesChecked)} files
              checked).
            </p>
            <ul>
              {result.problems.map((p, i) => (
                <li key={i}>{p}</li>
              ))}
            </ul>
          </div>
        )}
        {error && <ErrorNotice error={error} what="the verification" />}
      </div>
    </section>
  );
}
