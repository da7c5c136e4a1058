// A plain <textarea> with a line-number gutter (kept in scroll sync) and problem markers on
// the lines that have diagnostics. `jumpTo` lets a problem list move the caret to its line.

import { useImperativeHandle, useRef } from "preact/hooks";
import type { Ref } from "preact";

export interface CodeEditorHandle {
  jumpTo(line: number, column: number): void;
}

export function CodeEditor({
  id,
  label,
  value,
  onInput,
  readOnly,
  errorLines,
  testId,
  describedBy,
  handle,
}: {
  id: string;
  label: string;
  value: string;
  onInput: (v: string) => void;
  readOnly?: boolean;
  /** 1-based lines with an error (marked in the gutter with "!", not only by colour). */
  errorLines: Set<number>;
  testId?: string;
  describedBy?: string;
  handle?: Ref<CodeEditorHandle>;
}) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const lines = Math.max(1, value.split("\n").length);

  useImperativeHandle(handle ?? null, () => ({
    jumpTo(line: number, column: number) {
      const el = area.current;
      if (!el) return;
      const all = el.value.split("\n");
      let pos = 0;
      for (let i = 0; i < line - 1 && i < all.length; i++) pos += all[i]!.length + 1;
      pos += Math.max(0, column - 1);
      el.focus();
      el.setSelectionRange(pos, pos);
      // Scroll the line into view: ~line height times line index.
      const lh = parseFloat(getComputedStyle(el).lineHeight) || 20;
      el.scrollTop = Math.max(0, (line - 3) * lh);
    },
  }));

  return (
    <div class="code-editor">
      <label for={id} class="editor-label">
        {label}
      </label>
      <div class="editor-box">
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => (
            <div key={i} class={errorLines.has(i + 1) ? "gutter-line has-error" : "gutter-line"}>
              {errorLines.has(i + 1) ? "! " : ""}
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          id={id}
          ref={area}
          value={value}
          readOnly={readOnly}
          spellcheck={false}
          autocapitalize="off"
          autocomplete="off"
          wrap="off"
          rows={Math.min(24, Math.max(8, lines + 1))}
          data-testid={testId}
          aria-describedby={describedBy}
          aria-invalid={errorLines.size > 0 ? "true" : undefined}
          onInput={(e) => onInput(e.currentTarget.value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}
        />
      </div>
    </div>
  );
}
