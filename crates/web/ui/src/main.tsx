// Entry point: apply the theme before the first paint, load the session (`/v1/me`; a 401
// goes to the sign-in page), then render the app. A failure here still renders a message.

import { render } from "preact";
import "./styles.css";
import { App, Crashed, ErrorBoundary } from "./app";
import { loadSession, SessionContext } from "./session";
import { storedChoice } from "./theme";

function initialTheme(): void {
  const choice = storedChoice();
  const dark = choice === "dark" || (choice === "system" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

async function start(): Promise<void> {
  initialTheme();
  const root = document.getElementById("app")!;
  root.innerHTML = "";
  render(
    <p class="boot" role="status">
      Loading Steward…
    </p>,
    root,
  );
  try {
    const session = await loadSession();
    render(
      <SessionContext.Provider value={session}>
        <ErrorBoundary>
          <App />
        </ErrorBoundary>
      </SessionContext.Provider>,
      root,
    );
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    render(
      <main id="main" class="boot">
        <h1>Steward</h1>
        <p>Could not load your session: {error.message}</p>
        <Crashed error={error} />
      </main>,
      root,
    );
  }
}

void start();
