//! The database-backed [`TokenStore`]: every node of a deployment shares one token per
//! credential, and a lease row makes exactly one node fetch at a time while the others wait
//! for its result (reference §7 row 1: token stomping).
//!
//! Tokens are sealed with the master key like other secrets. The lease is a plain row
//! update (`WHERE lease_until_ms <= now OR lease_owner = me`), so it works the same on
//! SQLite and PostgreSQL, and a node that dies holding it loses it after [`LEASE_MS`].

use std::sync::Arc;
use std::time::Duration;

use wx::token::{BoxFuture, CachedToken, FetchFn, StoreError, TokenStore, beijing_day};

use crate::clock;
use crate::on_db;
use crate::secrets::Sealer;
use crate::store::Store;

const SEALED_COLUMN: &str = "access_tokens.sealed";
/// How long a fetcher may hold the lease (longer than the HTTP client's timeout).
pub const LEASE_MS: i64 = 30_000;
/// How long a node waits for another node's fetch before giving up.
const WAIT: Duration = Duration::from_secs(40);
const POLL: Duration = Duration::from_millis(40);

pub struct DbTokenStore {
    store: Store,
    sealer: Sealer,
    /// One refresh per key at a time in this process; the lease does it across processes.
    flights: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A token row as stored.
struct Row {
    token: Option<CachedToken>,
    version: i64,
    last_error: Option<(String, i64)>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl DbTokenStore {
    pub fn new(store: Store, sealer: Sealer) -> Self {
        Self {
            store,
            sealer,
            flights: std::sync::Mutex::default(),
        }
    }

    async fn ensure_row(&self, key: &str) -> Result<(), StoreError> {
        on_db!(&self.store.db, pool => {
            sqlx::query("INSERT INTO access_tokens (key) VALUES ($1) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(backend)
    }

    async fn read(&self, key: &str) -> Result<Option<Row>, StoreError> {
        type Raw = (Option<Vec<u8>>, i64, i64, i64, Option<String>, Option<i64>);
        let raw: Option<Raw> = on_db!(&self.store.db, pool => {
            sqlx::query_as(
                "SELECT sealed, expires_at_ms, fetched_at_ms, version, last_error, last_error_ms \
                 FROM access_tokens WHERE key = $1",
            )
            .bind(key)
            .fetch_optional(pool)
            .await
        })
        .map_err(backend)?;
        let Some((sealed, expires_at_ms, fetched_at_ms, version, last_error, last_error_ms)) = raw
        else {
            return Ok(None);
        };
        let token = match sealed {
            Some(sealed) => Some(CachedToken {
                value: self
                    .sealer
                    .open_string(SEALED_COLUMN, &sealed)
                    .map_err(backend)?,
                expires_at_ms,
                fetched_at_ms,
            }),
            None => None,
        };
        Ok(Some(Row {
            token,
            version,
            last_error: last_error.zip(last_error_ms),
        }))
    }

    fn flight(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.flights
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    /// Takes the lease for `key` under the name `owner` if it is free.
    async fn try_lease(&self, key: &str, owner: &str, now: i64) -> Result<bool, StoreError> {
        let taken = on_db!(&self.store.db, pool => {
            sqlx::query(
                "UPDATE access_tokens SET lease_owner = $1, lease_until_ms = $2 \
                 WHERE key = $3 AND lease_until_ms <= $4",
            )
            .bind(owner)
            .bind(now + LEASE_MS)
            .bind(key)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(backend)?;
        Ok(taken == 1)
    }

    async fn release(&self, key: &str, owner: &str, error: Option<&str>) -> Result<(), StoreError> {
        let now = clock::now_ms();
        on_db!(&self.store.db, pool => {
            sqlx::query(
                "UPDATE access_tokens SET lease_owner = NULL, lease_until_ms = 0, \
                 last_error = COALESCE($1, last_error), last_error_ms = CASE WHEN $1 IS NULL THEN last_error_ms ELSE $2 END \
                 WHERE key = $3 AND lease_owner = $4",
            )
            .bind(error)
            .bind(now)
            .bind(key)
            .bind(owner)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(backend)
    }

    async fn save(&self, key: &str, token: &CachedToken) -> Result<(), StoreError> {
        let sealed = self.sealer.seal_str(SEALED_COLUMN, &token.value);
        let day = beijing_day(token.fetched_at_ms).to_string();
        on_db!(&self.store.db, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE access_tokens SET sealed = $1, expires_at_ms = $2, fetched_at_ms = $3, \
                 version = version + 1, lease_owner = NULL, lease_until_ms = 0, last_error = NULL, \
                 last_error_ms = NULL WHERE key = $4",
            )
            .bind(&sealed)
            .bind(token.expires_at_ms)
            .bind(token.fetched_at_ms)
            .bind(key)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO token_fetches (key, day, fetches) VALUES ($1, $2, 1) \
                 ON CONFLICT (key, day) DO UPDATE SET fetches = token_fetches.fetches + 1",
            )
            .bind(key)
            .bind(&day)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await)
        .map_err(backend)
    }

    async fn refresh_inner(
        &self,
        key: &str,
        stale: Option<&str>,
        fetch: FetchFn<'_>,
    ) -> Result<CachedToken, StoreError> {
        let usable =
            |t: &CachedToken, now: i64| t.is_valid_at(now) && Some(t.value.as_str()) != stale;
        let flight = self.flight(key);
        let _flight = flight.lock().await;
        // Each attempt leases under its own name: two tasks of one node must not both hold it.
        let owner = uuid::Uuid::new_v4().to_string();
        self.ensure_row(key).await?;
        let started = clock::now_ms();
        let mut fetch = Some(fetch);
        let mut seen_version = None;
        loop {
            let now = clock::now_ms();
            let row = self
                .read(key)
                .await?
                .ok_or_else(|| backend("token row vanished"))?;
            if let Some(t) = row.token.as_ref().filter(|t| usable(t, now)) {
                return Ok(t.clone());
            }
            // Another node's fetch finished since we started waiting, and failed.
            if let (Some(seen), Some((error, at))) = (seen_version, &row.last_error)
                && row.version == seen
                && *at >= started
            {
                return Err(StoreError::Backend(format!(
                    "another node's fetch failed: {error}"
                )));
            }
            seen_version = Some(row.version);
            if self.try_lease(key, &owner, now).await? {
                // Someone may have stored a token between our read and the lease.
                let row = self
                    .read(key)
                    .await?
                    .ok_or_else(|| backend("token row vanished"))?;
                if let Some(t) = row.token.filter(|t| usable(t, clock::now_ms())) {
                    self.release(key, &owner, None).await?;
                    return Ok(t);
                }
                let Some(fetch) = fetch.take() else {
                    self.release(key, &owner, None).await?;
                    return Err(backend("fetch already spent"));
                };
                return match fetch().await {
                    Ok(token) => {
                        self.save(key, &token).await?;
                        Ok(token)
                    }
                    Err(e) => {
                        let error = wx::api::redact_text(&e.to_string()).into_owned();
                        self.release(key, &owner, Some(&error)).await?;
                        Err(StoreError::Fetch(e))
                    }
                };
            }
            if clock::now_ms() - started > WAIT.as_millis() as i64 {
                return Err(StoreError::Timeout);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// How many tokens were fetched for `key` today (Beijing time), and how many forced.
    pub async fn fetches_today(&self, key: &str) -> Result<(i64, i64), StoreError> {
        let day = beijing_day(clock::now_ms()).to_string();
        let row: Option<(i64, i64)> = on_db!(&self.store.db, pool => {
            sqlx::query_as("SELECT fetches, forced FROM token_fetches WHERE key = $1 AND day = $2")
                .bind(key)
                .bind(&day)
                .fetch_optional(pool)
                .await
        })
        .map_err(backend)?;
        Ok(row.unwrap_or((0, 0)))
    }

    /// Counts a forced `stable_token` refresh against today's limit.
    pub async fn count_forced(&self, key: &str) -> Result<(), StoreError> {
        let day = beijing_day(clock::now_ms()).to_string();
        on_db!(&self.store.db, pool => {
            sqlx::query(
                "INSERT INTO token_fetches (key, day, forced) VALUES ($1, $2, 1) \
                 ON CONFLICT (key, day) DO UPDATE SET forced = token_fetches.forced + 1",
            )
            .bind(key)
            .bind(&day)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(backend)
    }

    /// The stored state of `key` for the console: the token's expiry and fetch time, the
    /// last error.
    pub async fn state(
        &self,
        key: &str,
    ) -> Result<Option<(i64, i64, Option<(String, i64)>)>, StoreError> {
        Ok(self.read(key).await?.map(|row| {
            let (expires, fetched) = row
                .token
                .map(|t| (t.expires_at_ms, t.fetched_at_ms))
                .unwrap_or((0, 0));
            (expires, fetched, row.last_error)
        }))
    }
}

impl TokenStore for DbTokenStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CachedToken>, StoreError>> {
        Box::pin(async move { Ok(self.read(key).await?.and_then(|row| row.token)) })
    }

    fn refresh<'a>(
        &'a self,
        key: &'a str,
        stale: Option<&'a str>,
        fetch: FetchFn<'a>,
    ) -> BoxFuture<'a, Result<CachedToken, StoreError>> {
        Box::pin(self.refresh_inner(key, stale, fetch))
    }
}
