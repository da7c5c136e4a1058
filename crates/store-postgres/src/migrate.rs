//! Embedded, forward-only migrations. Never edit an applied migration: add a new one, with the
//! same number and name in store-sqlite (tests/migration_parity.rs checks the two lists match).

use deadpool_postgres::Object;
use steward_store::StoreResult;

use crate::conn::map_err;

/// `(version, name, sql)`, in version order; file `migrations/NNNN_name.sql` for each.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "thread_seen_keys",
        include_str!("../migrations/0002_thread_seen_keys.sql"),
    ),
    (3, "compliance", include_str!("../migrations/0003_compliance.sql")),
    (
        4,
        "pending_queued_at",
        include_str!("../migrations/0004_pending_queued_at.sql"),
    ),
    (5, "retention", include_str!("../migrations/0005_retention.sql")),
    (
        6,
        "codex_threads",
        include_str!("../migrations/0006_codex_threads.sql"),
    ),
    (7, "policies", include_str!("../migrations/0007_policies.sql")),
    (
        8,
        "users_by_lower_email",
        include_str!("../migrations/0008_users_by_lower_email.sql"),
    ),
    (9, "identity", include_str!("../migrations/0009_identity.sql")),
    (
        10,
        "active_users",
        include_str!("../migrations/0010_active_users.sql"),
    ),
    (
        11,
        "rollout_files",
        include_str!("../migrations/0011_rollout_files.sql"),
    ),
    (
        12,
        "turn_reports",
        include_str!("../migrations/0012_turn_reports.sql"),
    ),
    (
        13,
        "fact_sightings",
        include_str!("../migrations/0013_fact_sightings.sql"),
    ),
    (
        14,
        "pairing_from_events",
        include_str!("../migrations/0014_pairing_from_events.sql"),
    ),
    (
        15,
        "sign_in_failures",
        include_str!("../migrations/0015_sign_in_failures.sql"),
    ),
    (
        16,
        "scim_pages",
        include_str!("../migrations/0016_scim_pages.sql"),
    ),
];

/// Key of the transaction-scoped advisory lock that serialises migrators (ASCII "stewmigr"),
/// so that replicas starting at once against one database do not race to create tables.
const LOCK_KEY: i64 = 0x7374_6577_6d69_6772;

pub async fn apply(client: &mut Object) -> StoreResult<()> {
    let tx = client.transaction().await.map_err(map_err)?;
    // Taken before anything else, even the CREATE TABLE IF NOT EXISTS (which itself is not
    // safe against a concurrent creator); released by commit or rollback.
    tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({LOCK_KEY})"))
        .await
        .map_err(map_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)",
    )
    .await
    .map_err(map_err)?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await
        .map_err(map_err)?
        .get(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > known {
        // A newer Steward replica migrated this database; this older one may still run as long
        // as the newer migrations were additive.
        tracing::warn!(current, known, "database schema is newer than this binary");
    }
    for (version, name, sql) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        tracing::info!(version, name, "applying postgres migration");
        tx.batch_execute(sql).await.map_err(map_err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)",
            &[version, name, &now_ms()],
        )
        .await
        .map_err(map_err)?;
    }
    tx.commit().await.map_err(map_err)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
