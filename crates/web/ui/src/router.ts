// Hash routing: `#/path/segments?query`. The hash holds the whole view state (range, grouping,
// sort, page) so every view is linkable and the back button walks through changes.

import { useEffect, useState } from "preact/hooks";
import { clearReady } from "./ready";

export interface Route {
  /** Decoded path segments, e.g. `["users", "user-1"]`; `[]` for `#/`. */
  segments: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const [path = "", query = ""] = raw.split("?", 2) as [string?, string?];
  const segments = path
    .split("/")
    .filter((s) => s.length > 0)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, query: new URLSearchParams(query) };
}

export function hrefFor(segments: string[], query?: URLSearchParams | Record<string, string>): string {
  const path = "#/" + segments.map(encodeURIComponent).join("/");
  const q = query instanceof URLSearchParams ? query : new URLSearchParams(query ?? {});
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Changes the hash. `replace` for keystroke-level changes (search box) so history stays usable. */
export function navigate(href: string, replace = false): void {
  // Cleared now, not at the (asynchronous) hashchange: whoever triggered this and then waits
  // for data-ready must not see the previous view's mark.
  if (href !== window.location.hash) clearReady();
  if (replace) {
    history.replaceState(history.state, "", href);
    // replaceState fires no hashchange; tell the router ourselves.
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = href.replace(/^#/, "");
  }
}

/** Sets some query parameters of the current route (others kept), as a new history entry. */
export function updateQuery(changes: Record<string, string | null>, replace = false): void {
  const route = parseHash(window.location.hash);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === "") route.query.delete(k);
    else route.query.set(k, v);
  }
  navigate(hrefFor(route.segments.length ? route.segments : ["overview"], route.query), replace);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => {
      clearReady();
      setRoute(parseHash(window.location.hash));
    };
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
