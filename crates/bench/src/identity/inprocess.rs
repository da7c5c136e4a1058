//! `steward_core::identity::authorize` alone, in a tight loop: the pure decision cost.

use std::hint::black_box;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use steward_core::identity::{authorize, Caller, Denied};
use steward_model::{ApiScope, Credential, CredentialKind, Permission};

#[derive(Debug, Clone, Serialize)]
pub struct AuthorizeCase {
    pub name: String,
    pub ns_per_call: f64,
    pub min_ns: f64,
    pub max_ns: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuthorizeBench {
    pub calls_per_run: usize,
    pub runs: usize,
    pub cases: Vec<AuthorizeCase>,
}

fn key_caller(ws: &str, scopes: Vec<ApiScope>) -> Caller {
    Caller::Key(Credential {
        id: "cred_4f1c2d3e4b5a69788796a5b4c3d2e1f0".into(),
        workspace_id: ws.into(),
        name: "steward-bench".into(),
        kind: CredentialKind::ApiKey { scopes },
        prefix: "stw_ak_4f1c".into(),
        created_at_ms: 1_700_000_000_000,
        revoked_at_ms: None,
        expires_at_ms: None,
        last_used_at_ms: Some(1_700_000_000_000),
        created_by: Some("local:steward-bench".into()),
    })
}

pub(super) fn authorize_bench(calls: usize) -> Result<AuthorizeBench> {
    let ws = "ws_0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let admin = key_caller(ws, vec![ApiScope::Admin]);
    let analytics = key_caller(ws, vec![ApiScope::AnalyticsRead]);
    let elsewhere = key_caller("ws_ffffffffffffffffffffffffffffffff", vec![ApiScope::Admin]);
    let cases: [(&str, &Caller, Permission, Result<(), Denied>); 4] = [
        (
            "granted: admin key, users.read (clones the caller into the Grant)",
            &admin,
            Permission::UsersRead,
            Ok(()),
        ),
        (
            "granted: analytics key, analytics.read",
            &analytics,
            Permission::AnalyticsRead,
            Ok(()),
        ),
        (
            "denied: analytics key lacks users.read",
            &analytics,
            Permission::UsersRead,
            Err(Denied::Missing(Permission::UsersRead)),
        ),
        (
            "denied: key of another workspace",
            &elsewhere,
            Permission::UsersRead,
            Err(Denied::OtherWorkspace),
        ),
    ];
    let runs = 5;
    let mut out = Vec::new();
    for (name, caller, permission, expected) in cases {
        let got = authorize(caller, ws, permission).map(|_| ());
        anyhow::ensure!(
            got == expected,
            "authorize({name}) = {got:?}, expected {expected:?}"
        );
        let mut ns = Vec::with_capacity(runs);
        for run in 0..=runs {
            let n = if run == 0 { calls / 10 + 1 } else { calls };
            let t = Instant::now();
            for _ in 0..n {
                let _grant = black_box(authorize(black_box(caller), black_box(ws), black_box(permission)));
            }
            if run > 0 {
                ns.push(t.elapsed().as_nanos() as f64 / n as f64);
            }
        }
        ns.sort_by(|a, b| a.total_cmp(b));
        eprintln!("  authorize, {name:<66} {:>7.1} ns/call", ns[runs / 2]);
        out.push(AuthorizeCase {
            name: name.to_owned(),
            ns_per_call: ns[runs / 2],
            min_ns: ns[0],
            max_ns: ns[runs - 1],
        });
    }
    Ok(AuthorizeBench {
        calls_per_run: calls,
        runs,
        cases: out,
    })
}
