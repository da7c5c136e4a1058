// Code Review: Steward does not ingest Codex Code Review activity yet. The empty state says
// what will appear and what it needs; the export still answers (header row only).

import { ExportLinks } from "../components/ExportLinks";
import { RangeControls } from "../components/RangeControls";
import type { RangeState } from "../range";
import { useReady } from "../ready";

export function CodeReview({ range }: { range: RangeState }) {
  useReady("code-review", true);
  return (
    <div class="view">
      <div class="view-head">
        <h2>Code Review</h2>
        <ExportLinks dataset="code_review" range={range} label="Code Review details" />
      </div>
      <RangeControls range={range} />
      <section class="card empty-state" data-testid="code-review-empty" aria-labelledby="cr-empty-title">
        <h3 id="cr-empty-title">No Code Review data yet</h3>
        <p>
          When Codex reviews pull requests, this page will show, for the selected range: <strong>pull requests reviewed</strong>,{" "}
          <strong>findings by priority</strong> (P0–P3), <strong>comments</strong> Codex posted, <strong>replies</strong> from authors,{" "}
          <strong>reactions</strong> to its comments, and the <strong>sentiment</strong> of those replies.
        </p>
        <p>
          That activity happens on GitHub, not in the Codex clients that send telemetry to Steward, so it needs Steward's GitHub integration,
          which is <strong>not available in this version</strong>. Usage of the Code Review surface that does reach Steward through telemetry
          is counted under "Code Review" on the <a href="#/overview">Overview</a>.
        </p>
        <p class="muted">The export below already exists and returns its header row, so scripts can be written against it today.</p>
      </section>
    </div>
  );
}
