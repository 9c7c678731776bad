//! [`PostgresDb`]: the [`Db`] on PostgreSQL, in Agno 3.1.10's Postgres
//! layout, for one or several server instances on one database.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use hooks_core::RunOutput;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_postgres::NoTls;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::clock::now_secs;
use crate::db::jobs::{sql::Plan, transitions};
use crate::db::run_row::RunRow;
use crate::db::{
    Db, DbError, DbFuture, JobFence, NewJob, Notifier, SessionPage, SessionQuery, SessionRecord,
    SessionStore, StoreEvent,
};
use crate::telemetry::{PoolLevels, StoreLevels, StoreMetrics};

mod events;
mod jobs;
mod metrics;
mod schema;
mod sessions;
mod traces;

pub use schema::PG_SCHEMA_VERSION;

/// Tuning of a [`PostgresDb`]; `PostgresDbOptions::default()` suits a
/// server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresDbOptions {
    /// The schema holding the tables (default `ai`, as Agno's
    /// `PostgresDb`): lower-case letters, digits and `_`, at most 48
    /// characters, not starting with a digit.
    pub schema: String,
    /// The most connections the pool opens (default 16).
    pub max_connections: usize,
    /// How long a caller waits for a free connection before failing
    /// (default 10 s).
    pub wait_timeout: Duration,
    /// How long a claimed job stays its worker's without a renewal before
    /// another instance may take it over (default 30 s; renewed every
    /// third of it). The time a killed instance's jobs wait before they
    /// run elsewhere.
    pub lease: Duration,
    /// How many of the other instances' events wait for this one's
    /// readers before the oldest are dropped (default 1 024); a reader
    /// that lagged reads what it must not miss (cancels) from the store.
    pub events_capacity: usize,
}

impl Default for PostgresDbOptions {
    fn default() -> Self {
        Self {
            schema: "ai".into(),
            max_connections: 16,
            wait_timeout: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            events_capacity: 1024,
        }
    }
}

/// Sessions, runs and the durable job queue on PostgreSQL, in the tables
/// Agno 3.1.10's `PostgresDb` makes (schema `ai`: `agno_sessions`,
/// `agno_runs`, `agno_jobs`, `agno_schema_versions`; JSONB columns), so
/// Agno's own `PostgresDb` reads and writes the same database.
///
/// Several server instances can share one database: `run_index` is
/// appended under Agno's per-session advisory lock, jobs are claimed with
/// `FOR UPDATE SKIP LOCKED` and leased (a killed instance's jobs are taken
/// over once their lease runs out), and new jobs and cancels reach the
/// other instances by `LISTEN/NOTIFY`.
///
/// A cheap, clonable handle on a connection pool (prepared statements are
/// cached per connection). TLS is not supported yet: connect over a local
/// socket, a private network or a TLS-terminating proxy.
///
/// ```no_run
/// # async fn demo() -> Result<(), agno_server::db::DbError> {
/// use agno_server::db::PostgresDb;
/// let db = PostgresDb::connect("postgresql://postgres@127.0.0.1:5432/postgres").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresDb {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    identity: String,
    options: PostgresDbOptions,
    channel: String,
    events: broadcast::Sender<StoreEvent>,
    /// Stops the listener when the last handle goes.
    _listener: DropGuard,
    /// Its transactions and pool waits, as they happen.
    metrics: StoreMetrics,
}

impl fmt::Debug for PostgresDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresDb")
            .field("store", &self.inner.identity)
            .finish_non_exhaustive()
    }
}

/// `url` as tokio-postgres reads it: Agno's SQLAlchemy form
/// (`postgresql+psycopg://...`) is accepted too.
fn parse_url(url: &str) -> Result<tokio_postgres::Config, DbError> {
    let url = match url.split_once("://") {
        Some((scheme, rest))
            if scheme.starts_with("postgresql+") || scheme.starts_with("postgres+") =>
        {
            format!("postgresql://{rest}")
        }
        _ => url.to_owned(),
    };
    tokio_postgres::Config::from_str(&url)
        .map_err(|e| DbError::InvalidInput(format!("not a Postgres URL: {e}")))
}

fn check_schema(schema: &str) -> Result<(), DbError> {
    let ok = !schema.is_empty()
        && schema.len() <= 48
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(DbError::InvalidInput(format!(
            "schema {schema:?}: use lower-case letters, digits and _ (at most 48, not starting with a digit)"
        )))
    }
}

/// JSON text as Postgres's JSONB accepts it: JSONB cannot hold the NUL
/// character (`\u0000`), which a client can put in a message; it is
/// removed from every string (as Agno's `sanitize_postgres_strings` does).
pub(crate) fn jsonb_text(text: String) -> String {
    if !text.contains("\\u0000") {
        return text;
    }
    fn strip(value: &mut Value) {
        match value {
            Value::String(s) => s.retain(|c| c != '\0'),
            Value::Array(items) => items.iter_mut().for_each(strip),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (mut key, mut item) in old {
                    key.retain(|c| c != '\0');
                    strip(&mut item);
                    map.insert(key, item);
                }
            }
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(mut value) => {
            strip(&mut value);
            serde_json::to_string(&value).unwrap_or(text)
        }
        Err(_) => text,
    }
}

impl PostgresDb {
    /// Connects to the database at `url` (`postgresql://user@host:port/db`,
    /// or Agno's `postgresql+psycopg://...`) with default options, and
    /// creates or migrates the tables in schema `ai`.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        Self::connect_with(url, PostgresDbOptions::default()).await
    }

    /// Like [`PostgresDb::connect`], with `options`.
    pub async fn connect_with(url: &str, options: PostgresDbOptions) -> Result<Self, DbError> {
        check_schema(&options.schema)?;
        if options.max_connections == 0 {
            return Err(DbError::InvalidInput(
                "max_connections must be at least 1".into(),
            ));
        }
        let mut config = parse_url(url)?;
        let search_path = format!("-c search_path={}", options.schema);
        let merged = match config.get_options() {
            Some(given) if !given.is_empty() => format!("{given} {search_path}"),
            _ => search_path,
        };
        config.options(merged);
        if config.get_application_name().is_none() {
            config.application_name("agno-server");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let identity = format!(
            "postgres:{:?}:{:?}/{}#{}",
            config.get_hosts(),
            config.get_ports(),
            config.get_dbname().unwrap_or_default(),
            options.schema
        );
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(Duration::from_secs(5)))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| DbError::Internal(format!("postgres connection pool: {e}")))?;
        let mut client = pool.get().await?;
        let from = schema::migrate(&mut client, &options.schema).await?;
        drop(client);
        if from != PG_SCHEMA_VERSION {
            tracing::info!(store = %identity, from, to = PG_SCHEMA_VERSION, "session store schema ready");
        }
        let channel = events::channel(&options.schema);
        let (events, _) = broadcast::channel(options.events_capacity.max(1));
        let stop = CancellationToken::new();
        tokio::spawn(events::listen(
            config,
            channel.clone(),
            events.clone(),
            stop.clone(),
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                identity,
                options,
                channel,
                events,
                _listener: stop.drop_guard(),
                metrics: StoreMetrics::default(),
            }),
        })
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.inner.options.schema
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, DbError> {
        let asked = Instant::now();
        let client = self.inner.pool.get().await;
        self.inner.metrics.pool_wait(asked.elapsed());
        Ok(client?)
    }

    /// Runs `work` in one transaction, committed when it succeeds.
    async fn in_transaction<T>(
        &self,
        work: impl AsyncFnOnce(&deadpool_postgres::Transaction<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut client = self.client().await?;
        let began = Instant::now();
        let tx = client.transaction().await?;
        let value = work(&tx).await?;
        tx.commit().await?;
        self.inner.metrics.commit(1, began.elapsed());
        Ok(value)
    }
}

impl PostgresDb {
    /// Runs a job plan: one statement on a pooled connection, several in
    /// one transaction.
    async fn plan<T>(&self, plan: Plan<T>) -> Result<T, DbError> {
        match plan.steps.len() {
            0 => (plan.finish)(Vec::new()),
            1 => jobs::run(&self.client().await?, &plan).await,
            _ => {
                self.in_transaction(async |tx| jobs::run(tx, &plan).await)
                    .await
            }
        }
    }

    /// Tells every instance (this one too) at once, outside a transaction;
    /// a cancel is kept in `agno_run_cancels` too, in the same commit.
    async fn notify(&self, event: &StoreEvent) -> Result<(), DbError> {
        let payload = events::payload(event);
        let channel = &self.inner.channel;
        match event {
            StoreEvent::CancelRun(run_id) => {
                self.in_transaction(async |tx| {
                    events::keep_cancel(tx, run_id).await?;
                    tx.execute("SELECT pg_notify($1, $2)", &[channel, &payload])
                        .await?;
                    Ok(())
                })
                .await
            }
            _ => {
                self.client()
                    .await?
                    .execute("SELECT pg_notify($1, $2)", &[channel, &payload])
                    .await?;
                Ok(())
            }
        }
    }
}

impl Db for PostgresDb {
    fn identity(&self) -> Option<String> {
        Some(self.inner.identity.clone())
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn metrics(&self) -> Option<&StoreMetrics> {
        Some(&self.inner.metrics)
    }

    fn levels(&self) -> StoreLevels {
        let status = self.inner.pool.status();
        StoreLevels {
            wal_bytes: None,
            pool: Some(PoolLevels {
                size: status.size as u64,
                available: status.available as u64,
                waiting: status.waiting as u64,
                max_size: status.max_size as u64,
            }),
        }
    }
}

impl SessionStore for PostgresDb {
    fn save_run_with_jobs<'a>(
        &'a self,
        session: SessionRecord,
        run: &'a RunOutput,
        new_jobs: Vec<NewJob>,
        fence: Option<JobFence>,
    ) -> DbFuture<'a, ()> {
        Box::pin(async move {
            let row = RunRow::new(&session, run)?;
            let now = now_secs();
            let channel = &self.inner.channel;
            let queued = new_jobs.iter().any(|j| j.claimed_by.is_none());
            self.in_transaction(async |tx| {
                if let Some(fence) = &fence {
                    jobs::run(tx, &transitions::complete_fenced(fence)).await?;
                }
                sessions::save_run(tx, &session, &row, now).await?;
                jobs::run(
                    tx,
                    &transitions::insert(&new_jobs, self.inner.options.lease),
                )
                .await?;
                if queued {
                    // Delivered at commit, to every instance.
                    let payload = events::payload(&StoreEvent::JobsQueued);
                    tx.execute("SELECT pg_notify($1, $2)", &[channel, &payload])
                        .await?;
                }
                Ok(())
            })
            .await
        })
    }

    fn upsert_session(&self, session: SessionRecord) -> DbFuture<'_, ()> {
        Box::pin(async move {
            session.check_writable()?;
            sessions::upsert_session(&self.client().await?, &session).await
        })
    }

    fn get_session(&self, session_id: &str) -> DbFuture<'_, Option<SessionRecord>> {
        let session_id = session_id.to_owned();
        Box::pin(async move { sessions::get_session(&self.client().await?, &session_id).await })
    }

    fn list_sessions(&self, query: SessionQuery) -> DbFuture<'_, SessionPage> {
        Box::pin(async move {
            query.paging()?;
            query.sort_key()?;
            sessions::list_sessions(&mut self.client().await?, &query).await
        })
    }

    fn delete_sessions(
        &self,
        session_ids: Vec<String>,
        user_id: Option<&str>,
    ) -> DbFuture<'_, u64> {
        let user_id = user_id.map(str::to_owned);
        Box::pin(async move {
            self.in_transaction(async |tx| {
                // The sessions first: a run being written to one of them
                // (its session upsert locks the row) commits before the
                // copy, with its jobs, or waits until the delete is done.
                let owned =
                    sessions::lock_owned_sessions(tx, &session_ids, user_id.as_deref()).await?;
                jobs::run(tx, &transitions::keep_runs(&owned)).await?;
                sessions::delete_sessions(tx, &owned).await
            })
            .await
        })
    }

    fn rename_session(
        &self,
        session_id: &str,
        name: &str,
        user_id: Option<&str>,
    ) -> DbFuture<'_, Option<SessionRecord>> {
        let session_id = session_id.to_owned();
        let name = name.to_owned();
        let user_id = user_id.map(str::to_owned);
        Box::pin(async move {
            sessions::rename_session(
                &self.client().await?,
                &session_id,
                &name,
                user_id.as_deref(),
            )
            .await
        })
    }

    fn get_runs_range(
        &self,
        session_id: &str,
        offset: u64,
        limit: usize,
    ) -> DbFuture<'_, Vec<RunOutput>> {
        let session_id = session_id.to_owned();
        let (offset, limit) = (
            i64::try_from(offset).unwrap_or(i64::MAX),
            i64::try_from(limit).unwrap_or(i64::MAX),
        );
        Box::pin(async move {
            sessions::get_runs_page(&self.client().await?, &session_id, limit, offset).await
        })
    }

    fn get_run(&self, run_id: &str) -> DbFuture<'_, Option<RunOutput>> {
        let run_id = run_id.to_owned();
        Box::pin(async move { sessions::get_run(&self.client().await?, &run_id).await })
    }

    fn recent_runs(&self, session_id: &str, limit: usize) -> DbFuture<'_, Vec<RunOutput>> {
        let session_id = session_id.to_owned();
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            sessions::recent_runs(&self.client().await?, &session_id, limit).await
        })
    }
}

impl Notifier for PostgresDb {
    fn subscribe(&self) -> Option<broadcast::Receiver<StoreEvent>> {
        Some(self.inner.events.subscribe())
    }

    fn publish(&self, event: StoreEvent) -> DbFuture<'_, ()> {
        Box::pin(async move { self.notify(&event).await })
    }

    fn cancels_since(&self, since: Option<i64>) -> DbFuture<'_, (Vec<String>, i64)> {
        Box::pin(async move { events::cancels_since(&self.client().await?, since).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_agnos_form_are_accepted() {
        let config = parse_url("postgresql+psycopg://ai:ai@localhost:5532/ai").unwrap();
        assert_eq!(config.get_dbname(), Some("ai"));
        assert_eq!(config.get_user(), Some("ai"));
        assert!(parse_url("not a url at all ://").is_err());
    }

    #[test]
    fn schemas_are_checked() {
        for good in ["ai", "agno_test_1", "_x"] {
            check_schema(good).unwrap();
        }
        for bad in ["", "Ai", "1ai", "a-b", "a\"b", &"x".repeat(49)] {
            assert!(check_schema(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn nul_characters_are_removed_for_jsonb() {
        let text = serde_json::to_string(&serde_json::json!({"a\u{0}": ["x\u{0}y", 1]})).unwrap();
        assert_eq!(jsonb_text(text), r#"{"a":["xy",1]}"#);
        let plain = r#"{"a":"\\u0000 is text"}"#.to_owned();
        assert_eq!(jsonb_text(plain.clone()), plain);
    }
}
