// A KPI tile: label, formatted figure (`data-value` holds the raw number for tests).

export function Kpi({ testId, label, value, format, note }: { testId: string; label: string; value: number | null; format: (n: number) => string; note?: string }) {
  return (
    <div class="kpi">
      <div class="kpi-label">{label}</div>
      <div class="kpi-value" data-testid={testId} data-value={value === null ? "" : String(value)}>
        {value === null ? "–" : format(value)}
      </div>
      {note && <div class="kpi-note">{note}</div>}
    </div>
  );
}
