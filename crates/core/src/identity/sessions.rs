//! Browser sessions and the local break-glass admins.
//!
//! A session is a random 256-bit secret in the `steward_session` cookie; the store keeps only
//! its SHA-256, so a copy of the database opens no session. The CSRF token that unsafe requests
//! carry in `X-CSRF-Token` is derived from the same secret (`hex(SHA-256("csrf:" + secret))`),
//! so it needs no storage and a page that can read it (through `/v1/me`) proves it is ours, not
//! a cross-site form. Sessions end at an absolute lifetime (default 12 h), after an idle
//! period (default 2 h without a request), at sign-out, or when the person is deactivated.
//!
//! Local admins sign in with a password hashed with argon2id (PHC string, random salt). An
//! unknown username is verified against a dummy hash too, so timing does not reveal which
//! usernames exist. Every sign-in, failure and sign-out is audited; passwords, session secrets
//! and codes never are.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use steward_model::{User, Workspace};
use steward_store::{LocalAdmin, SessionRow, SignInFailures, Store, StoreError};
use subtle::ConstantTimeEq;

use super::access::Caller;
use super::throttle::{InFlight, ThrottlePolicy};
use super::{now_ms, IdentityError, IdentityService};
use crate::compliance::audit::{self, Actor};

/// Shortest password a local admin may have.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted (hashing is deliberately slow; no need to hash megabytes).
pub const MAX_PASSWORD_LEN: usize = 1024;
/// `last_seen_at_ms` is written at most this often per session.
pub const TOUCH_EVERY_MS: i64 = 60_000;

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// From sign-in to the end, whatever happens (milliseconds).
    pub lifetime_ms: i64,
    /// Without a request for this long, a session ends (milliseconds).
    pub idle_ms: i64,
    /// The brute-force throttle of password sign-in.
    pub throttle: ThrottlePolicy,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            lifetime_ms: 12 * 3_600_000,
            idle_ms: 2 * 3_600_000,
            throttle: ThrottlePolicy::default(),
        }
    }
}

/// Why signing in (or managing local admins) failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong username or password (the same answer for both, on purpose).
    #[error("wrong username or password")]
    BadCredentials,
    /// Too many failed sign-ins under this username: no password is checked until the lock
    /// ends (see `identity::throttle`).
    #[error("too many failed sign-ins for this username; try again in {retry_after_s} s")]
    Throttled { retry_after_s: u64 },
    /// The identity provider vouched for someone who may not use Steward.
    #[error("{0}")]
    NotAllowed(String),
    /// A callback without a live sign-in, or a request the flow cannot use.
    #[error("{0}")]
    InvalidRequest(String),
    /// The ID token failed verification (signature, issuer, audience, nonce, expiry).
    #[error("the identity provider's answer did not verify: {0}")]
    InvalidToken(String),
    /// The identity provider could not be reached or answered nonsense.
    #[error("the identity provider is unavailable: {0}")]
    Provider(String),
    #[error("sign-in with SSO is not configured (see docs/sso.md)")]
    NotConfigured,
    #[error("password too weak: {0}")]
    WeakPassword(String),
    #[error("invalid username `{0}`: use 1-64 letters, digits, `.`, `_`, `-` or `@`")]
    InvalidUsername(String),
    #[error("a local admin named `{0}` already exists (use `steward admin passwd` to change the password)")]
    AdminExists(String),
    #[error("no local admin named `{0}` (see `steward admin list`)")]
    UnknownAdmin(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// A fresh random secret: 32 bytes, base64url without padding (43 characters).
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `s` looks like a secret made by [`new_secret`] (cheap filter before hashing).
pub fn plausible_secret(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// The key of a session row: SHA-256 (hex) of the cookie's secret.
pub fn session_id_hash(secret: &str) -> String {
    sha256_hex(&[secret.as_bytes()])
}

/// The CSRF token of the session whose cookie holds `secret`.
pub fn csrf_token(secret: &str) -> String {
    sha256_hex(&[b"csrf:", secret.as_bytes()])
}

/// Whether `presented` (the `X-CSRF-Token` header) is the token of `secret`, compared in
/// constant time.
pub fn csrf_matches(secret: &str, presented: &str) -> bool {
    let expected = csrf_token(secret);
    expected.as_bytes().ct_eq(presented.trim().as_bytes()).into()
}

/// Where a session stands at `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    Live,
    Revoked,
    /// Past its absolute lifetime.
    Expired,
    /// No request for longer than the idle timeout.
    Idle,
}

pub fn session_status(row: &SessionRow, config: &SessionConfig, now_ms: i64) -> SessionStatus {
    if row.revoked_at_ms.is_some() {
        SessionStatus::Revoked
    } else if now_ms >= row.expires_at_ms {
        SessionStatus::Expired
    } else if now_ms.saturating_sub(row.last_seen_at_ms) >= config.idle_ms {
        SessionStatus::Idle
    } else {
        SessionStatus::Live
    }
}

/// The rules a local admin's password must follow.
pub fn check_password_policy(password: &str) -> Result<(), SignInError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(SignInError::WeakPassword(format!(
            "use at least {MIN_PASSWORD_LEN} characters (got {chars})"
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(SignInError::WeakPassword(format!(
            "use at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    if password.trim().is_empty()
        || password
            .chars()
            .all(|c| c == password.chars().next().unwrap_or(c))
    {
        return Err(SignInError::WeakPassword("not one repeated character".to_owned()));
    }
    Ok(())
}

/// The rules of a local admin's username.
pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

/// argon2id PHC string of `password` with a random salt (the crate's default parameters:
/// 19 MiB, 2 passes, 1 lane, as OWASP recommends).
pub fn hash_password(password: &str) -> Result<String, SignInError> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SignInError::Internal(format!("hashing the password: {e}")))
}

/// Whether `password` matches the PHC string (the comparison is constant-time).
pub fn verify_password(phc: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash nobody's password matches, verified when the username is unknown so that unknown and
/// known usernames take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&new_secret()).unwrap_or_default())
}

/// A session just created: the cookie value (shown once, never stored) and its CSRF token.
pub struct StartedSession {
    pub secret: String,
    pub csrf_token: String,
    pub row: SessionRow,
}

impl std::fmt::Debug for StartedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartedSession")
            .field("secret", &"<redacted>")
            .field("row", &self.row)
            .finish()
    }
}

/// Who a session is for.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    User(&'a User),
    Admin(&'a LocalAdmin),
}

impl Subject<'_> {
    fn actor(&self) -> Actor {
        match self {
            Subject::User(u) => Actor::User {
                user_id: u.id.clone(),
                email: u.email.clone(),
            },
            Subject::Admin(a) => Actor::Admin {
                admin_id: a.id.clone(),
                username: a.username.clone(),
            },
        }
    }
}

/// A short, non-secret reference to a session for audit records (a prefix of its hash).
fn session_ref(row: &SessionRow) -> String {
    row.id_hash.chars().take(12).collect()
}

/// A local admin as shown by `steward admin list` (never the hash).
pub fn admin_view(a: &LocalAdmin) -> Value {
    json!({
        "id": a.id, "username": a.username, "created_at_ms": a.created_at_ms,
        "disabled": a.disabled_at_ms.is_some(), "last_sign_in_at_ms": a.last_sign_in_at_ms,
    })
}

/// Sessions, local admins and their audit records.
#[derive(Clone)]
pub struct SessionService {
    store: Arc<dyn Store>,
    identity: IdentityService,
    config: SessionConfig,
    checking: InFlight,
}

impl SessionService {
    pub fn new(store: Arc<dyn Store>, config: SessionConfig) -> Self {
        // Make the dummy hash now, so the first unknown username is not slower than the rest.
        std::thread::spawn(|| {
            dummy_hash();
        });
        SessionService {
            identity: IdentityService::new(store.clone()),
            store,
            config,
            checking: InFlight::default(),
        }
    }

    pub fn config(&self) -> SessionConfig {
        self.config
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn audit(
        &self,
        workspace_id: &str,
        actor: &Actor,
        action: &str,
        new: Value,
    ) -> Result<(), SignInError> {
        let record = audit::record(workspace_id, actor, action, None, Some(new), now_ms());
        Ok(self.store.append_audit_record(record).await?)
    }

    /// Audits a refused sign-in: `reason` is a stable word (`bad_password`, `unknown_username`,
    /// `not_provisioned`, `deactivated`, ...), `detail` says who was claimed (never a secret).
    pub async fn audit_failure(
        &self,
        workspace_id: &str,
        actor: Option<Actor>,
        method: &str,
        reason: &str,
        mut detail: Value,
    ) -> Result<(), SignInError> {
        let actor = actor.unwrap_or(Actor::System {
            reason: "sign-in".to_owned(),
        });
        if let Value::Object(map) = &mut detail {
            map.insert("method".into(), json!(method));
            map.insert("reason".into(), json!(reason));
        }
        tracing::info!(method, reason, "sign-in refused");
        self.audit(workspace_id, &actor, "auth.sign_in_failed", detail)
            .await
    }

    /// Creates a session for `subject` in `workspace_id` (method `oidc`, `password` or `demo`)
    /// and audits `auth.sign_in`.
    pub async fn start(
        &self,
        workspace_id: &str,
        subject: Subject<'_>,
        method: &str,
    ) -> Result<StartedSession, SignInError> {
        let secret = new_secret();
        let now = now_ms();
        let (user_id, admin_id) = match subject {
            Subject::User(u) => (Some(u.id.clone()), None),
            Subject::Admin(a) => (None, Some(a.id.clone())),
        };
        let row = SessionRow {
            id_hash: session_id_hash(&secret),
            workspace_id: workspace_id.to_owned(),
            user_id,
            admin_id,
            method: method.to_owned(),
            created_at_ms: now,
            last_seen_at_ms: now,
            expires_at_ms: now + self.config.lifetime_ms,
            revoked_at_ms: None,
        };
        self.store.create_session(&row).await?;
        if let Subject::Admin(a) = subject {
            self.store.record_admin_sign_in(&a.id, now).await?;
        }
        let detail = json!({
            "method": method, "session": session_ref(&row), "expires_at_ms": row.expires_at_ms,
        });
        self.audit(workspace_id, &subject.actor(), "auth.sign_in", detail)
            .await?;
        tracing::info!(method, workspace_id, "signed in");
        Ok(StartedSession {
            csrf_token: csrf_token(&secret),
            secret,
            row,
        })
    }

    /// The caller whose cookie holds `secret`, if the session is live and its person (or
    /// admin) still may sign in; `None` otherwise. Refreshes `last_seen_at_ms` at most once a
    /// minute.
    pub async fn resolve(&self, secret: &str) -> Result<Option<Caller>, SignInError> {
        if !plausible_secret(secret) {
            return Ok(None);
        }
        let hash = session_id_hash(secret);
        let Some(row) = self.store.find_session(&hash).await? else {
            return Ok(None);
        };
        let now = now_ms();
        if session_status(&row, &self.config, now) != SessionStatus::Live {
            return Ok(None);
        }
        let caller = match (&row.user_id, &row.admin_id) {
            (Some(user_id), _) => {
                let Some(user) = self
                    .store
                    .get_user(&row.workspace_id, user_id)
                    .await?
                    .filter(User::is_enabled)
                else {
                    return Ok(None);
                };
                let permissions = self.identity.effective_permissions(&user).await?.set();
                Caller::Person {
                    user,
                    session: row.clone(),
                    permissions,
                }
            }
            (None, Some(admin_id)) => {
                let Some(admin) = self
                    .store
                    .get_local_admin(admin_id)
                    .await?
                    .filter(|a| a.disabled_at_ms.is_none())
                else {
                    return Ok(None);
                };
                Caller::Admin {
                    admin,
                    session: row.clone(),
                }
            }
            (None, None) => return Ok(None),
        };
        if now - row.last_seen_at_ms >= TOUCH_EVERY_MS {
            self.store.touch_session(&hash, now).await?;
        }
        Ok(Some(caller))
    }

    /// Ends the caller's session (sign-out) and audits `auth.sign_out`. False when the caller
    /// has no session (an API key) or it had already ended.
    pub async fn sign_out(&self, caller: &Caller) -> Result<bool, SignInError> {
        let session = match caller {
            Caller::Person { session, .. } | Caller::Admin { session, .. } => session,
            Caller::Key(_) | Caller::Operator(_) => return Ok(false),
        };
        let revoked = self.store.revoke_session(&session.id_hash, now_ms()).await?;
        if revoked {
            let detail = json!({"method": session.method, "session": session_ref(session)});
            self.audit(&session.workspace_id, &caller.actor(), "auth.sign_out", detail)
                .await?;
        }
        Ok(revoked)
    }

    /// Demo mode only (`steward serve --demo`): a session for the demo admin without a
    /// password, audited like any sign-in (method `demo`).
    pub async fn start_demo(
        &self,
        workspace_id: &str,
        username: &str,
    ) -> Result<StartedSession, SignInError> {
        let admin = self
            .store
            .find_local_admin(username)
            .await?
            .filter(|a| a.disabled_at_ms.is_none())
            .ok_or(SignInError::BadCredentials)?;
        self.start(workspace_id, Subject::Admin(&admin), "demo").await
    }

    /// The failures remembered for the claimed username, or [`SignInError::Throttled`] while
    /// they lock it.
    async fn failures_unless_locked(
        &self,
        claimed: &str,
        now: i64,
    ) -> Result<Option<SignInFailures>, SignInError> {
        let policy = self.config.throttle;
        let counted = self
            .store
            .sign_in_failures(claimed, policy.remembered_since(now))
            .await?;
        match counted.as_ref().and_then(|f| policy.locked_until(f)) {
            Some(until) if now < until => {
                // Neither audited nor logged above debug: a locked name answers without any
                // work, so these come at network rate and must not flood the audit log or the
                // log. The failure that set the lock was audited; /metrics counts these.
                tracing::debug!(username = ?claimed, until_ms = until, "password sign-in throttled");
                let retry_after_s = ((until - now) as u64).div_ceil(1000);
                Err(SignInError::Throttled { retry_after_s })
            }
            _ => Ok(counted),
        }
    }

    /// A local admin's password sign-in into `workspace_id`. Every refusal is the same
    /// [`SignInError::BadCredentials`] (and audited with its real reason), or
    /// [`SignInError::Throttled`] while the name is locked after too many failures.
    pub async fn sign_in_with_password(
        &self,
        workspace_id: &str,
        username: &str,
        password: &str,
    ) -> Result<StartedSession, SignInError> {
        let claimed: String = username.chars().take(64).collect();
        let policy = self.config.throttle;
        let Some(_checking) = self.checking.claim(&claimed) else {
            return Err(SignInError::Throttled { retry_after_s: 1 });
        };
        let now = now_ms();
        let counted = self.failures_unless_locked(&claimed, now).await?;
        let admin = if valid_username(username) {
            self.store.find_local_admin(username).await?
        } else {
            None
        };
        let phc = admin.as_ref().map(|a| a.password_hash.clone());
        let candidate = password.to_owned();
        // Unknown usernames are checked against a dummy hash: the same work, the same time.
        let matches = tokio::task::spawn_blocking(move || {
            verify_password(phc.as_deref().unwrap_or_else(|| dummy_hash()), &candidate)
        })
        .await
        .map_err(|e| SignInError::Internal(format!("password check: {e}")))?;
        let refusal = match &admin {
            None => Some("unknown_username"),
            Some(_) if !matches => Some("bad_password"),
            Some(a) if a.disabled_at_ms.is_some() => Some("disabled"),
            Some(_) => None,
        };
        if let Some(reason) = refusal {
            let actor = admin.as_ref().map(|a| Subject::Admin(a).actor());
            let failed = self
                .store
                .record_sign_in_failure(&claimed, now_ms(), policy.remembered_since(now))
                .await?;
            let mut detail = json!({"username": claimed, "failures": failed.failures});
            if let Some(until) = policy.locked_until(&failed) {
                detail["locked_until_ms"] = json!(until);
                tracing::warn!(username = ?claimed, failures = failed.failures, until_ms = until,
                    "password sign-in locked after repeated failures");
            }
            self.audit_failure(workspace_id, actor, "password", reason, detail)
                .await?;
            return Err(SignInError::BadCredentials);
        }
        let admin = admin.ok_or(SignInError::BadCredentials)?;
        if counted.is_some() {
            self.store.clear_sign_in_failures(&claimed).await?;
        }
        self.start(workspace_id, Subject::Admin(&admin), "password").await
    }

    /// Creates a local admin (`steward admin create`), audited as `local_admin.created` in
    /// `audit_workspace` by `actor`.
    pub async fn create_local_admin(
        &self,
        actor: &Actor,
        audit_workspace: &Workspace,
        username: &str,
        password: &str,
    ) -> Result<LocalAdmin, SignInError> {
        if !valid_username(username) {
            return Err(SignInError::InvalidUsername(username.to_owned()));
        }
        check_password_policy(password)?;
        if self.store.find_local_admin(username).await?.is_some() {
            return Err(SignInError::AdminExists(username.to_owned()));
        }
        let hash = hash_blocking(password).await?;
        let admin = LocalAdmin {
            id: format!("adm_{}", uuid::Uuid::now_v7().simple()),
            username: username.to_owned(),
            password_hash: hash,
            created_at_ms: now_ms(),
            disabled_at_ms: None,
            last_sign_in_at_ms: None,
        };
        match self.store.create_local_admin(&admin).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(SignInError::AdminExists(username.to_owned())),
            Err(e) => return Err(e.into()),
        }
        self.audit(
            &audit_workspace.id,
            actor,
            "local_admin.created",
            admin_view(&admin),
        )
        .await?;
        Ok(admin)
    }

    /// Sets a local admin's password (and re-enables it), audited as
    /// `local_admin.password_changed`. Every session the admin had is ended with it (someone
    /// who learnt the old password and signed in is out), and the answer says how many.
    pub async fn set_local_admin_password(
        &self,
        actor: &Actor,
        audit_workspace: &Workspace,
        username: &str,
        password: &str,
    ) -> Result<(LocalAdmin, u64), SignInError> {
        let admin = self
            .store
            .find_local_admin(username)
            .await?
            .ok_or_else(|| SignInError::UnknownAdmin(username.to_owned()))?;
        check_password_policy(password)?;
        let hash = hash_blocking(password).await?;
        let sessions_ended = self
            .store
            .set_local_admin_password(&admin.id, &hash, now_ms())
            .await?;
        let after = self
            .store
            .get_local_admin(&admin.id)
            .await?
            .ok_or_else(|| SignInError::UnknownAdmin(username.to_owned()))?;
        let mut detail = admin_view(&after);
        detail["sessions_ended"] = json!(sessions_ended);
        self.audit(&audit_workspace.id, actor, "local_admin.password_changed", detail)
            .await?;
        Ok((after, sessions_ended))
    }

    pub async fn list_local_admins(&self) -> Result<Vec<LocalAdmin>, SignInError> {
        Ok(self.store.list_local_admins().await?)
    }
}

async fn hash_blocking(password: &str) -> Result<String, SignInError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| SignInError::Internal(format!("hashing the password: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(created: i64, last_seen: i64, config: &SessionConfig) -> SessionRow {
        SessionRow {
            id_hash: session_id_hash("x"),
            workspace_id: "ws".into(),
            user_id: Some("u".into()),
            admin_id: None,
            method: "oidc".into(),
            created_at_ms: created,
            last_seen_at_ms: last_seen,
            expires_at_ms: created + config.lifetime_ms,
            revoked_at_ms: None,
        }
    }

    #[test]
    fn secrets_are_random_and_url_safe() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert!(plausible_secret(&a), "{a}");
        assert!(!plausible_secret("short"));
        assert!(!plausible_secret(&format!("{}+", &a[..42])));
        assert_eq!(session_id_hash(&a).len(), 64);
        assert_ne!(
            session_id_hash(&a),
            csrf_token(&a),
            "the CSRF token is not the stored key"
        );
    }

    #[test]
    fn csrf_token_is_derived_from_the_secret_and_checked() {
        let secret = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE";
        let expected = sha256_hex(&[b"csrf:", secret.as_bytes()]);
        assert_eq!(csrf_token(secret), expected);
        assert!(csrf_matches(secret, &expected));
        assert!(csrf_matches(secret, &format!(" {expected} ")));
        assert!(!csrf_matches(secret, ""));
        assert!(!csrf_matches(secret, &expected[..63]));
        assert!(!csrf_matches(secret, &csrf_token("another secret")));
        assert!(!csrf_matches(secret, &session_id_hash(secret)));
    }

    #[test]
    fn sessions_end_at_lifetime_idle_or_revocation() {
        let c = SessionConfig {
            lifetime_ms: 12 * 3_600_000,
            idle_ms: 2 * 3_600_000,
            ..SessionConfig::default()
        };
        let r = row(0, 0, &c);
        assert_eq!(session_status(&r, &c, 1), SessionStatus::Live);
        assert_eq!(session_status(&r, &c, c.idle_ms - 1), SessionStatus::Live);
        assert_eq!(session_status(&r, &c, c.idle_ms), SessionStatus::Idle);
        // Kept alive by requests until the absolute end.
        let active = row(0, c.lifetime_ms - 1000, &c);
        assert_eq!(
            session_status(&active, &c, c.lifetime_ms - 1),
            SessionStatus::Live
        );
        assert_eq!(session_status(&active, &c, c.lifetime_ms), SessionStatus::Expired);
        let mut revoked = row(0, 0, &c);
        revoked.revoked_at_ms = Some(5);
        assert_eq!(session_status(&revoked, &c, 6), SessionStatus::Revoked);
        assert_eq!(SessionConfig::default(), c);
    }

    #[test]
    fn password_policy() {
        assert!(matches!(
            check_password_policy("short-pw"),
            Err(SignInError::WeakPassword(_))
        ));
        assert!(check_password_policy("aaaaaaaaaaaaaaaa").is_err());
        assert!(check_password_policy("            ").is_err());
        assert!(check_password_policy(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
        assert!(check_password_policy("correct horse battery").is_ok());
        // Twelve characters, not twelve bytes.
        assert!(check_password_policy("ééééééééééé1").is_ok());
        assert!(check_password_policy("éééééé").is_err());
    }

    #[test]
    fn usernames() {
        assert!(valid_username("ops"));
        assert!(valid_username("break-glass.admin@corp"));
        assert!(!valid_username(""));
        assert!(!valid_username("has space"));
        assert!(!valid_username(&"a".repeat(65)));
    }

    #[test]
    fn argon2id_hashes_verify_and_are_salted() {
        let a = hash_password("correct horse battery").expect("hash");
        let b = hash_password("correct horse battery").expect("hash");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "random salt");
        assert!(!a.contains("correct horse"));
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "correct horse battery!"));
        assert!(!verify_password("not a phc string", "x"));
        assert!(!verify_password(dummy_hash(), "anything at all"));
    }
}
