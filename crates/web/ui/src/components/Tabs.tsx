// WAI-ARIA tabs: a tablist of buttons (arrow keys, Home/End move between tabs), one panel.
// The selected tab is in the hash query so it is linkable.

import type { ComponentChildren } from "preact";
import { useRef } from "preact/hooks";

export interface TabDef {
  id: string;
  label: string;
}

export function Tabs({ tabs, selected, onSelect, label, children }: { tabs: TabDef[]; selected: string; onSelect: (id: string) => void; label: string; children: ComponentChildren }) {
  const list = useRef<HTMLDivElement>(null);
  const focusTab = (i: number) => {
    const t = tabs[(i + tabs.length) % tabs.length]!;
    onSelect(t.id);
    requestAnimationFrame(() => list.current?.querySelector<HTMLButtonElement>(`#tab-${t.id}`)?.focus());
  };
  const index = Math.max(0, tabs.findIndex((t) => t.id === selected));
  return (
    <div class="tabs">
      <div role="tablist" aria-label={label} ref={list} class="tablist">
        {tabs.map((t, i) => (
          <button
            key={t.id}
            id={`tab-${t.id}`}
            type="button"
            role="tab"
            aria-selected={t.id === selected}
            aria-controls={`panel-${t.id}`}
            tabIndex={t.id === selected ? 0 : -1}
            data-testid={`tab-${t.id}`}
            onClick={() => onSelect(t.id)}
            onKeyDown={(e) => {
              if (e.key === "ArrowRight") focusTab(i + 1);
              else if (e.key === "ArrowLeft") focusTab(i - 1);
              else if (e.key === "Home") focusTab(0);
              else if (e.key === "End") focusTab(tabs.length - 1);
              else return;
              e.preventDefault();
            }}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tabs[index]!.id}`} aria-labelledby={`tab-${tabs[index]!.id}`} tabIndex={0} class="tabpanel">
        {children}
      </div>
    </div>
  );
}
