//! Fresh PostgreSQL databases for one run, created on the server of `--postgres-url` and dropped
//! afterwards (also on error, best effort).

use anyhow::{bail, Context, Result};
use tokio_postgres::{Client, NoTls};

/// Connects and drives the connection on a background task.
pub async fn connect(url: &str) -> Result<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// `url` with its database replaced by `db` (URL form only: `postgres://user@host:port/db?opts`).
pub fn with_database(url: &str, db: &str) -> Result<String> {
    let Some(scheme_end) = url.find("://") else {
        bail!("--postgres-url must be a URL (postgres://user@host:port/db), got the key=value form");
    };
    let after = scheme_end + 3;
    let (base, query) = match url[after..].find('?') {
        Some(q) => (&url[..after + q], &url[after + q..]),
        None => (url, ""),
    };
    let host_end = base[after..].find('/').map(|i| after + i).unwrap_or(base.len());
    Ok(format!("{}/{db}{query}", &base[..host_end]))
}

pub fn redact(url: &str) -> String {
    // postgres://user:secret@host → postgres://user:***@host
    if let (Some(s), Some(at)) = (url.find("://"), url.rfind('@')) {
        if let Some(colon) = url[s + 3..at].find(':') {
            return format!("{}:***{}", &url[..s + 3 + colon], &url[at..]);
        }
    }
    url.to_owned()
}

/// A database created for this run.
pub struct FreshDb {
    admin_url: String,
    pub name: String,
    pub url: String,
    dropped: bool,
}

impl FreshDb {
    pub async fn create(admin_url: &str, tag: &str) -> Result<FreshDb> {
        let name = format!(
            "steward_bench_{tag}_{}_{}",
            std::process::id(),
            crate::stats::now_ms() % 1_000_000_000
        );
        let admin = connect(admin_url).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        Ok(FreshDb {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name)?,
            name,
            dropped: false,
        })
    }

    pub async fn drop_db(mut self) -> Result<()> {
        self.dropped = true;
        let admin = connect(&self.admin_url).await?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .await
            .with_context(|| format!("DROP DATABASE {}", self.name))?;
        Ok(())
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if !self.dropped {
            eprintln!(
                "  note: database {} was not dropped (drop it with: DROP DATABASE {} WITH (FORCE))",
                self.name, self.name
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_database() {
        assert_eq!(
            with_database("postgres://steward@127.0.0.1:55432/postgres", "x").unwrap(),
            "postgres://steward@127.0.0.1:55432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x").unwrap(),
            "postgres://h:5432/x"
        );
        assert_eq!(redact("postgres://u:p@h/db"), "postgres://u:***@h/db");
    }
}
