// The application shell: header (identity, theme, sign out), navigation filtered by
// permission, and the routed view inside an error boundary.

import { Component, type ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { NeedsPermission } from "./components/status";
import { rangeFromQuery } from "./range";
import { useReady } from "./ready";
import { hrefFor, useRoute, type Route } from "./router";
import { identityLabel, signOut, useSession, type Permission } from "./session";
import { useTheme, type Theme, type ThemeChoice } from "./theme";
import { CodeReview } from "./views/CodeReview";
import { Compliance } from "./views/Compliance";
import { Overview } from "./views/Overview";
import { People } from "./views/People";
import { Policies } from "./views/Policies";
import { PolicyEditor } from "./views/PolicyEditor";
import { Users } from "./views/Users";
import { MyUsage, UserUsage } from "./views/UserUsage";

interface NavItem {
  id: string;
  label: string;
  /** Any of these grants the entry (People: users.read, or keys.manage for its keys tab). */
  needs: Permission[];
  /** Carries the date range across analytics views. */
  analytics: boolean;
}

const NAV: NavItem[] = [
  { id: "overview", label: "Overview", needs: ["analytics.read"], analytics: true },
  { id: "users", label: "Users", needs: ["analytics.read"], analytics: true },
  { id: "me", label: "My usage", needs: [], analytics: true },
  { id: "code-review", label: "Code Review", needs: ["analytics.read"], analytics: true },
  { id: "compliance", label: "Compliance", needs: ["compliance.read"], analytics: false },
  { id: "policies", label: "Policies", needs: ["policies.read"], analytics: false },
  { id: "people", label: "People & access", needs: ["users.read", "keys.manage"], analytics: false },
];

export function App() {
  const s = useSession();
  const route = useRoute();
  const { theme, choice, setChoice } = useTheme();
  const main = useRef<HTMLElement>(null);
  const allowed = NAV.filter((n) => n.needs.length === 0 || n.needs.some((p) => s.can(p)));
  const fallback = allowed[0]?.id ?? "me";
  const section = route.segments[0] ?? fallback;
  const current = NAV.find((n) => n.id === section);

  useEffect(() => {
    document.title = `${current?.label ?? "Not found"} · Steward`;
  }, [current]);

  // Carry the range (and only the range) into the other analytics views' links.
  const rangeCarry: Record<string, string> = {};
  for (const k of ["start", "end", "group_by"]) {
    const v = route.query.get(k);
    if (v) rangeCarry[k] = v;
  }

  return (
    <>
      <a
        class="skip-link"
        href="#main"
        onClick={(e) => {
          // The hash is the router's: move focus without navigating.
          e.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to main content
      </a>
      <header class="topbar">
        <div class="brand">
          <span class="logo" aria-hidden="true">
            ◆
          </span>{" "}
          Steward
        </div>
        <div class="topbar-right">
          <ThemeSelect choice={choice} onChange={setChoice} />
          <span class="identity" data-testid="identity">
            <span class="sr-only">Signed in as </span>
            {identityLabel(s.me)}
          </span>
          {s.me.kind !== "api_key" && (
            <button type="button" class="ghost" data-testid="sign-out" onClick={() => void signOut()}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <div class="layout">
        <nav class="sidenav" aria-label="Main">
          <ul>
            {allowed.map((n) => (
              <li key={n.id}>
                <a href={hrefFor([n.id], n.analytics ? rangeCarry : undefined)} aria-current={section === n.id ? "page" : undefined} data-testid={`nav-${n.id}`}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" ref={main} tabIndex={-1}>
          <ErrorBoundary key={route.segments.join("/")}>
            <RoutedView route={{ ...route, segments: route.segments.length ? route.segments : [fallback] }} theme={theme} />
          </ErrorBoundary>
        </main>
      </div>
    </>
  );
}

function ThemeSelect({ choice, onChange }: { choice: ThemeChoice; onChange: (c: ThemeChoice) => void }) {
  return (
    <span class="field inline theme-select">
      <label for="theme-choice">Theme</label>
      <select id="theme-choice" data-testid="theme-choice" value={choice} onChange={(e) => onChange(e.currentTarget.value as ThemeChoice)}>
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </span>
  );
}

function RoutedView({ route, theme }: { route: Route; theme: Theme }) {
  const s = useSession();
  const [section, id] = route.segments as [string, string | undefined];
  const range = rangeFromQuery(route.query);
  const item = NAV.find((n) => n.id === section);
  if (!item) return <NotFound />;
  const missing = item.needs.length > 0 && !item.needs.some((p) => s.can(p)) ? item.needs[0]! : null;
  if (missing) return <Forbidden permission={missing} view={item.label} ready={section} />;

  switch (section) {
    case "overview":
      return <Overview range={range} theme={theme} />;
    case "users":
      return id ? <UserUsage userId={id} range={range} theme={theme} mine={false} /> : <Users range={range} query={route.query} />;
    case "me":
      return <MyUsage range={range} theme={theme} />;
    case "code-review":
      return <CodeReview range={range} />;
    case "compliance":
      return <Compliance />;
    case "policies":
      return id ? <PolicyEditor name={id} /> : <Policies />;
    case "people":
      return <People query={route.query} />;
    default:
      return <NotFound />;
  }
}

function Forbidden({ permission, view, ready }: { permission: Permission; view: string; ready: string }) {
  useReady(ready, true);
  return (
    <div class="view">
      <h2>{view}</h2>
      <NeedsPermission permission={permission} view={view} />
    </div>
  );
}

function NotFound() {
  useReady("not-found", true);
  return (
    <div class="view">
      <h2>Page not found</h2>
      <p>
        There is no such page. Go to the <a href="#/overview">Overview</a>.
      </p>
    </div>
  );
}

/** Any rendering error shows a message and a way out instead of a blank page. */
export class ErrorBoundary extends Component<{ children?: ComponentChildren }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: unknown) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  componentDidCatch(error: unknown) {
    console.error("steward dashboard: view crashed", error);
  }

  render() {
    if (this.state.error) {
      return <Crashed error={this.state.error} />;
    }
    return this.props.children;
  }
}

export function Crashed({ error }: { error: Error }) {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    document.body.dataset.ready = "error";
  }, []);
  return (
    <div class="notice notice-error" role="alert" data-testid="crash">
      <span class="notice-icon" aria-hidden="true">
        ✕
      </span>
      <div>
        <strong>This view failed to render</strong>
        <p>Something unexpected happened in the dashboard. Reloading usually helps; the API itself is not affected.</p>
        <p>
          <button type="button" onClick={() => window.location.reload()}>
            Reload
          </button>{" "}
          <button type="button" class="ghost" aria-expanded={shown} onClick={() => setShown(!shown)}>
            Details
          </button>
        </p>
        {shown && <pre class="small">{error.stack ?? error.message}</pre>}
      </div>
    </div>
  );
}
