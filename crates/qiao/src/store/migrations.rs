//! Schema migrations, one folder per backend (`migrations/sqlite`, `migrations/postgres`) with
//! the same numbered names, embedded into the binary. Never edit an applied migration: add one.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{Db, Store, StoreError};

/// Declares the migrations once (version => file stem); both folders hold a file of each stem.
macro_rules! migrations {
    ($($version:literal => $name:literal),* $(,)?) => {
        /// The migration file stems, in order (`NNNN_name`).
        pub const MIGRATION_NAMES: &[&str] = &[$($name),*];

        fn sqlite_sources() -> Vec<(i64, &'static str, &'static str)> {
            vec![$((
                $version,
                $name,
                include_str!(concat!("../../migrations/sqlite/", $name, ".sql")),
            )),*]
        }

        fn postgres_sources() -> Vec<(i64, &'static str, &'static str)> {
            vec![$((
                $version,
                $name,
                include_str!(concat!("../../migrations/postgres/", $name, ".sql")),
            )),*]
        }
    };
}

migrations! {
    1 => "0001_foundation",
    2 => "0002_channels",
    3 => "0003_callbacks",
    4 => "0004_reply_rules",
    5 => "0005_business_systems",
    6 => "0006_domain_files",
    7 => "0007_tokens",
    8 => "0008_inbox_raw_only",
}

fn migrator(sources: Vec<(i64, &'static str, &'static str)>) -> Migrator {
    let migrations = sources
        .into_iter()
        .map(|(version, name, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(name),
                MigrationType::Simple,
                sqlx::SqlStr::from_static(sql),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// Brings the schema up to date. Safe to run on every start and from several nodes at once
/// (sqlx takes an advisory lock on PostgreSQL).
pub async fn migrate(store: &Store) -> Result<(), StoreError> {
    match &store.db {
        Db::Sqlite(pool) => migrator(sqlite_sources()).run(pool).await?,
        Db::Postgres(pool) => migrator(postgres_sources()).run(pool).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(folder: &str) -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/");
        let mut names: Vec<String> = std::fs::read_dir(format!("{dir}{folder}"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".sql")
                    .to_string()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let declared: Vec<String> = MIGRATION_NAMES.iter().map(|s| s.to_string()).collect();
        assert_eq!(listed("sqlite"), declared);
        assert_eq!(listed("postgres"), declared);
    }
}
