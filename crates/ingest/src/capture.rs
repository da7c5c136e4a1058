//! Capture profiles applied at ingest: before a record is stored anywhere (raw event,
//! compliance log), its content attributes (the prompt, tool arguments and tool output) are
//! kept, redacted, hashed or dropped per the workspace's profile, and what was done is written
//! into the record as the attribute `steward.capture` (kinds and counts, never the matches).

use std::collections::HashMap;

use serde_json::{Map, Value};
use steward_compliance::capture::{content_attributes, CaptureMode, CaptureProfile};

use crate::normalize::ParsedRecord;

/// What Codex itself puts instead of the prompt when `log_user_prompt = false`.
const CODEX_REDACTED: &str = "[REDACTED]";

/// The profile of each workspace, with a default for the others.
#[derive(Clone, Default)]
pub struct CaptureProfiles {
    default: Option<CaptureProfile>,
    by_workspace: HashMap<String, CaptureProfile>,
}

impl CaptureProfiles {
    /// `default` for every workspace not in `by_workspace`. A `full` profile costs nothing.
    pub fn new(default: CaptureProfile, by_workspace: HashMap<String, CaptureProfile>) -> Self {
        let keep = |p: CaptureProfile| (p.mode() != CaptureMode::Full).then_some(p);
        CaptureProfiles {
            default: keep(default),
            by_workspace: by_workspace.into_iter().collect(),
        }
    }

    fn for_workspace(&self, workspace_id: &str) -> Option<&CaptureProfile> {
        match self.by_workspace.get(workspace_id) {
            Some(p) if p.mode() == CaptureMode::Full => None,
            Some(p) => Some(p),
            None => self.default.as_ref(),
        }
    }

    /// Applies the workspace's profile to a record's content attributes, in place.
    pub fn apply(&self, workspace_id: &str, record: &mut ParsedRecord) {
        let fields = content_attributes(&record.event_name);
        if fields.is_empty() {
            return;
        }
        let Some(profile) = self.for_workspace(workspace_id) else {
            return;
        };
        let Ok(Value::Object(mut raw)) = serde_json::from_str::<Value>(&record.raw) else {
            return;
        };
        let Some(Value::Object(attrs)) = raw.get_mut("attributes") else {
            return;
        };
        let mut reports = Map::new();
        for field in fields {
            let Some(Value::String(text)) = attrs.get(*field) else {
                continue;
            };
            if text == CODEX_REDACTED {
                continue;
            }
            let captured = profile.apply(text);
            match captured.value {
                Some(v) => attrs.insert((*field).to_owned(), Value::String(v)),
                None => attrs.remove(*field),
            };
            if let Ok(report) = serde_json::to_value(&captured.report) {
                reports.insert((*field).to_owned(), report);
            }
        }
        if !reports.is_empty() {
            attrs.insert("steward.capture".to_owned(), Value::Object(reports));
            // serde_json's Map is sorted (no preserve_order): this stays canonical.
            record.raw = Value::Object(raw).to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_compliance::capture::CaptureConfig;
    use steward_model::EventKind;

    fn record(event_name: &str, attrs: Value) -> ParsedRecord {
        ParsedRecord {
            event_name: event_name.to_owned(),
            kind: EventKind::Other,
            thread_id: None,
            trace_id: None,
            turn_id: None,
            timestamp_ms: 0,
            client_id: "CODEX_CLI",
            model: None,
            identity: Default::default(),
            call_id: None,
            raw: serde_json::json!({"attributes": attrs, "resource": {}}).to_string(),
        }
    }

    fn profiles(mode: &str) -> CaptureProfiles {
        let cfg: CaptureConfig = toml::from_str(&format!("mode = \"{mode}\"")).unwrap();
        CaptureProfiles::new(CaptureProfile::compile(&cfg, &[7u8; 32]).unwrap(), HashMap::new())
    }

    #[test]
    fn redaction_rewrites_the_raw_record_and_says_what_it_did() {
        let mut r = record(
            "codex.tool_result",
            serde_json::json!({"arguments": "{\"cmd\":\"export AWS_KEY=AKIAIOSFODNN7EXAMPLE\"}", "output": "mail dana@example.com"}),
        );
        profiles("redacted").apply("ws", &mut r);
        assert!(
            !r.raw.contains("AKIAIOSFODNN7EXAMPLE") && !r.raw.contains("dana@example.com"),
            "{}",
            r.raw
        );
        let v: Value = serde_json::from_str(&r.raw).unwrap();
        let capture = &v["attributes"]["steward.capture"];
        assert_eq!(capture["arguments"]["mode"], "redacted");
        assert_eq!(capture["output"]["redactions"][0]["kind"], "email");
    }

    #[test]
    fn answers_read_from_rollouts_are_content_too() {
        let mut r = record(
            steward_model::AGENT_MESSAGE,
            serde_json::json!({"message": "Your key is AKIAIOSFODNN7EXAMPLE"}),
        );
        profiles("redacted").apply("ws", &mut r);
        assert!(!r.raw.contains("AKIAIOSFODNN7EXAMPLE"), "{}", r.raw);
        let v: Value = serde_json::from_str(&r.raw).unwrap();
        assert_eq!(v["attributes"]["steward.capture"]["message"]["mode"], "redacted");
        // Sealing strips what ALL_CONTENT_ATTRIBUTES names from the stored events: every
        // content attribute of every event Steward records must be in it.
        for name in [
            "codex.user_prompt",
            "codex.tool_result",
            steward_model::AGENT_MESSAGE,
        ] {
            for field in content_attributes(name) {
                let all = steward_compliance::capture::ALL_CONTENT_ATTRIBUTES;
                assert!(all.contains(field), "{name}.{field} is not stripped at sealing");
            }
        }
    }

    #[test]
    fn dropped_removes_content_and_full_or_codex_redacted_prompts_are_untouched() {
        let mut r = record("codex.user_prompt", serde_json::json!({"prompt": "secret plan"}));
        profiles("dropped").apply("ws", &mut r);
        assert!(!r.raw.contains("secret plan"));
        let mut r = record("codex.user_prompt", serde_json::json!({"prompt": "secret plan"}));
        let before = r.raw.clone();
        profiles("full").apply("ws", &mut r);
        assert_eq!(r.raw, before);
        let mut r = record("codex.user_prompt", serde_json::json!({"prompt": "[REDACTED]"}));
        let before = r.raw.clone();
        profiles("hashed").apply("ws", &mut r);
        assert_eq!(r.raw, before);
    }

    #[test]
    fn a_workspace_profile_overrides_the_default() {
        let hashed: CaptureConfig = toml::from_str("mode = \"hashed\"").unwrap();
        let p = CaptureProfiles::new(
            CaptureProfile::compile(&CaptureConfig::default(), &[1u8; 32]).unwrap(),
            HashMap::from([(
                "ws-h".to_owned(),
                CaptureProfile::compile(&hashed, &[1u8; 32]).unwrap(),
            )]),
        );
        let mut a = record("codex.user_prompt", serde_json::json!({"prompt": "plan"}));
        p.apply("ws-other", &mut a);
        assert!(a.raw.contains("\"plan\""));
        let mut b = record("codex.user_prompt", serde_json::json!({"prompt": "plan"}));
        p.apply("ws-h", &mut b);
        assert!(b.raw.contains("hmac-sha256:"), "{}", b.raw);
    }
}
