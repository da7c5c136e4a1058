//! Scratch databases for the integration tests: a fresh schema (or database) per test on the
//! server named by `STEWARD_TEST_POSTGRES_URL`, dropped again by a guard.

#![allow(dead_code)] // each test binary uses a different part

use tokio_postgres::NoTls;

const URL_VAR: &str = "STEWARD_TEST_POSTGRES_URL";

/// The admin URL of the test server. Never skips: a suite that silently passes without a
/// database would hide a broken backend.
pub fn admin_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ if std::env::var_os("CI").is_some() => panic!(
            "{URL_VAR} is not set in CI: the PostgreSQL store suite must run there. \
             Start a server (scripts/test does; or scripts/pg-throwaway start /tmp/steward-pg 55432) \
             and export {URL_VAR}=<the printed URL>."
        ),
        _ => panic!(
            "{URL_VAR} is not set, so the PostgreSQL store tests cannot run. \
             Use scripts/test, which starts a throwaway PostgreSQL, or start one yourself: \
             `URL=$(scripts/pg-throwaway start /tmp/steward-pg 55432)` then \
             `{URL_VAR}=$URL cargo test -p steward-store-postgres` \
             (and `scripts/pg-throwaway stop /tmp/steward-pg` afterwards)."
        ),
    }
}

/// Keeps a scratch schema or database alive; dropping it drops them (with everything in them).
pub struct Scratch {
    admin_url: String,
    drop_sql: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Drop is synchronous but the test runs inside a tokio runtime, which cannot be blocked
        // on from within: clean up on a thread with its own small runtime.
        let (url, sql) = (self.admin_url.clone(), self.drop_sql.clone());
        let result = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let admin = admin_client(&url).await;
                admin.batch_execute(&sql).await
            })
        })
        .join();
        if !matches!(result, Ok(Ok(()))) {
            eprintln!("warning: could not clean up with `{}`: {result:?}", self.drop_sql);
        }
    }
}

pub async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {URL_VAR}={url}: {e}"));
    tokio::spawn(conn);
    client
}

fn unique_name() -> String {
    format!("steward_test_{}", uuid::Uuid::new_v4().simple())
}

/// A new empty schema; the returned URL puts it first on the search path, so the store's
/// unqualified table names (and its migrations) land there. Cheaper than a database per test.
pub async fn fresh_schema() -> (String, Scratch) {
    let admin_url = admin_url();
    let schema = unique_name();
    admin_client(&admin_url)
        .await
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create schema");
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-csearch_path%3D{schema}");
    (
        url,
        Scratch {
            admin_url,
            drop_sql: format!("DROP SCHEMA {schema} CASCADE"),
        },
    )
}

/// A new empty database with a linguistic (ICU en-US) default collation, under which text
/// sorts differently from byte order.
pub async fn fresh_icu_database() -> (String, Scratch) {
    let admin_url = admin_url();
    let db = unique_name();
    admin_client(&admin_url)
        .await
        .batch_execute(&format!(
            "CREATE DATABASE {db} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        ))
        .await
        .expect("create ICU database (needs PostgreSQL 15+ built with ICU)");
    let url = with_dbname(&admin_url, &db);
    (
        url,
        Scratch {
            admin_url,
            drop_sql: format!("DROP DATABASE {db} WITH (FORCE)"),
        },
    )
}

/// `admin_url` with its database replaced by `db` (URL form only).
fn with_dbname(admin_url: &str, db: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let (scheme, rest) = base
        .split_once("://")
        .unwrap_or_else(|| panic!("{URL_VAR} must be a postgres:// URL"));
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    format!("{scheme}://{authority}/{db}{query}")
}
