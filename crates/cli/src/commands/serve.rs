//! `steward serve`: the long-running server.

use std::sync::Arc;

use anyhow::{Context, Result};
use steward_api::{ApiLimits, AppState};
use steward_core::demo::DemoSpec;
use steward_core::{AnalyticsConfig, PolicyService, Principals, UsageService};
use steward_ingest::pipeline::Ingestor;
use steward_ingest::queue::{QueueConfig, WriteQueue};
use steward_model::ApiScope;

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::runtime::{capture_profiles, compliance, open_store, rate_card};

pub async fn run(config: Config, args: ServeArgs) -> Result<()> {
    let addr = config.listen_addr()?;
    let store = open_store(&config).await?;
    let card = Arc::new(rate_card(&config)?);
    let principals = Principals::new(store.clone());
    let workspace = principals.default_workspace().await?;
    tracing::info!(database = store.backend(), workspace_id = %workspace.id, rate_card = %card.version, "store ready");

    let mut demo_generated = false;
    if args.demo {
        let summary =
            super::demo::fill(store.clone(), &workspace.id, &card, DemoSpec::default(), true).await?;
        if summary.skipped_existing {
            tracing::warn!("--demo: the store already has data, no demo data added");
        } else {
            demo_generated = true;
            tracing::warn!(
                users = summary.users,
                events = summary.events,
                "--demo: DEMO DATA GENERATED; do not use this store in production"
            );
            let key = principals
                .create_api_key(&workspace.id, vec![ApiScope::AnalyticsRead], Some("demo key"))
                .await?;
            eprintln!("\n  demo API key (shown once): {}", key.secret);
            eprintln!(
                "  try: curl -s -H 'Authorization: Bearer {}' 'http://{addr}/v1/analytics/codex/workspaces/{}/usage?group=workspace'\n",
                key.secret, workspace.id
            );
        }
    }

    let metrics = match steward_api::install_metrics_recorder() {
        Ok(handle) => Some(handle),
        Err(err) => {
            tracing::warn!(error = %err, "metrics recorder unavailable; /metrics is disabled");
            None
        }
    };
    let queue_config = QueueConfig {
        capacity: config.ingest.queue_capacity,
        max_group_events: config.ingest.max_group_events,
    };
    let (queue, writer) = WriteQueue::start(store.clone(), queue_config);
    let compliance = compliance(&config, store.clone()).await?;
    if demo_generated {
        // Seal the demo's records now (in the background: it takes seconds), so the compliance
        // log has files to list and verify from the first minute, not after an hour.
        let service = compliance.clone();
        tokio::spawn(async move {
            let sealed = service.seal_due(true).await;
            let failed = sealed.iter().filter(|r| r.is_err()).count();
            tracing::info!(
                workspaces = sealed.len(),
                failed,
                "--demo: sealed the demo's compliance records"
            );
        });
    }
    let ingestor =
        Arc::new(Ingestor::new(store.clone(), queue, card.clone()).with_capture(capture_profiles(&config)?));
    let sealer = {
        let service = compliance.clone();
        let poll = std::time::Duration::from_secs(config.compliance.sealer_poll_secs);
        tokio::spawn(async move { service.run_sealer(poll).await })
    };
    tracing::info!(store = %compliance.log_store().description(), every_secs = config.compliance.seal_interval_secs, "compliance log sealing");
    let retention = {
        let service = compliance.clone();
        let poll = std::time::Duration::from_secs(config.compliance.retention_poll_secs);
        tokio::spawn(async move { service.run_retention(poll).await })
    };
    if config.compliance.retention.is_empty() {
        tracing::info!("compliance retention: none configured, everything is kept");
    } else {
        tracing::info!(policy = ?config.compliance.retention, "compliance retention");
    }
    let chatgpt = {
        let section = &config.chatgpt_backend;
        let verifier = steward_api::chatgpt_token::ChatgptTokenVerifier::new(section.token_config())
            .context("chatgpt_backend: cannot load the JWKS")?;
        let workspace_id = if section.workspace_id.trim().is_empty() {
            workspace.id.clone()
        } else {
            section.workspace_id.trim().to_owned()
        };
        if verifier.is_enabled() {
            tracing::info!(workspace = %workspace_id, "serving managed configuration to ChatGPT-signed-in Codex CLIs (/api/codex/config/bundle)");
        }
        std::sync::Arc::new(steward_api::chatgpt_backend::ChatgptBackend {
            verifier,
            workspace_id,
        })
    };
    let sign_in = {
        let sessions =
            steward_core::identity::sessions::SessionService::new(store.clone(), config.sso.session_config());
        let demo_admin = match args.demo {
            true => Some(ensure_demo_admin(&sessions, &workspace).await?),
            false => None,
        };
        let oidc = match config.sso.oidc_config(&workspace.id)? {
            Some(oidc_config) => {
                tracing::info!(issuer = %oidc_config.issuer, workspace = %oidc_config.workspace_id, redirect_url = %oidc_config.redirect_url, "SSO sign-in (OpenID Connect) at /auth/login");
                Some(
                    steward_core::identity::oidc::OidcService::new(oidc_config, sessions.clone())
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                )
            }
            None => None,
        };
        Arc::new(steward_api::SignIn {
            sessions,
            oidc,
            default_workspace_id: workspace.id.clone(),
            cookie_secure: config.sso.cookie_secure(),
            demo_admin,
        })
    };
    let state = AppState {
        store: store.clone(),
        ingestor,
        usage: UsageService::new(
            store.clone(),
            AnalyticsConfig {
                lookback_days: config.analytics.lookback_days,
            },
        ),
        principals,
        compliance,
        policies: PolicyService::new(store.clone()),
        identity: steward_core::IdentityService::new(store.clone()),
        chatgpt,
        sign_in,
        metrics,
        limits: ApiLimits {
            max_body_bytes: config.ingest.max_body_bytes,
        },
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, "listening");
    eprintln!("steward listening on http://{local} (workspace {})", workspace.id);
    print_sign_in_help(&state.sign_in, local).await?;
    if store.list_credentials(&workspace.id).await?.is_empty() {
        eprintln!("  no credentials yet: `steward users add EMAIL`, then `steward tokens create --user EMAIL` for Codex,");
        eprintln!(
            "  and `steward keys create --scope codex.enterprise.analytics.read` for the Analytics API"
        );
    }
    steward_api::serve(listener, state, shutdown_signal())
        .await
        .context("server failed")?;
    // The router (and with it every queue handle) is gone: the writer drains what was accepted.
    tracing::info!("shutting down: committing queued telemetry");
    let _ = writer.await;
    // Pending compliance records are durable in the database; the next start seals them.
    sealer.abort();
    retention.abort();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received");
}

/// The local admin that `--demo` signs browsers in as. Its password is random and never shown:
/// only the demo's automatic sign-in at `/` uses it (`steward admin passwd demo` to set one).
async fn ensure_demo_admin(
    sessions: &steward_core::identity::sessions::SessionService,
    workspace: &steward_model::Workspace,
) -> Result<String> {
    const DEMO_ADMIN: &str = "demo";
    let exists = sessions
        .list_local_admins()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .iter()
        .any(|a| a.username == DEMO_ADMIN);
    if !exists {
        let password = steward_core::identity::sessions::new_secret();
        sessions
            .create_local_admin(
                &steward_core::compliance::audit::Actor::local_admin(),
                workspace,
                DEMO_ADMIN,
                &password,
            )
            .await
            .map_err(|e| anyhow::anyhow!("creating the demo admin: {e}"))?;
    }
    Ok(DEMO_ADMIN.to_owned())
}

/// How to reach the dashboard: automatic in demo mode (said loudly), else the ways to sign in
/// that this server has, or how to create one when it has none.
async fn print_sign_in_help(sign_in: &steward_api::SignIn, local: std::net::SocketAddr) -> Result<()> {
    let url = format!("http://{local}/");
    if let Some(admin) = &sign_in.demo_admin {
        tracing::warn!(admin = %admin, "DEMO MODE: opening the dashboard signs in the demo admin WITHOUT credentials");
        eprintln!(
            "\n  dashboard: {url}  (demo mode: opening it signs you in as admin `{admin}` automatically)"
        );
        eprintln!("  DEMO MODE: anyone who can reach this port is an admin. Never expose a demo server.\n");
        return Ok(());
    }
    let admins = sign_in
        .sessions
        .list_local_admins()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!("  dashboard: {url}");
    if sign_in.oidc.is_some() {
        eprintln!("  sign in with your identity provider (SSO) at {url}auth/login");
    }
    if admins.is_empty() && sign_in.oidc.is_none() {
        eprintln!("  nobody can sign in yet: create a break-glass admin with `steward admin create NAME`");
        eprintln!("  (it asks for a password), or configure SSO in [sso] (docs/sso.md)");
    } else if !admins.is_empty() {
        eprintln!("  local admins sign in with their password at {url}auth/sign-in");
    }
    Ok(())
}
