//! Storage: SQLite (embedded, the default) or PostgreSQL, chosen by the database URL.
//!
//! Queries are written once, with `$N` placeholders, and run on either backend through the
//! [`on_db!`] and [`write_tx!`] macros: each expands to a `match` whose arms hold the same
//! body, so the body is type-checked against both drivers. Capability modules own their
//! queries (their `store.rs`); only this module knows about pools and dialects.

mod migrations;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use migrations::{MIGRATION_NAMES, migrate};

/// The tenant every row belongs to. One default tenant exists (id 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(pub i64);

impl TenantId {
    pub const DEFAULT: TenantId = TenantId(1);
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database URL: {0}")]
    Url(String),
    #[error("unexpected data in column `{column}`: {why}")]
    Corrupt { column: &'static str, why: String },
}

impl StoreError {
    /// True when the error is a violated unique constraint (a duplicate name, say).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// The pool of one backend.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same body against whichever pool `$db` holds, with `$pool` bound to it.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs the same body against whichever connection the transaction `$tx` holds, with `$conn`
/// bound to it (`&mut` connection, an executor).
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// A write transaction on either backend. Dropping it without [`Tx::commit`] rolls it back.
pub enum Tx<'c> {
    Sqlite(sqlx::Transaction<'c, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'c, sqlx::Postgres>),
}

impl Tx<'_> {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Copies committed WAL frames into the database file without waiting for readers or the
/// writer; answers (busy, frames in the WAL, frames copied).
const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// A connection held for good by one task, outside the pool: its SQLite page cache stays
/// warm from one transaction to the next, and a transaction neither waits for the pool nor
/// for the previous one's connection to be handed back. After an error, [`OwnConnection::reset`]
/// drops it and the next transaction opens a new one. On SQLite it never checkpoints the
/// WAL by itself: its owner calls [`OwnConnection::checkpoint`] (or [`Store::checkpoint`]).
pub struct OwnConnection(Own);

enum Own {
    Sqlite {
        options: SqliteConnectOptions,
        conn: Option<sqlx::SqliteConnection>,
    },
    Postgres {
        options: PgConnectOptions,
        conn: Option<sqlx::PgConnection>,
    },
}

impl OwnConnection {
    async fn connect(&mut self) -> Result<(), StoreError> {
        use sqlx::ConnectOptions;
        match &mut self.0 {
            Own::Sqlite { options, conn } if conn.is_none() => {
                *conn = Some(options.connect().await?);
            }
            Own::Postgres { options, conn } if conn.is_none() => {
                *conn = Some(options.connect().await?);
            }
            _ => {}
        }
        Ok(())
    }

    /// Starts a write transaction (SQLite: `BEGIN IMMEDIATE`, as [`Store::begin_write`]).
    pub async fn begin_write(&mut self) -> Result<Tx<'_>, StoreError> {
        use sqlx::Connection;
        self.connect().await?;
        Ok(match &mut self.0 {
            Own::Sqlite { conn: Some(c), .. } => Tx::Sqlite(c.begin_with("BEGIN IMMEDIATE").await?),
            Own::Postgres { conn: Some(c), .. } => Tx::Postgres(c.begin().await?),
            _ => return Err(StoreError::Db(sqlx::Error::PoolClosed)),
        })
    }

    /// [`Store::checkpoint`] on this connection; true when every frame of the WAL is now in
    /// the database file (always on PostgreSQL).
    pub async fn checkpoint(&mut self) -> Result<bool, StoreError> {
        let Own::Sqlite { conn: Some(c), .. } = &mut self.0 else {
            return Ok(true);
        };
        // (busy, frames in the WAL, frames copied)
        let (busy, log, copied): (i64, i64, i64) =
            sqlx::query_as(CHECKPOINT).fetch_one(&mut *c).await?;
        Ok(busy == 0 && log == copied)
    }

    /// Drops the connection (after an error): the next transaction opens a new one.
    pub fn reset(&mut self) {
        match &mut self.0 {
            Own::Sqlite { conn, .. } => *conn = None,
            Own::Postgres { conn, .. } => *conn = None,
        }
    }
}

/// The database handle shared by every capability.
#[derive(Clone, Debug)]
pub struct Store {
    pub db: Db,
}

impl Store {
    /// Connects to `url` (`sqlite:…` or `postgres://…`) without running migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let db = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Url(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Statement journals (a multi-row INSERT inside a transaction opens one) in
                // memory, not in a temporary file created and deleted per statement.
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Db::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options =
                PgConnectOptions::from_str(url).map_err(|e| StoreError::Url(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Db::Postgres(pool)
        } else {
            return Err(StoreError::Url(
                "expected sqlite:… or postgres://…".to_string(),
            ));
        };
        Ok(Self { db })
    }

    /// A connection of its own, outside the pool, for the one task that writes a hot table
    /// (the callback inbox): see [`OwnConnection`].
    pub async fn own_connection(&self) -> Result<OwnConnection, StoreError> {
        let mut own = OwnConnection(match &self.db {
            Db::Sqlite(pool) => Own::Sqlite {
                // Its commits never stop to checkpoint the WAL (an fsync in the middle of the
                // hot path): its owner checkpoints.
                options: (*pool.connect_options())
                    .clone()
                    .pragma("wal_autocheckpoint", "0"),
                conn: None,
            },
            Db::Postgres(pool) => Own::Postgres {
                options: (*pool.connect_options()).clone(),
                conn: None,
            },
        });
        own.connect().await?;
        Ok(own)
    }

    /// Connects and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(url).await?;
        migrate(&store).await?;
        Ok(store)
    }

    /// Starts a write transaction. SQLite takes the write lock up front (`BEGIN IMMEDIATE`):
    /// a deferred transaction's lock upgrade ignores `busy_timeout`.
    pub async fn begin_write(&self) -> Result<Tx<'static>, StoreError> {
        Ok(match &self.db {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Copies committed WAL frames into the SQLite database file (`wal_checkpoint(PASSIVE)`:
    /// readers and the writer go on meanwhile). Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if let Db::Sqlite(pool) = &self.db {
            sqlx::query(CHECKPOINT).execute(pool).await?;
        }
        Ok(())
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_db!(&self.db, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(&self.db, pool => pool.close().await);
    }
}
