//! `ChatgptTokenVerifier` against real keys generated at test time: RS256 and ES256 tokens, a
//! JWKS file, a JWKS served over HTTP (key rotation, refresh rate limit), unsigned tokens.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use steward_api::chatgpt_token::{
    ChatgptClaims, ChatgptTokenConfig, ChatgptTokenVerifier, JwksSource, TokenError,
};
use tempfile::TempDir;

const AUTH: &str = "https://api.openai.com/auth";
const PROFILE: &str = "https://api.openai.com/profile";

/// A signing key with its public JWK.
struct TestKey {
    alg: Algorithm,
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signing")
    }

    fn sign_without_kid(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(self.alg), claims, &self.encoding).expect("signing")
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One 2048-bit RSA key for the whole file (generating one takes a moment).
fn rsa_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key generation");
        let der = private.to_pkcs1_der().expect("PKCS#1 DER");
        let public = private.to_public_key();
        let kid = "rsa-1".to_owned();
        TestKey {
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk: json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": b64(&public.n().to_bytes_be()),
                "e": b64(&public.e().to_bytes_be()),
            }),
            kid,
        }
    })
}

fn ec_key(kid: &str) -> TestKey {
    let secret = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
    let der = secret.to_pkcs8_der().expect("PKCS#8 DER");
    let point = secret.public_key().to_encoded_point(false);
    TestKey {
        alg: Algorithm::ES256,
        kid: kid.to_owned(),
        encoding: EncodingKey::from_ec_der(der.as_bytes()),
        jwk: json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": b64(point.x().expect("x")),
            "y": b64(point.y().expect("y")),
        }),
    }
}

fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Claims shaped like a ChatGPT access token (email at the top level).
fn claims(email: &str) -> Value {
    json!({
        "email": email,
        "exp": now() + 3600,
        "iat": now(),
        AUTH: {
            "chatgpt_account_id": "acct-1",
            "chatgpt_user_id": "user-1",
            "chatgpt_plan_type": "enterprise",
        },
    })
}

fn expected(email: &str) -> ChatgptClaims {
    ChatgptClaims {
        email: email.to_owned(),
        account_id: Some("acct-1".to_owned()),
        user_id: Some("user-1".to_owned()),
        plan_type: Some("enterprise".to_owned()),
    }
}

/// A JWKS file in a temp dir (kept alive by the returned guard).
fn jwks_file(set: &Value) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, set.to_string()).expect("writing the JWKS");
    (dir, path)
}

fn file_verifier(path: &Path) -> ChatgptTokenVerifier {
    ChatgptTokenVerifier::new(ChatgptTokenConfig {
        jwks: Some(JwksSource::File(path.to_owned())),
        ..ChatgptTokenConfig::default()
    })
    .expect("verifier")
}

fn trusting_verifier() -> ChatgptTokenVerifier {
    ChatgptTokenVerifier::new(ChatgptTokenConfig {
        trust_unsigned: true,
        ..ChatgptTokenConfig::default()
    })
    .expect("verifier")
}

/// An unsigned token (`alg: none`) with a non-empty dummy signature, as Codex's own tests and
/// Steward's Codex harness write them.
fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes()),
        b64(b"unsigned")
    )
}

/// Asserts the token is rejected with `code`, and that the error's message and debug form
/// contain neither the token nor any of its parts.
async fn assert_rejected(v: &ChatgptTokenVerifier, token: &str, code: &str) -> TokenError {
    let err = v.verify(token).await.expect_err("token must be rejected");
    assert_eq!(err.code(), code, "{err}");
    let shown = format!("{err} {err:?}");
    if token.len() >= 8 {
        assert!(!shown.contains(token), "error shows the token: {shown}");
    }
    for part in token.split('.').filter(|p| p.len() >= 8) {
        assert!(!shown.contains(part), "error shows a token part: {shown}");
    }
    err
}

#[tokio::test]
async fn rs256_token_from_a_jwks_file_yields_the_claims() {
    let key = rsa_key();
    let (_dir, path) = jwks_file(&jwks(&[key]));
    let v = file_verifier(&path);
    assert!(v.is_enabled());
    let token = key.sign(&claims("alice@example.com"));
    assert_eq!(v.verify(&token).await.unwrap(), expected("alice@example.com"));
    // The Authorization header value works as well.
    let header = format!("Bearer {token}");
    assert_eq!(v.verify(&header).await.unwrap(), expected("alice@example.com"));
}

#[tokio::test]
async fn es256_token_with_the_email_in_the_profile_claim() {
    let key = ec_key("ec-1");
    let (_dir, path) = jwks_file(&jwks(&[&key]));
    let v = file_verifier(&path);
    let token = key.sign(&json!({
        "exp": now() + 600,
        PROFILE: { "email": "bob@example.com", "email_verified": true },
        AUTH: { "chatgpt_account_id": "acct-2", "user_id": "user-2", "chatgpt_plan_type": "business" },
    }));
    let got = v.verify(&token).await.unwrap();
    assert_eq!(
        got,
        ChatgptClaims {
            email: "bob@example.com".to_owned(),
            account_id: Some("acct-2".to_owned()),
            user_id: Some("user-2".to_owned()),
            plan_type: Some("business".to_owned()),
        }
    );
    // Without a kid, the keys of the token's family are tried.
    let no_kid = key.sign_without_kid(&claims("carol@example.com"));
    assert_eq!(v.verify(&no_kid).await.unwrap().email, "carol@example.com");
}

#[tokio::test]
async fn a_tampered_payload_is_a_bad_signature() {
    let key = rsa_key();
    let (_dir, path) = jwks_file(&jwks(&[key]));
    let v = file_verifier(&path);
    let token = key.sign(&claims("alice@example.com"));
    let parts: Vec<&str> = token.split('.').collect();
    let forged_payload = b64(claims("mallory@example.com").to_string().as_bytes());
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_rejected(&v, &forged, "bad_signature").await;
    // A signature by another key with the same kid.
    let impostor = TestKey {
        kid: key.kid.clone(),
        ..ec_key("x")
    };
    let (_dir2, path2) = jwks_file(&jwks(&[&ec_key(&key.kid)]));
    let v2 = file_verifier(&path2);
    assert_rejected(&v2, &impostor.sign(&claims("a@example.com")), "bad_signature").await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_rejected() {
    let key = ec_key("ec-1");
    let (_dir, path) = jwks_file(&jwks(&[&key]));
    let v = file_verifier(&path);
    let mut c = claims("alice@example.com");
    c["exp"] = json!(now() - 3600);
    assert_rejected(&v, &key.sign(&c), "expired").await;
    // Within the leeway: accepted.
    c["exp"] = json!(now() - 10);
    assert!(v.verify(&key.sign(&c)).await.is_ok());
    let mut c = claims("alice@example.com");
    c["nbf"] = json!(now() + 3600);
    assert_rejected(&v, &key.sign(&c), "not_yet_valid").await;
    // Signed tokens must expire.
    let mut c = claims("alice@example.com");
    c.as_object_mut().unwrap().remove("exp");
    assert_rejected(&v, &key.sign(&c), "malformed_token").await;
}

#[tokio::test]
async fn an_unknown_kid_is_an_unknown_key() {
    let key = ec_key("ec-1");
    let other = ec_key("ec-2");
    let (_dir, path) = jwks_file(&jwks(&[&key]));
    let v = file_verifier(&path);
    let err = assert_rejected(&v, &other.sign(&claims("a@example.com")), "unknown_key").await;
    assert!(err.to_string().contains("ec-2"), "{err}");
    // An RS256 token when the set holds only an EC key: no key either.
    assert_rejected(&v, &rsa_key().sign(&claims("a@example.com")), "unknown_key").await;
}

#[tokio::test]
async fn a_rotated_jwks_file_is_reread_for_an_unknown_kid() {
    let old = ec_key("old");
    let new = ec_key("new");
    let (_dir, path) = jwks_file(&jwks(&[&old]));
    let v = file_verifier(&path).with_min_refresh_interval(Duration::ZERO);
    assert!(v.verify(&old.sign(&claims("a@example.com"))).await.is_ok());
    std::fs::write(&path, jwks(&[&new]).to_string()).unwrap();
    assert!(v.verify(&new.sign(&claims("a@example.com"))).await.is_ok());
}

#[tokio::test]
async fn unsigned_tokens_need_trust_unsigned() {
    let token = unsigned(&claims("alice@example.com"));
    let key = ec_key("ec-1");
    let (_dir, path) = jwks_file(&jwks(&[&key]));
    assert_rejected(&file_verifier(&path), &token, "unsigned_token").await;
    // Also with an empty signature part.
    let bare = format!("{}.", token.rsplit_once('.').unwrap().0);
    assert_rejected(&file_verifier(&path), &bare, "unsigned_token").await;

    let trusting = trusting_verifier();
    assert_eq!(
        trusting.verify(&token).await.unwrap(),
        expected("alice@example.com")
    );
    assert_eq!(
        trusting.verify(&bare).await.unwrap(),
        expected("alice@example.com")
    );
}

#[tokio::test]
async fn trust_unsigned_skips_signatures_but_still_checks_exp() {
    let v = trusting_verifier();
    // A signed token by a key nobody configured: its signature is not checked.
    let token = ec_key("whatever").sign(&claims("alice@example.com"));
    assert_eq!(v.verify(&token).await.unwrap(), expected("alice@example.com"));
    // No exp at all: accepted in trust mode.
    let mut c = claims("alice@example.com");
    c.as_object_mut().unwrap().remove("exp");
    assert!(v.verify(&unsigned(&c)).await.is_ok());
    c["exp"] = json!(now() - 3600);
    assert_rejected(&v, &unsigned(&c), "expired").await;
    c["exp"] = json!(now() + 3600);
    c["nbf"] = json!(now() + 3600);
    assert_rejected(&v, &unsigned(&c), "not_yet_valid").await;
    c["exp"] = json!("tomorrow");
    assert_rejected(&v, &unsigned(&c), "malformed_token").await;
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let key = ec_key("ec-1");
    let (_dir, path) = jwks_file(&jwks(&[&key]));
    let v = ChatgptTokenVerifier::new(ChatgptTokenConfig {
        jwks: Some(JwksSource::File(path.clone())),
        issuer: Some("https://auth.example".to_owned()),
        audience: Some("https://api.example/v1".to_owned()),
        trust_unsigned: false,
    })
    .unwrap();
    let mut c = claims("alice@example.com");
    c["iss"] = json!("https://auth.example");
    c["aud"] = json!(["https://api.example/v1", "other"]);
    assert_eq!(
        v.verify(&key.sign(&c)).await.unwrap(),
        expected("alice@example.com")
    );
    let mut wrong_iss = c.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    assert_rejected(&v, &key.sign(&wrong_iss), "wrong_issuer").await;
    let mut no_iss = c.clone();
    no_iss.as_object_mut().unwrap().remove("iss");
    assert_rejected(&v, &key.sign(&no_iss), "wrong_issuer").await;
    let mut wrong_aud = c.clone();
    wrong_aud["aud"] = json!("https://elsewhere.example");
    assert_rejected(&v, &key.sign(&wrong_aud), "wrong_audience").await;

    // Same checks in trust mode.
    let t = ChatgptTokenVerifier::new(ChatgptTokenConfig {
        issuer: Some("https://auth.example".to_owned()),
        audience: Some("https://api.example/v1".to_owned()),
        trust_unsigned: true,
        ..ChatgptTokenConfig::default()
    })
    .unwrap();
    assert!(t.verify(&unsigned(&c)).await.is_ok());
    assert_rejected(&t, &unsigned(&wrong_iss), "wrong_issuer").await;
    assert_rejected(&t, &unsigned(&wrong_aud), "wrong_audience").await;

    // Without a configured audience, a token's aud is ignored.
    let plain = file_verifier(&path);
    assert!(plain.verify(&key.sign(&wrong_aud)).await.is_ok());
}

#[tokio::test]
async fn missing_email_malformed_and_missing_tokens() {
    let v = trusting_verifier();
    let mut c = claims("");
    assert_rejected(&v, &unsigned(&c), "missing_email").await;
    c.as_object_mut().unwrap().remove("email");
    assert_rejected(&v, &unsigned(&c), "missing_email").await;
    assert_rejected(&v, "", "missing_token").await;
    assert_rejected(&v, "Bearer ", "missing_token").await;
    assert_rejected(&v, "not-a-jwt", "malformed_token").await;
    assert_rejected(&v, "a.b.c.d", "malformed_token").await;
    assert_rejected(&v, "!!!!!!!!.@@@@@@@@.sig", "malformed_token").await;
    let not_json = format!("{}.{}.sig", b64(b"{\"alg\":\"none\"}"), b64(b"secret-ish text"));
    assert_rejected(&v, &not_json, "malformed_token").await;
    let wrong_type = unsigned(&json!({ "email": 42 }));
    assert_rejected(&v, &wrong_type, "malformed_token").await;
}

#[tokio::test]
async fn hmac_tokens_are_refused() {
    let key = ec_key("ec-1");
    let (_dir, path) = jwks_file(&jwks(&[&key]));
    let v = file_verifier(&path);
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("a@example.com"),
        &EncodingKey::from_secret(b"shared"),
    )
    .unwrap();
    assert_rejected(&v, &hs, "unsupported_algorithm").await;
}

#[tokio::test]
async fn without_jwks_or_trust_every_token_is_refused() {
    let v = ChatgptTokenVerifier::new(ChatgptTokenConfig::default()).unwrap();
    assert!(!v.is_enabled());
    let token = unsigned(&claims("alice@example.com"));
    let err = assert_rejected(&v, &token, "not_configured").await;
    assert!(err.to_string().contains("chatgpt_backend.jwks"), "{err}");
    assert_rejected(&v, &rsa_key().sign(&claims("a@example.com")), "not_configured").await;
}

#[tokio::test]
async fn bad_jwks_files_fail_at_construction() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope.json");
    let cfg = |p: &Path| ChatgptTokenConfig {
        jwks: Some(JwksSource::File(p.to_owned())),
        ..ChatgptTokenConfig::default()
    };
    let err = ChatgptTokenVerifier::new(cfg(&missing)).unwrap_err();
    assert!(err.to_string().contains("nope.json"), "{err}");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "not json").unwrap();
    assert!(ChatgptTokenVerifier::new(cfg(&garbage)).is_err());
    // Only a symmetric key and an encryption key: nothing usable.
    let useless = dir.path().join("useless.json");
    let mut enc = ec_key("enc").jwk;
    enc["use"] = json!("enc");
    let set = json!({ "keys": [ { "kty": "oct", "k": b64(b"secret"), "kid": "h" }, enc ] });
    std::fs::write(&useless, set.to_string()).unwrap();
    let err = ChatgptTokenVerifier::new(cfg(&useless)).unwrap_err();
    assert!(err.to_string().contains("no usable signature key"), "{err}");
    let bad_url = ChatgptTokenConfig {
        jwks: Some(JwksSource::Url("ftp://example.com/jwks".to_owned())),
        ..ChatgptTokenConfig::default()
    };
    assert!(ChatgptTokenVerifier::new(bad_url).is_err());
}

#[test]
fn the_config_section_parses_from_toml() {
    #[derive(serde::Deserialize)]
    struct Root {
        chatgpt_backend: ChatgptTokenConfig,
    }
    let root: Root = toml::from_str(
        r#"
        [chatgpt_backend]
        jwks = { url = "https://auth.example/.well-known/jwks.json" }
        issuer = "https://auth.example"
        audience = "https://api.example/v1"
        "#,
    )
    .unwrap();
    assert_eq!(
        root.chatgpt_backend,
        ChatgptTokenConfig {
            jwks: Some(JwksSource::Url(
                "https://auth.example/.well-known/jwks.json".to_owned()
            )),
            issuer: Some("https://auth.example".to_owned()),
            audience: Some("https://api.example/v1".to_owned()),
            trust_unsigned: false,
        }
    );
    let file: ChatgptTokenConfig = toml::from_str("jwks = { file = \"/etc/steward/jwks.json\" }").unwrap();
    assert_eq!(file.jwks, Some(JwksSource::File("/etc/steward/jwks.json".into())));
    let trust: ChatgptTokenConfig = toml::from_str("trust_unsigned = true").unwrap();
    assert!(trust.trust_unsigned && trust.jwks.is_none());
    assert!(toml::from_str::<ChatgptTokenConfig>("jwks_url = \"x\"").is_err());
    assert_eq!(
        toml::from_str::<ChatgptTokenConfig>("").unwrap(),
        ChatgptTokenConfig::default()
    );
}

/// A JWKS endpoint whose key set can be swapped, counting its requests.
struct JwksServer {
    addr: SocketAddr,
    set: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct JwksState {
    set: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(initial: Value) -> Self {
        async fn serve(State(s): State<JwksState>) -> Json<Value> {
            s.hits.fetch_add(1, Ordering::SeqCst);
            Json(s.set.lock().unwrap().clone())
        }
        let state = JwksState {
            set: Arc::new(Mutex::new(initial)),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route("/.well-known/jwks.json", get(serve))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            addr,
            set: state.set,
            hits: state.hits,
            _task: task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    fn replace(&self, set: Value) {
        *self.set.lock().unwrap() = set;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn url_verifier(url: String) -> ChatgptTokenVerifier {
    ChatgptTokenVerifier::new(ChatgptTokenConfig {
        jwks: Some(JwksSource::Url(url)),
        ..ChatgptTokenConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn a_jwks_url_is_fetched_once_and_refetched_for_a_new_kid() {
    let first = ec_key("k1");
    let second = ec_key("k2");
    let server = JwksServer::start(jwks(&[&first])).await;
    let v = url_verifier(server.url()).with_min_refresh_interval(Duration::ZERO);
    assert_eq!(server.hits(), 0, "nothing is fetched before the first token");

    for _ in 0..3 {
        assert!(v.verify(&first.sign(&claims("a@example.com"))).await.is_ok());
    }
    assert_eq!(server.hits(), 1, "keys are cached");

    // Rotation: the issuer now signs with k2 (k1 retired).
    server.replace(jwks(&[&second]));
    assert_eq!(
        v.verify(&second.sign(&claims("b@example.com")))
            .await
            .unwrap()
            .email,
        "b@example.com"
    );
    assert_eq!(
        server.hits(),
        2,
        "a token with a new kid triggers exactly one refetch"
    );
    assert!(v.verify(&second.sign(&claims("b@example.com"))).await.is_ok());
    assert_eq!(server.hits(), 2);

    // k1 is gone from the set now.
    assert_rejected(&v, &first.sign(&claims("a@example.com")), "unknown_key").await;
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn refetches_for_unknown_kids_are_rate_limited() {
    let first = ec_key("k1");
    let second = ec_key("k2");
    let server = JwksServer::start(jwks(&[&first])).await;
    // Default interval: 60 s between fetches.
    let v = url_verifier(server.url());
    assert!(v.verify(&first.sign(&claims("a@example.com"))).await.is_ok());
    assert_eq!(server.hits(), 1);
    server.replace(jwks(&[&first, &second]));
    for _ in 0..5 {
        assert_rejected(&v, &second.sign(&claims("b@example.com")), "unknown_key").await;
    }
    assert_eq!(server.hits(), 1, "no refetch within the minimum interval");
    // Known keys keep working meanwhile.
    assert!(v.verify(&first.sign(&claims("a@example.com"))).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_jwks_url_is_jwks_unavailable() {
    // Bind and drop a listener: nothing listens on that port afterwards.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let v = url_verifier(format!("http://{addr}/jwks.json"));
    let token = ec_key("k1").sign(&claims("a@example.com"));
    assert_rejected(&v, &token, "jwks_unavailable").await;
    // The failed attempt is remembered: still unavailable, no busy retry.
    assert_rejected(&v, &token, "jwks_unavailable").await;

    let server = JwksServer::start(json!({ "keys": [] })).await;
    let v = url_verifier(server.url());
    let err = assert_rejected(&v, &token, "jwks_unavailable").await;
    assert!(err.to_string().contains("no usable signature key"), "{err}");
}

#[tokio::test]
async fn the_codex_harness_tokens_pass_in_trust_mode() {
    use steward_test_support::codex_chatgpt::ChatgptIdentity;
    let id = ChatgptIdentity::new("dave@example.com");
    let want = ChatgptClaims {
        email: "dave@example.com".to_owned(),
        account_id: Some(id.account_id.clone()),
        user_id: Some(id.user_id.clone()),
        plan_type: Some("enterprise".to_owned()),
    };
    let v = trusting_verifier();
    // The access token carries the email under the profile claim, the id token at the top.
    assert_eq!(v.verify(&id.access_token()).await.unwrap(), want);
    assert_eq!(v.verify(&id.id_token()).await.unwrap(), want);
    // With a JWKS configured, they are unsigned and refused.
    let key = ec_key("ec-1");
    let (_dir, path) = jwks_file(&jwks(&[&key]));
    assert_rejected(&file_verifier(&path), &id.access_token(), "unsigned_token").await;
}
