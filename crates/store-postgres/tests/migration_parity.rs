//! The two backends must carry the same migrations (same numbers and names), so that a schema
//! version means the same thing on both; and `MIGRATIONS` must embed exactly the files on disk.

use std::path::Path;

fn migration_files(crate_dir: &Path) -> Vec<String> {
    let dir = crate_dir.join("migrations");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn sqlite_and_postgres_have_the_same_migrations() {
    let pg_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sqlite_dir = pg_dir.join("../store-sqlite");
    let (pg, sqlite) = (migration_files(pg_dir), migration_files(&sqlite_dir));
    assert!(!pg.is_empty(), "no migrations found in {}", pg_dir.display());
    for name in &pg {
        let ok = name.len() > 9
            && name.ends_with(".sql")
            && name.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && name.as_bytes()[4] == b'_';
        assert!(ok, "migration file {name} is not named NNNN_name.sql");
    }
    assert_eq!(
        pg, sqlite,
        "store-postgres/migrations and store-sqlite/migrations must list the same NNNN_name.sql files"
    );
}

#[test]
fn embedded_migrations_are_the_files_on_disk() {
    let pg_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = migration_files(pg_dir);
    let embedded: Vec<String> = steward_store_postgres::MIGRATIONS
        .iter()
        .map(|(v, name, _)| format!("{v:04}_{name}.sql"))
        .collect();
    assert_eq!(
        embedded, files,
        "MIGRATIONS must list every file in migrations/, in order"
    );
    for ((_, _, sql), file) in steward_store_postgres::MIGRATIONS.iter().zip(&files) {
        let on_disk = std::fs::read_to_string(pg_dir.join("migrations").join(file)).expect("read migration");
        assert_eq!(*sql, on_disk, "{file} differs from its embedded copy");
    }
}
