//! Capture modes, configuration, custom patterns, JSON content and reports.

use serde_json::{json, Value};
use steward_compliance::capture::{
    CaptureConfig, CaptureError, CaptureMode, CaptureProfile, CustomPattern, PatternSet, RedactionCount,
    MIN_HASH_KEY_LEN,
};

const KEY_A: &[u8] = b"workspace-a-secret-0123456789abcdef";
const KEY_B: &[u8] = b"workspace-b-secret-0123456789abcdef";

fn compile(mode: CaptureMode, key: &[u8]) -> CaptureProfile {
    CaptureProfile::compile(
        &CaptureConfig {
            mode,
            ..CaptureConfig::default()
        },
        key,
    )
    .expect("compiles")
}

fn custom(name: &str, regex: &str) -> CaptureConfig {
    CaptureConfig {
        mode: CaptureMode::Redacted,
        redact: vec![],
        custom_patterns: vec![CustomPattern {
            name: name.into(),
            regex: regex.into(),
        }],
    }
}

fn ghp() -> String {
    format!("ghp_{}", "Zq7".repeat(12))
}

#[test]
fn config_defaults_and_strict_parsing() {
    let cfg: CaptureConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(cfg, CaptureConfig::default());
    assert_eq!(cfg.mode, CaptureMode::Full);
    assert_eq!(cfg.redact, vec![PatternSet::Secrets, PatternSet::Emails]);

    let cfg: CaptureConfig = serde_json::from_value(json!({
        "mode": "redacted", "redact": ["emails"], "custom_patterns": [{"name": "ticket", "regex": "T-[0-9]+"}]
    }))
    .unwrap();
    assert_eq!(cfg.mode, CaptureMode::Redacted);
    assert_eq!(cfg.redact, vec![PatternSet::Emails]);
    assert_eq!(cfg.custom_patterns[0].name, "ticket");

    assert!(serde_json::from_value::<CaptureConfig>(json!({"mode": "full", "redcat": []})).is_err());
    assert!(serde_json::from_value::<CaptureConfig>(json!({"mode": "encrypted"})).is_err());
    assert!(serde_json::from_value::<CaptureConfig>(
        json!({"custom_patterns": [{"name": "a", "regex": "b", "x": 1}]})
    )
    .is_err());
    assert_eq!(
        serde_json::to_value(CaptureMode::Dropped).unwrap(),
        json!("dropped")
    );
}

#[test]
fn full_keeps_content() {
    let text = format!("my token {} and a@example.com", ghp());
    let captured = compile(CaptureMode::Full, b"").apply(&text);
    assert_eq!(captured.value.as_deref(), Some(text.as_str()));
    assert_eq!(captured.report.mode, CaptureMode::Full);
    assert!(captured.report.redactions.is_empty());
    assert_eq!(captured.report.original_length, text.len());
}

#[test]
fn dropped_keeps_nothing() {
    let p = compile(CaptureMode::Dropped, b"");
    let captured = p.apply("héllo");
    assert_eq!(captured.value, None);
    assert_eq!(captured.report.mode, CaptureMode::Dropped);
    assert_eq!(captured.report.original_length, "héllo".len());
    let (value, report) = p.apply_json(&json!({"cmd": ["ls"]}));
    assert_eq!(value, None);
    assert_eq!(report.original_length, r#"{"cmd":["ls"]}"#.len());
}

#[test]
fn hashed_is_a_keyed_deterministic_hash() {
    let a = compile(CaptureMode::Hashed, KEY_A);
    let b = compile(CaptureMode::Hashed, KEY_B);
    let ha = a.apply("yes").value.unwrap();
    assert!(ha.starts_with("hmac-sha256:"), "{ha}");
    let hex = &ha["hmac-sha256:".len()..];
    assert_eq!(hex.len(), 64);
    assert!(hex
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));

    assert_eq!(a.apply("yes").value.unwrap(), ha, "same key, same text");
    assert_eq!(
        compile(CaptureMode::Hashed, KEY_A).apply("yes").value.unwrap(),
        ha,
        "recompiled"
    );
    assert_ne!(b.apply("yes").value.unwrap(), ha, "another workspace key");
    assert_ne!(a.apply("yes.").value.unwrap(), ha, "another text");
    // Not the plain, dictionary-attackable SHA-256 of "yes".
    assert_ne!(
        hex,
        "8a798890fe93817163b10b5f7bd2ca4d25d84c52739a645a889c173eee7d9d3d"
    );

    let report = a.apply("yes").report;
    assert_eq!(report.mode, CaptureMode::Hashed);
    assert!(report.redactions.is_empty());
    assert_eq!(report.original_length, 3);
}

#[test]
fn hashed_needs_a_long_enough_key() {
    let cfg = CaptureConfig {
        mode: CaptureMode::Hashed,
        ..CaptureConfig::default()
    };
    let short = vec![7u8; MIN_HASH_KEY_LEN - 1];
    match CaptureProfile::compile(&cfg, &short) {
        Err(CaptureError::HashKeyTooShort { len }) => assert_eq!(len, MIN_HASH_KEY_LEN - 1),
        other => panic!("expected HashKeyTooShort, got {other:?}"),
    }
    assert!(CaptureProfile::compile(&cfg, &[7u8; MIN_HASH_KEY_LEN]).is_ok());
    // Other modes do not use the key.
    assert!(CaptureProfile::compile(&CaptureConfig::default(), b"").is_ok());
}

#[test]
fn hashed_json_is_canonical() {
    let p = compile(CaptureMode::Hashed, KEY_A);
    let one: Value = serde_json::from_str(r#"{"b": [1, 2.5, null], "a": {"y": "é\n", "x": true}}"#).unwrap();
    let two: Value = serde_json::from_str(r#"{"a": {"x": true, "y": "é\n"}, "b": [1, 2.5, null]}"#).unwrap();
    let (h1, report) = p.apply_json(&one);
    let (h2, _) = p.apply_json(&two);
    assert_eq!(h1, h2);
    let canonical = r#"{"a":{"x":true,"y":"é\n"},"b":[1,2.5,null]}"#;
    assert_eq!(h1, Some(Value::String(p.apply(canonical).value.unwrap())));
    assert_eq!(report.original_length, canonical.len());
    assert_ne!(p.apply_json(&json!({"a": 1})).0, p.apply_json(&json!({"a": 2})).0);
}

#[test]
fn custom_patterns() {
    let p = CaptureProfile::compile(&custom("ticket", r"\bTICKET-[0-9]{4}\b"), b"").unwrap();
    let captured = p.apply("fix TICKET-1234 and TICKET-9876, not TICKET-12");
    assert_eq!(
        captured.value.as_deref(),
        Some("fix [REDACTED:ticket] and [REDACTED:ticket], not TICKET-12")
    );
    assert_eq!(
        captured.report.redactions,
        vec![RedactionCount {
            kind: "ticket".into(),
            count: 2
        }]
    );

    // A `secret` group keeps the context.
    let p = CaptureProfile::compile(&custom("employee_id", r"employee=(?P<secret>[0-9]+)"), b"").unwrap();
    assert_eq!(
        p.apply("employee=4242;").value.as_deref(),
        Some("employee=[REDACTED:employee_id];")
    );

    // Patterns matching the empty string do not insert markers everywhere.
    let p = CaptureProfile::compile(&custom("digits", r"[0-9]*"), b"").unwrap();
    assert_eq!(
        p.apply("ab 12 cd").value.as_deref(),
        Some("ab [REDACTED:digits] cd")
    );
}

#[test]
fn invalid_custom_patterns_are_named() {
    for mode in [CaptureMode::Full, CaptureMode::Redacted] {
        let cfg = CaptureConfig {
            mode,
            ..custom("ticket_ref", r"TICKET-[0-9")
        };
        let err = CaptureProfile::compile(&cfg, b"").unwrap_err();
        assert!(
            matches!(&err, CaptureError::InvalidRegex { name, .. } if name == "ticket_ref"),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("ticket_ref") && message.contains("TICKET-[0-9"),
            "{message}"
        );
    }
    for bad in ["", "Ticket", "9lives", "has space", "close]bracket"] {
        let err = CaptureProfile::compile(&custom(bad, "x"), b"").unwrap_err();
        assert!(
            matches!(&err, CaptureError::InvalidName { name } if name == bad),
            "{err:?}"
        );
    }
    let err = CaptureProfile::compile(&custom("email", "x"), b"").unwrap_err();
    assert!(matches!(err, CaptureError::DuplicateName { .. }), "{err:?}");
    let mut cfg = custom("dup", "a");
    cfg.custom_patterns.push(CustomPattern {
        name: "dup".into(),
        regex: "b".into(),
    });
    assert!(matches!(
        CaptureProfile::compile(&cfg, b""),
        Err(CaptureError::DuplicateName { .. })
    ));
}

#[test]
fn only_selected_sets_are_redacted() {
    let text = format!("{} a@example.com", ghp());
    let cfg = |redact| CaptureConfig {
        mode: CaptureMode::Redacted,
        redact,
        custom_patterns: vec![],
    };
    let none = CaptureProfile::compile(&cfg(vec![]), b"").unwrap().apply(&text);
    assert_eq!(none.value.as_deref(), Some(text.as_str()));
    let emails = CaptureProfile::compile(&cfg(vec![PatternSet::Emails]), b"")
        .unwrap()
        .apply(&text);
    assert_eq!(emails.value.unwrap(), format!("{} [REDACTED:email]", ghp()));
    let secrets = CaptureProfile::compile(&cfg(vec![PatternSet::Secrets]), b"")
        .unwrap()
        .apply(&text);
    assert_eq!(
        secrets.value.as_deref(),
        Some("[REDACTED:github_token] a@example.com")
    );
}

#[test]
fn json_redaction_is_recursive() {
    let p = compile(CaptureMode::Redacted, b"");
    let args = json!({
        "cmd": ["curl", "-H", format!("Authorization: Bearer {}", ghp()), "https://api.github.com"],
        "env": {"GITHUB_TOKEN": ghp(), "DB_PASSWORD": "hunter two", "PAGER": "less"},
        "notify": [{"to": "alice@example.com"}, {"to": ["bob@example.org"]}],
        "password": "", "max_tokens": 512, "api_key": "[PAD]", "timeout": 1.5, "dry_run": false, "extra": null
    });
    let (value, report) = p.apply_json(&args);
    let expected = json!({
        "cmd": ["curl", "-H", "Authorization: Bearer [REDACTED:github_token]", "https://api.github.com"],
        "env": {"GITHUB_TOKEN": "[REDACTED:github_token]", "DB_PASSWORD": "[REDACTED:password_assignment]", "PAGER": "less"},
        "notify": [{"to": "[REDACTED:email]"}, {"to": ["[REDACTED:email]"]}],
        "password": "", "max_tokens": 512, "api_key": "[PAD]", "timeout": 1.5, "dry_run": false, "extra": null
    });
    assert_eq!(value, Some(expected));
    let kinds: Vec<_> = report
        .redactions
        .iter()
        .map(|r| (r.kind.as_str(), r.count))
        .collect();
    assert_eq!(
        kinds,
        [("email", 2), ("github_token", 2), ("password_assignment", 1)]
    );
    assert_eq!(report.mode, CaptureMode::Redacted);
}

#[test]
fn reports_and_debug_never_contain_secrets() {
    let secrets = [
        ghp(),
        format!("sk-{}", "Ab3".repeat(16)),
        "AKIAIOSFODNN7EXAMPLE".to_owned(),
        "carol@example.com".to_owned(),
        "hunter2".to_owned(),
    ];
    let text = format!(
        "{} {} {} {} password={} -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
        secrets[0], secrets[1], secrets[2], secrets[3], secrets[4]
    );
    let p = compile(CaptureMode::Redacted, KEY_A);
    let captured = p.apply(&text);
    let stored = captured.value.unwrap();
    let report = serde_json::to_string(&captured.report).unwrap();
    for secret in &secrets {
        assert!(!stored.contains(secret.as_str()), "{secret} kept in {stored}");
        assert!(!report.contains(secret.as_str()), "{secret} in report {report}");
    }
    assert!(!report.contains("MIIE"));
    assert_eq!(
        captured.report.redactions.iter().map(|r| r.count).sum::<u32>(),
        6,
        "{report}"
    );
    assert!(report.contains(r#""mode":"redacted""#), "{report}");

    let hashed = compile(CaptureMode::Hashed, KEY_A);
    let debug = format!("{hashed:?}");
    assert!(!debug.contains("workspace-a-secret"), "{debug}");
}

#[test]
fn a_megabyte_of_tool_output_is_processed() {
    let line = "src/lib.rs:42:    let value = compute(a, b).await?; // commit 3f9c2b7a1d4e5f60718293a4b5c6d7e8f9012345\n";
    let mut text = String::new();
    let mut planted = 0;
    while text.len() < 1 << 20 {
        text.push_str(line);
        if text.len().is_multiple_of(97) {
            text.push_str(&format!("GITHUB_TOKEN={} user=dev@example.com é\n", ghp()));
            planted += 1;
        }
    }
    let p = compile(CaptureMode::Redacted, b"");
    let captured = p.apply(&text);
    let kinds: Vec<_> = captured
        .report
        .redactions
        .iter()
        .map(|r| (r.kind.as_str(), r.count))
        .collect();
    assert!(planted > 0);
    assert_eq!(kinds, [("email", planted), ("github_token", planted)]);
    assert_eq!(captured.report.original_length, text.len());
    assert!(!captured.value.unwrap().contains("ghp_"));
}

#[test]
fn adversarial_megabyte_inputs_complete() {
    // Each of these made a naive pattern rescan the rest of the text for every candidate.
    let p = compile(CaptureMode::Redacted, b"");
    let cases = [
        (
            "-----BEGIN PRIVATE KEY----- x ".repeat(35_000),
            "pem_private_key",
            35_000,
        ),
        (
            "password=\"a\\\" password=1 ".repeat(40_000),
            "password_assignment",
            40_000,
        ),
        (
            "a://u:p a://u:p@h ".repeat(55_000),
            "connection_string_password",
            55_000,
        ),
        ("a.b.c.d.e.f.g@x.yy ".repeat(55_000), "email", 55_000),
        ("x@".repeat(500_000), "", 0),
    ];
    for (text, kind, count) in cases {
        let report = p.apply(&text).report;
        let expected: Vec<_> = (count > 0)
            .then(|| RedactionCount {
                kind: kind.into(),
                count,
            })
            .into_iter()
            .collect();
        assert_eq!(report.redactions, expected, "{kind}");
    }
}
