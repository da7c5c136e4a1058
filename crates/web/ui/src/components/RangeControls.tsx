// Date range (two labelled date inputs, 7/30/90-day presets) and the Day/Week toggle. State
// lives in the hash query, so every change is a history entry and the view is linkable.

import { useEffect, useState } from "preact/hooks";
import { presetRange, PRESETS, type RangeState } from "../range";
import { updateQuery } from "../router";

export function RangeControls({ range }: { range: RangeState }) {
  // Inputs are edited locally and committed on change, so typing a year digit by digit does
  // not fire a query per keystroke.
  const [start, setStart] = useState(range.start);
  const [end, setEnd] = useState(range.end);
  useEffect(() => setStart(range.start), [range.start]);
  useEffect(() => setEnd(range.end), [range.end]);

  const activePreset = PRESETS.find((d) => {
    const p = presetRange(d);
    return p.start === range.start && p.end === range.end;
  });

  return (
    <div class="range-controls" role="group" aria-label="Date range and grouping">
      <div class="field">
        <label for="range-start">Start date</label>
        <input
          id="range-start"
          type="date"
          value={start}
          data-testid="range-start"
          aria-invalid={range.error ? "true" : undefined}
          aria-describedby={range.error ? "range-error" : undefined}
          onInput={(e) => setStart(e.currentTarget.value)}
          onChange={(e) => updateQuery({ start: e.currentTarget.value })}
        />
      </div>
      <div class="field">
        <label for="range-end">End date</label>
        <input
          id="range-end"
          type="date"
          value={end}
          data-testid="range-end"
          aria-invalid={range.error ? "true" : undefined}
          aria-describedby={range.error ? "range-error" : undefined}
          onInput={(e) => setEnd(e.currentTarget.value)}
          onChange={(e) => updateQuery({ end: e.currentTarget.value })}
        />
      </div>
      <div class="field">
        <span class="field-label" id="presets-label">
          Last
        </span>
        <div class="segmented" role="group" aria-labelledby="presets-label">
          {PRESETS.map((d) => (
            <button
              key={d}
              type="button"
              aria-pressed={activePreset === d}
              data-testid={`range-preset-${d}`}
              onClick={() => updateQuery(presetRange(d))}
            >
              {d} days
            </button>
          ))}
        </div>
      </div>
      <div class="field">
        <span class="field-label" id="groupby-label">
          Group by
        </span>
        <div class="segmented" role="group" aria-labelledby="groupby-label">
          <button type="button" aria-pressed={range.groupBy === "day"} data-testid="group-by-day" onClick={() => updateQuery({ group_by: "day" })}>
            Day
          </button>
          <button type="button" aria-pressed={range.groupBy === "week"} data-testid="group-by-week" onClick={() => updateQuery({ group_by: "week" })}>
            Week
          </button>
        </div>
      </div>
      {range.error && (
        <p class="field-error" id="range-error" role="alert" data-testid="range-error">
          <span aria-hidden="true">⚠ </span>
          {range.error}
        </p>
      )}
    </div>
  );
}
