//! Built-in redaction patterns: every secret kind is found with the right kind and count, only
//! the secret part is replaced, and ordinary code, hashes, UUIDs and URLs are left alone.
//!
//! Secret-shaped fixtures are assembled at run time so the source holds no token-shaped strings.

use steward_compliance::capture::{CaptureConfig, CaptureMode, CaptureProfile, PatternSet, RedactionCount};

fn profile(sets: &[PatternSet]) -> CaptureProfile {
    let cfg = CaptureConfig {
        mode: CaptureMode::Redacted,
        redact: sets.to_vec(),
        ..CaptureConfig::default()
    };
    CaptureProfile::compile(&cfg, b"").expect("compiles")
}

fn all() -> CaptureProfile {
    profile(&[PatternSet::Secrets, PatternSet::Emails])
}

fn counts(pairs: &[(&str, u32)]) -> Vec<RedactionCount> {
    pairs
        .iter()
        .map(|&(kind, count)| RedactionCount {
            kind: kind.into(),
            count,
        })
        .collect()
}

/// `text` with every `secret` replaced by the marker of `kind`, and nothing else changed, with
/// only the pattern set of `kind` selected.
#[track_caller]
fn assert_redacted(text: &str, secret: &str, kind: &str) {
    let set = if kind == "email" {
        PatternSet::Emails
    } else {
        PatternSet::Secrets
    };
    let captured = profile(&[set]).apply(text);
    let expected = text.replace(secret, &format!("[REDACTED:{kind}]"));
    assert_eq!(
        captured.value.as_deref(),
        Some(expected.as_str()),
        "input: {text}"
    );
    let n = u32::try_from(text.matches(secret).count()).unwrap();
    assert_eq!(captured.report.redactions, counts(&[(kind, n)]), "input: {text}");
}

#[track_caller]
fn assert_untouched(text: &str) {
    let captured = all().apply(text);
    assert_eq!(captured.value.as_deref(), Some(text));
    assert!(
        captured.report.redactions.is_empty(),
        "{text}: {:?}",
        captured.report.redactions
    );
}

fn alnum(n: usize) -> String {
    "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ"
        .chars()
        .cycle()
        .take(n)
        .collect()
}

#[test]
fn aws_access_key_ids() {
    for prefix in ["AKIA", "ASIA"] {
        let key = format!("{prefix}IOSFODNN7EXAMPLE");
        assert_redacted(
            &format!("export AWS_ACCESS_KEY_ID={key}\n"),
            &key,
            "aws_access_key",
        );
    }
}

#[test]
fn aws_secret_access_keys_in_assignments() {
    let secret = ["wJalrXUtnFEMI", "/K7MDENG/bPxRfiCYEXAMPLEKEY"].concat();
    assert_redacted(
        &format!("aws_secret_access_key = {secret}\n"),
        &secret,
        "aws_secret_key",
    );
    assert_redacted(
        &format!("AWS_SECRET_ACCESS_KEY=\"{secret}\""),
        &secret,
        "aws_secret_key",
    );
    assert_redacted(
        &format!("{{\"SecretAccessKey\": \"{secret}\"}}"),
        &secret,
        "aws_secret_key",
    );
}

#[test]
fn github_tokens_of_every_prefix() {
    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        let token = format!("{prefix}{}", alnum(36));
        assert_redacted(
            &format!("git clone https://x:{token}@example/ && echo {token}"),
            &token,
            "github_token",
        );
    }
    let pat = format!("github_pat_{}_{}", alnum(22), alnum(59));
    assert_redacted(&format!("token: {pat}"), &pat, "github_token");
}

#[test]
fn specific_token_formats() {
    let cases = [
        (format!("sk-{}", alnum(48)), "openai_api_key"),
        (
            format!("sk-proj-{}-{}_{}", alnum(40), alnum(30), alnum(60)),
            "openai_api_key",
        ),
        (
            format!("sk-ant-api03-{}-{}", alnum(60), alnum(30)),
            "anthropic_api_key",
        ),
        (
            format!("xoxb-123456789012-1234567890123-{}", alnum(24)),
            "slack_token",
        ),
        (format!("xoxp-{}", alnum(30)), "slack_token"),
        (format!("AIza{}", alnum(35)), "google_api_key"),
        (format!("sk_live_{}", alnum(24)), "stripe_key"),
        (format!("rk_live_{}", alnum(24)), "stripe_key"),
        (format!("glpat-{}", alnum(20)), "gitlab_token"),
        (format!("hf_{}", alnum(34)), "huggingface_token"),
        (format!("npm_{}", alnum(36)), "npm_token"),
        (
            [
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
                "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
                "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            ]
            .join("."),
            "jwt",
        ),
    ];
    for (secret, kind) in &cases {
        assert_redacted(&format!("the key is {secret} (do not share)"), secret, kind);
        assert_redacted(
            &format!("client = Client(\"{secret}\")\nretry({secret})"),
            secret,
            kind,
        );
    }
}

#[test]
fn pem_private_key_blocks_across_lines() {
    for label in [
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "EC PRIVATE KEY",
    ] {
        let block = format!(
            "-----BEGIN {label}-----\nMIIEow{}\n{}==\n-----END {label}-----",
            alnum(64),
            alnum(40)
        );
        assert_redacted(
            &format!("cat key.pem\n{block}\n$ ls\n"),
            &block,
            "pem_private_key",
        );
    }
    // Cut off (tool output truncated): redacted up to the end of the base64 body.
    let body = format!(
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow{}\n{}",
        alnum(64),
        alnum(64)
    );
    let captured = all().apply(&format!("{body}\n... output truncated"));
    assert_eq!(
        captured.value.as_deref(),
        Some("[REDACTED:pem_private_key]... output truncated")
    );
}

#[test]
fn password_and_secret_assignments_keep_the_key() {
    assert_redacted("password=hunter2 ./run.sh", "hunter2", "password_assignment");
    assert_redacted(
        "DB_PASSWORD=\"correct horse battery staple\"",
        "correct horse battery staple",
        "password_assignment",
    );
    assert_redacted("  passwd: s3cr3t!\n", "s3cr3t!", "password_assignment");
    assert_redacted(
        "{\"password\": \"hunter2\", \"user\": \"x\"}",
        "hunter2",
        "password_assignment",
    );
    assert_redacted(
        "$cfg = ['passphrase' => 'my long pass phrase'];",
        "my long pass phrase",
        "password_assignment",
    );
    assert_redacted("secret=abc123def456ghi", "abc123def456ghi", "secret_assignment");
    assert_redacted(
        "https://api.example.com/v1?token=0a1b2c3d4e5f&page=2",
        "0a1b2c3d4e5f",
        "secret_assignment",
    );
    assert_redacted("api_key: 'A1b2C3d4E5f6'", "A1b2C3d4E5f6", "secret_assignment");
    assert_redacted(
        "CLIENT_SECRET=Zx9-Yw8_Vu7.Ts6",
        "Zx9-Yw8_Vu7.Ts6",
        "secret_assignment",
    );
}

#[test]
fn authorization_headers_keep_the_scheme() {
    assert_redacted(
        "curl -H \"Authorization: Bearer opaque-Token_123.abc\" https://api.example.com",
        "opaque-Token_123.abc",
        "bearer_token",
    );
    assert_redacted(
        "{\"authorization\": \"bearer abcdef123456\"}",
        "abcdef123456",
        "bearer_token",
    );
    assert_redacted(
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "dXNlcjpwYXNzd29yZA==",
        "basic_auth",
    );
}

#[test]
fn connection_strings_lose_only_the_password() {
    let p = all();
    let cases = [
        (
            "DATABASE_URL=postgres://app:s3cr3t@db.internal:5432/app",
            "postgres://app:[REDACTED:connection_string_password]@db.internal:5432/app",
        ),
        (
            "mongodb+srv://admin:p%40ss@cluster0.example.net/db",
            "mongodb+srv://admin:[REDACTED:connection_string_password]@cluster0.example.net/db",
        ),
        (
            "redis://:hunter2@cache:6379",
            "redis://:[REDACTED:connection_string_password]@cache:6379",
        ),
        (
            "amqp://u:pa@ss@mq/vhost",
            "amqp://u:[REDACTED:connection_string_password]@mq/vhost",
        ),
    ];
    for (input, expected) in cases {
        let captured = p.apply(input);
        assert!(
            captured.value.as_deref().unwrap().ends_with(expected),
            "{input} -> {:?}",
            captured.value
        );
        assert_eq!(
            captured.report.redactions,
            counts(&[("connection_string_password", 1)]),
            "{input}"
        );
    }
}

#[test]
fn the_most_specific_kind_wins_an_overlap() {
    let token = format!("ghp_{}", alnum(36));
    assert_redacted(&format!("export GITHUB_TOKEN={token}"), &token, "github_token");
    let jwt = format!("eyJ{}.{}.{}", alnum(20), alnum(30), alnum(43));
    assert_redacted(&format!("Authorization: Bearer {jwt}"), &jwt, "jwt");
    let key = format!("sk-{}", alnum(48));
    assert_redacted(&format!("OPENAI_API_KEY=\"{key}\""), &key, "openai_api_key");
}

#[test]
fn counts_are_per_kind_and_sorted() {
    let t1 = format!("ghp_{}", alnum(36));
    let t2 = format!("ghs_{}", alnum(40));
    let text = format!("{t1} a@example.com {t2} AKIAIOSFODNN7EXAMPLE b@example.org c@example.net");
    let captured = all().apply(&text);
    assert_eq!(
        captured.report.redactions,
        counts(&[("aws_access_key", 1), ("email", 3), ("github_token", 2)])
    );
}

#[test]
fn emails() {
    let p = profile(&[PatternSet::Emails]);
    let captured = p.apply("Contact alice.smith+codex@example.co.uk or Bob <bob@sub.example.org>.");
    assert_eq!(
        captured.value.as_deref(),
        Some("Contact [REDACTED:email] or Bob <[REDACTED:email]>.")
    );
    assert_eq!(captured.report.redactions, counts(&[("email", 2)]));
}

#[test]
fn hashes_uuids_and_ordinary_code_are_untouched() {
    assert_untouched("commit 3f9c2b7a1d4e5f60718293a4b5c6d7e8f9012345\nMerge: 3f9c2b7 8a1b2c3");
    assert_untouched("request 550e8400-e29b-41d4-a716-446655440000 failed");
    assert_untouched("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    assert_untouched("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk");
    assert_untouched(
        r#"
fn login(password: &str, token: Option<String>) -> Result<Session> {
    let secret = read_secret(&path)?;
    let password = get_password();
    let token = tokens.next();
    if token == "(" { return parse_group(); }
    let api_key = std::env::var("OPENAI_API_KEY")?;
}
struct Config { password: String, api_key: SecretString, max_tokens: u32 }
"#,
    );
    assert_untouched(
        r#"
tokenizer = AutoTokenizer.from_pretrained(name, eos_token="</s>", pad_token="[PAD]")
model.generate(input_ids, max_new_tokens=512, max_tokens=1024, pad_token_id=0)
api_key = os.environ["OPENAI_API_KEY"]
password = hash_password(form.password)
token = "while"
db_password: "${DB_PASSWORD}"
PWD=/home/dev/project
"#,
    );
}

#[test]
fn urls_without_credentials_are_untouched() {
    assert_untouched(
        "see https://github.com/openai/codex/blob/main/README.md#install and http://localhost:8080/api?x=1",
    );
    assert_untouched("postgres://localhost:5432/app and https://example.com:8443/a/b@c");
    assert_untouched("git remote add origin git@github.com:openai/codex.git");
    assert_untouched("clone https://alice@bitbucket.org/team/repo.git");
    assert_untouched("<img src=\"logo@2x.png\"> npm i react@18.2.0 @types/node");
}
