// Human labels for the Analytics API's `client_id` values (crates/model/src/client.rs
// KNOWN_CLIENTS). Unknown ids are shown verbatim: a new Codex surface must still be visible.

export const SURFACE_LABELS: Record<string, string> = {
  CODEX_CLI: "CLI",
  CODEX_IDE_VSCODE: "IDE extension (VS Code)",
  CODEX_IDE_JETBRAINS_CLIENT: "IDE extension (JetBrains)",
  CODEX_IDE_XCODE: "IDE extension (Xcode)",
  CODEX_WEB: "Cloud",
  CODEX_DESKTOP_APP: "Desktop app",
  CODEX_CHATGPT_DESKTOP: "ChatGPT desktop",
  CODEX_WORK_DESKTOP: "Work desktop",
  CODEX_SERVICE_EXEC: "Exec / CI",
  CODEX_GITHUB_ACTION: "GitHub Action (CI)",
  CODEX_GITHUB: "Code Review",
  CODEX_SDK_TS: "TypeScript SDK",
  CODEX_ATLAS: "Atlas",
  CODEX_UNKNOWN_DEFAULT: "Unknown surface",
};

/** Order of the client filter and legends: the surfaces the issue names first. */
export const KNOWN_SURFACES = Object.keys(SURFACE_LABELS);

export function surfaceLabel(clientId: string): string {
  return SURFACE_LABELS[clientId] ?? clientId;
}

/** Sorts client ids: known ones in their canonical order, then unknown ones alphabetically. */
export function sortSurfaces(ids: Iterable<string>): string[] {
  const rank = (id: string) => {
    const i = KNOWN_SURFACES.indexOf(id);
    return i === -1 ? KNOWN_SURFACES.length : i;
  };
  return [...new Set(ids)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
