// Readiness signals for the browser tests and the benchmark: `<body data-ready="VIEW">` once a
// view's data is painted, and `performance.mark('steward:ready')` the first time. Any hash
// change clears the mark at once (router), so "wait for data-ready" after a change waits for
// the new data, never sees the old one.

import { useEffect } from "preact/hooks";

let marked = false;
/** Bumped by every clear: a mark scheduled before it is stale and must not land after it. */
let generation = 0;

export function clearReady(): void {
  generation++;
  delete document.body.dataset.ready;
}

/** Marks `view` ready after the next paint. */
export function markReady(view: string): void {
  const scheduled = generation;
  requestAnimationFrame(() => {
    // rAF runs before the frame is painted; the timeout runs after it.
    setTimeout(() => {
      if (scheduled !== generation) return;
      document.body.dataset.ready = view;
      if (!marked) {
        marked = true;
        performance.mark("steward:ready");
      }
    }, 0);
  });
}

/**
 * Marks `view` ready whenever `ready` holds for the current hash: re-marked after a hash
 * change that kept the same data (the router cleared the mark) and after each refresh.
 */
export function useReady(view: string, ready: boolean, data?: unknown): void {
  const hash = window.location.hash;
  useEffect(() => {
    if (ready) markReady(view);
  }, [view, ready, hash, data]);
}
