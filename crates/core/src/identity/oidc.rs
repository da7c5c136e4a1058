//! Signing people in with OpenID Connect: authorization code flow with PKCE (S256), `state`
//! and `nonce`, against any provider that publishes discovery metadata (Okta, Entra ID,
//! Keycloak, Google, Auth0, ...). The protocol work (discovery, code exchange, ID-token
//! verification against the provider's JWKS) is done by the `openidconnect` crate.
//!
//! Nothing secret is stored: `begin` makes a random browser secret that goes into a short-lived
//! cookie; the `state` sent to the provider, the PKCE verifier and the nonce are all derived
//! from it, and the pending row is keyed by the SHA-256 of the state. The callback must come
//! back to the browser that started it (the cookie), within ten minutes, once.
//!
//! The person is the **existing, enabled** user of the configured workspace whose email is the
//! token's email claim (SCIM provisions users; nobody is created here). Everyone else is
//! refused, and the refusal is audited.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use steward_model::User;
use steward_store::{OidcPending, Store};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use super::now_ms;
use super::sessions::{new_secret, plausible_secret, SessionService, SignInError, StartedSession, Subject};
use crate::compliance::audit::Actor;

/// How long a sign-in may take between the redirect to the provider and its callback.
pub const PENDING_TTL_MS: i64 = 10 * 60_000;
/// Provider metadata (and its signing keys) is fetched again after this long.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// An unknown signing key refetches metadata, but not more often than this.
const METADATA_MIN_REFRESH: Duration = Duration::from_secs(30);

/// What the `[sso]` section configures (validated by the CLI).
#[derive(Clone)]
pub struct OidcConfig {
    /// The provider's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The public URL of Steward's `/auth/callback`, as registered with the provider.
    pub redirect_url: String,
    /// Scopes to ask for (`openid` is always asked for).
    pub scopes: Vec<String>,
    /// The workspace people sign in to.
    pub workspace_id: String,
    /// The ID-token claim holding the email that names the user (`email`, `upn`, ...).
    pub email_claim: String,
    /// Refuse tokens whose `email_verified` is not true (only for the `email` claim).
    pub require_email_verified: bool,
}

// Never print the client secret.
impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("workspace_id", &self.workspace_id)
            .field("email_claim", &self.email_claim)
            .field("require_email_verified", &self.require_email_verified)
            .finish()
    }
}

/// The client once discovery ran: authorization endpoint set, token and userinfo endpoints as
/// the provider published them.
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Discovered {
    at: Instant,
    client: Arc<DiscoveredClient>,
}

/// What the provider sent back to `/auth/callback`.
#[derive(Default, Clone)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// The provider's error (`access_denied`, ...) and its description.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A redirect to the provider, and the browser secret to put in a cookie for the callback.
pub struct Begun {
    pub authorization_url: String,
    pub browser_secret: String,
}

/// A completed sign-in: the new session, and where the browser goes next.
#[derive(Debug)]
pub struct Completed {
    pub session: StartedSession,
    pub return_to: String,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn derive(label: &str, browser_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    h.update(b":");
    h.update(browser_secret.as_bytes());
    b64(&h.finalize())
}

/// The `state` sent to the provider for a browser secret.
pub fn state_for(browser_secret: &str) -> String {
    derive("state", browser_secret)
}

/// The PKCE verifier (43 characters of base64url, as RFC 7636 allows).
pub fn pkce_verifier_for(browser_secret: &str) -> String {
    derive("pkce", browser_secret)
}

/// The nonce bound into the ID token.
pub fn nonce_for(browser_secret: &str) -> String {
    derive("nonce", browser_secret)
}

/// The key of the pending row: SHA-256 (hex) of the state.
pub fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// The claims of a JWT's payload, without checking anything (the caller verified it).
fn payload_claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `true` or `"true"` (some providers send strings).
fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

/// The asymmetric algorithms accepted for ID tokens (never `none` or HMAC).
const ALGORITHMS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// OpenID Connect sign-in for one provider and one workspace.
pub struct OidcService {
    config: OidcConfig,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    http: openidconnect::reqwest::Client,
    discovered: Mutex<Option<Discovered>>,
    store: Arc<dyn Store>,
    sessions: SessionService,
}

impl OidcService {
    /// Checks the configuration; the provider is contacted on the first sign-in (so Steward
    /// starts while the provider is down).
    pub fn new(config: OidcConfig, sessions: SessionService) -> Result<Self, SignInError> {
        let bad =
            |what: &str, e: &dyn std::fmt::Display| SignInError::InvalidRequest(format!("sso.{what}: {e}"));
        let issuer = IssuerUrl::new(config.issuer.trim().to_owned()).map_err(|e| bad("issuer", &e))?;
        let redirect =
            RedirectUrl::new(config.redirect_url.trim().to_owned()).map_err(|e| bad("redirect_url", &e))?;
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would let a provider's answer steer requests elsewhere.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| SignInError::Internal(format!("building the HTTP client: {e}")))?;
        Ok(OidcService {
            store: sessions.store().clone(),
            config,
            issuer,
            redirect,
            http,
            discovered: Mutex::new(None),
            sessions,
        })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The client from (cached) discovery; `refresh` refetches unless the cache is very new.
    async fn client(&self, refresh: bool) -> Result<Arc<DiscoveredClient>, SignInError> {
        let mut slot = self.discovered.lock().await;
        if let Some(d) = slot.as_ref() {
            let age = d.at.elapsed();
            if (!refresh && age < METADATA_TTL) || (refresh && age < METADATA_MIN_REFRESH) {
                return Ok(d.client.clone());
            }
        }
        let metadata = match CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http).await {
            Ok(m) => m,
            Err(e) => {
                // Keep serving with what we had rather than failing every sign-in.
                if let Some(d) = slot.as_ref() {
                    tracing::warn!(error = %error_chain(&e), "OIDC discovery failed; using the cached provider metadata");
                    return Ok(d.client.clone());
                }
                return Err(SignInError::Provider(format!(
                    "discovery at {}: {}",
                    self.issuer.as_str(),
                    error_chain(&e)
                )));
            }
        };
        let basic_ok = metadata
            .token_endpoint_auth_methods_supported()
            .is_none_or(|m| m.contains(&CoreClientAuthMethod::ClientSecretBasic));
        let mut client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            (!self.config.client_secret.is_empty())
                .then(|| ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone());
        if !basic_ok {
            client = client.set_auth_type(AuthType::RequestBody);
        }
        let client = Arc::new(client);
        tracing::info!(issuer = %self.issuer.as_str(), "OIDC provider metadata loaded");
        *slot = Some(Discovered {
            at: Instant::now(),
            client: client.clone(),
        });
        Ok(client)
    }

    /// Starts a sign-in: records the pending state and returns the provider's authorization URL
    /// (with `state`, `nonce` and the S256 `code_challenge`) and the browser secret.
    /// `return_to` must already be sanitised (a local path).
    pub async fn begin(&self, return_to: &str) -> Result<Begun, SignInError> {
        let client = self.client(false).await?;
        let secret = new_secret();
        let state = state_for(&secret);
        let now = now_ms();
        self.store
            .put_oidc_pending(&OidcPending {
                state_hash: state_hash(&state),
                workspace_id: self.config.workspace_id.clone(),
                return_to: return_to.to_owned(),
                created_at_ms: now,
                expires_at_ms: now + PENDING_TTL_MS,
            })
            .await?;
        let challenge =
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(pkce_verifier_for(&secret)));
        let nonce = nonce_for(&secret);
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            if scope != "openid" {
                request = request.add_scope(Scope::new(scope.clone()));
            }
        }
        let (url, _, _) = request.url();
        Ok(Begun {
            authorization_url: url.to_string(),
            browser_secret: secret,
        })
    }

    async fn refuse(&self, actor: Option<Actor>, reason: &str, detail: Value) -> Result<(), SignInError> {
        self.sessions
            .audit_failure(&self.config.workspace_id, actor, "oidc", reason, detail)
            .await
    }

    /// Finishes a sign-in: checks the callback against the browser's secret (the cookie set by
    /// [`Self::begin`]), takes the pending state (once), exchanges the code with the PKCE
    /// verifier, verifies the ID token, maps its email to an enabled user and starts a session.
    pub async fn complete(
        &self,
        callback: &Callback,
        browser_secret: Option<&str>,
    ) -> Result<Completed, SignInError> {
        if let Some(error) = &callback.error {
            let error: String = error.chars().take(100).collect();
            let description: String = callback
                .error_description
                .as_deref()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect();
            self.refuse(
                None,
                "provider_error",
                json!({"error": error, "description": description}),
            )
            .await?;
            return Err(SignInError::InvalidRequest(format!(
                "the identity provider did not sign you in ({error}{}{description})",
                if description.is_empty() { "" } else { ": " }
            )));
        }
        let (Some(code), Some(state)) = (callback.code.as_deref(), callback.state.as_deref()) else {
            return Err(SignInError::InvalidRequest(
                "the callback lacks `code` or `state`; start signing in again".to_owned(),
            ));
        };
        let restart = || {
            SignInError::InvalidRequest(
                "this sign-in has expired, was already used, or was started in another browser; start again"
                    .to_owned(),
            )
        };
        let Some(secret) = browser_secret.filter(|s| plausible_secret(s)) else {
            return Err(restart());
        };
        let expected_state = state_for(secret);
        if !bool::from(expected_state.as_bytes().ct_eq(state.as_bytes())) {
            return Err(restart());
        }
        let Some(pending) = self.store.take_oidc_pending(&state_hash(state), now_ms()).await? else {
            return Err(restart());
        };
        let client = self.client(false).await?;
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SignInError::Provider(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier_for(secret)));
        let tokens = match request.request_async(&self.http).await {
            Ok(t) => t,
            Err(RequestTokenError::ServerResponse(e)) => {
                let reason = e.error().to_string();
                self.refuse(None, "code_rejected", json!({"error": reason}))
                    .await?;
                return Err(SignInError::InvalidToken(format!(
                    "the provider refused the code ({reason})"
                )));
            }
            Err(e) => {
                return Err(SignInError::Provider(format!(
                    "exchanging the code: {}",
                    error_chain(&e)
                )))
            }
        };
        let id_token = tokens
            .id_token()
            .ok_or_else(|| SignInError::Provider("the token response has no ID token".to_owned()))?;
        let nonce = Nonce::new(nonce_for(secret));
        let verify = |client: &DiscoveredClient| {
            let verifier = client.id_token_verifier().set_allowed_algs(ALGORITHMS);
            id_token.claims(&verifier, &nonce).map(|_| ())
        };
        let mut verified = verify(&client);
        if let Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) = &verified
        {
            // The provider may have rotated its keys since discovery.
            let fresh = self.client(true).await?;
            verified = verify(&fresh);
        }
        if let Err(e) = verified {
            self.refuse(None, "invalid_id_token", json!({"error": e.to_string()}))
                .await?;
            return Err(SignInError::InvalidToken(e.to_string()));
        }
        let mut claims = payload_claims(&id_token.to_string())
            .ok_or_else(|| SignInError::InvalidToken("unreadable ID token payload".to_owned()))?;
        let subject = claims["sub"].as_str().unwrap_or_default().to_owned();
        let claim = self.config.email_claim.as_str();
        if claims.get(claim).is_none_or(Value::is_null) {
            // In the code flow, providers may return the scopes' claims from UserInfo only
            // (OpenID Connect Core 5.4); the answer must be about the same subject.
            if let Some(url) = client.user_info_url() {
                let info = self
                    .user_info(url.url().as_str(), tokens.access_token().secret())
                    .await?;
                if info["sub"].as_str() != Some(subject.as_str()) {
                    self.refuse(None, "userinfo_subject_mismatch", json!({"subject": subject}))
                        .await?;
                    return Err(SignInError::InvalidToken(
                        "UserInfo names another subject".to_owned(),
                    ));
                }
                if let (Value::Object(all), Value::Object(more)) = (&mut claims, info) {
                    for (k, v) in more {
                        all.entry(k).or_insert(v);
                    }
                }
            }
        }
        let Some(email) = claims[claim].as_str().map(str::trim).filter(|e| !e.is_empty()) else {
            self.refuse(None, "no_email", json!({"subject": subject, "claim": claim}))
                .await?;
            return Err(SignInError::NotAllowed(format!(
                "your identity provider did not send the `{claim}` claim, which Steward needs to recognise you (ask an administrator to check the `email_claim` and `scopes` settings)"
            )));
        };
        if claim == "email" && self.config.require_email_verified && !truthy(&claims["email_verified"]) {
            self.refuse(
                None,
                "email_not_verified",
                json!({"subject": subject, "email": email}),
            )
            .await?;
            return Err(SignInError::NotAllowed(format!(
                "your identity provider has not verified the email address {email}"
            )));
        }
        let ws = &pending.workspace_id;
        let user = self.store.find_user_by_email(ws, email).await?;
        let user: User = match user {
            Some(u) if u.is_enabled() => u,
            Some(u) => {
                let actor = Actor::User {
                    user_id: u.id.clone(),
                    email: u.email.clone(),
                };
                let reason = if u.deleted_at_ms.is_some() {
                    "deleted"
                } else {
                    "deactivated"
                };
                self.refuse(Some(actor), reason, json!({"subject": subject, "email": email}))
                    .await?;
                return Err(SignInError::NotAllowed(format!(
                    "{email} is not allowed to sign in to Steward: the account is deactivated"
                )));
            }
            None => {
                self.refuse(
                    None,
                    "not_provisioned",
                    json!({"subject": subject, "email": email}),
                )
                .await?;
                return Err(SignInError::NotAllowed(format!(
                    "{email} is not allowed to sign in to Steward: no such user in this workspace (users are provisioned by your identity provider)"
                )));
            }
        };
        let session = self.sessions.start(ws, Subject::User(&user), "oidc").await?;
        Ok(Completed {
            session,
            return_to: pending.return_to,
        })
    }
}

impl OidcService {
    /// The UserInfo claims (JSON) for an access token.
    async fn user_info(&self, url: &str, access_token: &str) -> Result<Value, SignInError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| SignInError::Provider(format!("UserInfo: {}", error_chain(&e))))?;
        let status = response.status();
        if !status.is_success() {
            return Err(SignInError::Provider(format!("UserInfo answered HTTP {status}")));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| SignInError::Provider(format!("UserInfo: {}", error_chain(&e))))?;
        serde_json::from_slice(&body).map_err(|e| SignInError::Provider(format!("UserInfo is not JSON: {e}")))
    }
}

/// An error with its sources, `a: b: c`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_verifier_and_nonce_are_distinct_derivations() {
        let secret = new_secret();
        let (state, verifier, nonce) = (state_for(&secret), pkce_verifier_for(&secret), nonce_for(&secret));
        assert_ne!(state, verifier);
        assert_ne!(state, nonce);
        assert_ne!(verifier, nonce);
        assert!(!state.contains(&secret) && !verifier.contains(&secret));
        // RFC 7636: 43-128 unreserved characters.
        assert_eq!(verifier.len(), 43);
        assert!(verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(state_for(&secret), state, "deterministic");
        assert_eq!(state_hash(&state).len(), 64);
        assert_ne!(state_hash(&state), state);
    }

    #[test]
    fn reads_payload_claims_and_truthy_values() {
        let payload = b64(br#"{"email":"a@example.com","email_verified":"true"}"#);
        let claims = payload_claims(&format!("h.{payload}.s")).expect("claims");
        assert_eq!(claims["email"], "a@example.com");
        assert!(truthy(&claims["email_verified"]));
        assert!(truthy(&json!(true)));
        assert!(!truthy(&json!(false)));
        assert!(!truthy(&Value::Null));
        assert!(payload_claims("not a jwt").is_none());
    }
}
