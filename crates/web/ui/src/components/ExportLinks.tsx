// "Export CSV / JSON" download links: plain anchors, so the browser downloads with the session
// cookie and the files are exactly what the export endpoint returns. Hidden without
// `analytics.export`.

import { exportHref, type Dataset } from "../dashboard_api";
import type { RangeState } from "../range";
import { useSession } from "../session";

/** `primary`: carries the `export-{dataset}-{format}` test ids (one instance per page). */
export function ExportLinks({
  dataset,
  range,
  extra,
  label,
  primary = true,
}: {
  dataset: Dataset;
  range: RangeState | null;
  extra?: Record<string, string>;
  label?: string;
  primary?: boolean;
}) {
  const s = useSession();
  if (!s.can("analytics.export")) return null;
  const disabled = !!range?.error;
  const name = label ?? dataset.replace("_", " ");
  return (
    <span class="export-links" role="group" aria-label={`Export ${name}`}>
      {(["csv", "json"] as const).map((fmt) =>
        disabled ? (
          <span key={fmt} class="export-link disabled" aria-disabled="true">
            Export {fmt.toUpperCase()}
          </span>
        ) : (
          <a
            key={fmt}
            class="export-link"
            href={exportHref(s, dataset, fmt, range, extra)}
            download
            data-testid={primary ? `export-${dataset}-${fmt}` : undefined}
            aria-label={`Export ${name} as ${fmt.toUpperCase()}`}
          >
            Export {fmt.toUpperCase()}
          </a>
        ),
      )}
    </span>
  );
}
