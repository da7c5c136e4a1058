//! Client surface: which Codex product produced an event, as OpenAI's `CodexClient` enum names it.
//!
//! The originator strings come from `../shared/spec/codex-facts.md` §1.2 and §3.5; the target
//! values and the proposed originator mapping from `../shared/spec/wire-formats.md` §1.8.

/// The `client_id` reported when the originator is unknown.
pub const UNKNOWN_CLIENT: &str = "CODEX_UNKNOWN_DEFAULT";

/// Maps a Codex originator (log attribute `originator`, else resource `service.name`) to the
/// Analytics API `client_id`. Unknown or missing originators map to `CODEX_UNKNOWN_DEFAULT`.
pub fn client_id_for(originator: Option<&str>) -> &'static str {
    let Some(raw) = originator else {
        return UNKNOWN_CLIENT;
    };
    match raw.trim().to_ascii_lowercase().as_str() {
        "codex_cli_rs" | "codex-tui" | "codex_tui" | "codex_cli" => "CODEX_CLI",
        "codex_exec" => "CODEX_SERVICE_EXEC",
        "codex_vscode" | "vscode" => "CODEX_IDE_VSCODE",
        "codex_sdk_ts" => "CODEX_SDK_TS",
        "codex desktop" | "codex_desktop" => "CODEX_DESKTOP_APP",
        "codex_chatgpt_desktop" => "CODEX_CHATGPT_DESKTOP",
        "codex_work_desktop" => "CODEX_WORK_DESKTOP",
        "codex_github_action" => "CODEX_GITHUB_ACTION",
        "codex_github" | "codex_code_review" => "CODEX_GITHUB",
        "codex_atlas" => "CODEX_ATLAS",
        "codex_web" | "codex_cloud" => "CODEX_WEB",
        "codex_jetbrains" => "CODEX_IDE_JETBRAINS_CLIENT",
        "codex_xcode" => "CODEX_IDE_XCODE",
        _ => UNKNOWN_CLIENT,
    }
}

/// Every `client_id` Steward can emit, for validation and the dashboard's legend.
pub const KNOWN_CLIENTS: &[&str] = &[
    "CODEX_CLI",
    "CODEX_SERVICE_EXEC",
    "CODEX_IDE_VSCODE",
    "CODEX_SDK_TS",
    "CODEX_DESKTOP_APP",
    "CODEX_CHATGPT_DESKTOP",
    "CODEX_WORK_DESKTOP",
    "CODEX_GITHUB_ACTION",
    "CODEX_GITHUB",
    "CODEX_ATLAS",
    "CODEX_WEB",
    "CODEX_IDE_JETBRAINS_CLIENT",
    "CODEX_IDE_XCODE",
    UNKNOWN_CLIENT,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_known_originators() {
        assert_eq!(client_id_for(Some("codex_exec")), "CODEX_SERVICE_EXEC");
        assert_eq!(client_id_for(Some("codex_cli_rs")), "CODEX_CLI");
        assert_eq!(client_id_for(Some("Codex Desktop")), "CODEX_DESKTOP_APP");
        assert_eq!(client_id_for(Some("codex_vscode")), "CODEX_IDE_VSCODE");
    }

    #[test]
    fn unknown_and_missing_map_to_default() {
        assert_eq!(client_id_for(Some("some_new_surface")), UNKNOWN_CLIENT);
        assert_eq!(client_id_for(None), UNKNOWN_CLIENT);
    }

    #[test]
    fn every_mapped_value_is_listed() {
        for o in [
            "codex_cli_rs",
            "codex_exec",
            "codex_vscode",
            "codex_sdk_ts",
            "codex desktop",
            "x",
        ] {
            assert!(KNOWN_CLIENTS.contains(&client_id_for(Some(o))));
        }
    }
}
