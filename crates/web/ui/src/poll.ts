// Loading with live refresh: a loader runs when its key changes and every `intervalMs` while
// the page is visible (the issue wants a freshly ingested data point on screen within seconds).
// Background refreshes keep the shown data; a failed refresh shows its error next to it.

import { useEffect, useRef, useState } from "preact/hooks";

export interface Loaded<T> {
  data: T | null;
  error: Error | null;
  /** True while the first load for the current key runs (not during background refreshes). */
  loading: boolean;
  updatedAt: Date | null;
  reload: () => void;
}

export function useLoader<T>(
  key: string | null,
  load: (signal: AbortSignal) => Promise<T>,
  intervalMs: number | null = null,
): Loaded<T> {
  const [state, setState] = useState<{ key: string | null; data: T | null; error: Error | null; loading: boolean; updatedAt: Date | null }>(
    { key: null, data: null, error: null, loading: key !== null, updatedAt: null },
  );
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    if (key === null) {
      setState({ key, data: null, error: null, loading: false, updatedAt: null });
      return undefined;
    }
    const ctrl = new AbortController();
    let timer: number | undefined;
    let stopped = false;

    const run = (foreground: boolean) => {
      if (foreground) setState((s) => ({ ...s, key, loading: true, error: null, data: s.key === key ? s.data : null }));
      loadRef
        .current(ctrl.signal)
        .then((data) => {
          if (!stopped) setState({ key, data, error: null, loading: false, updatedAt: new Date() });
        })
        .catch((error: unknown) => {
          if (stopped || (error instanceof DOMException && error.name === "AbortError")) return;
          setState((s) => ({ ...s, key, loading: false, error: error instanceof Error ? error : new Error(String(error)) }));
        })
        .finally(() => {
          if (!stopped) schedule();
        });
    };
    const schedule = () => {
      window.clearTimeout(timer);
      if (intervalMs !== null && document.visibilityState === "visible") {
        timer = window.setTimeout(() => run(false), intervalMs);
      }
    };
    const onVisibility = () => {
      // Back to a visible tab: refresh now rather than waiting for the next interval.
      if (document.visibilityState === "visible" && intervalMs !== null) run(false);
      else window.clearTimeout(timer);
    };
    run(true);
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      stopped = true;
      ctrl.abort();
      window.clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [key, tick, intervalMs]);

  const current = state.key === key;
  return {
    data: current ? state.data : null,
    error: current ? state.error : null,
    loading: state.loading || !current,
    updatedAt: state.updatedAt,
    reload: () => setTick((t) => t + 1),
  };
}

/** A value that follows `value` after it stopped changing for `ms` (the search box). */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = window.setTimeout(() => setV(value), ms);
    return () => window.clearTimeout(t);
  }, [value, ms]);
  return v;
}
