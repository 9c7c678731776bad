//! The stores the store tests run on: a SQLite file in a temporary folder,
//! and a schema of its own on the Postgres server named by
//! `AGNO_TEST_POSTGRES_URL` (default: the local server, trust auth),
//! dropped when the test ends, so tests run in parallel and leave nothing.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use agno_server::db::{Db, PostgresDb, PostgresDbOptions, SqliteDb};
use tempfile::TempDir;

/// The server the Postgres tests use unless `AGNO_TEST_POSTGRES_URL` names
/// another.
pub const DEFAULT_POSTGRES_URL: &str = "postgresql://postgres@127.0.0.1:5432/postgres";

/// The Postgres tests' server.
pub fn postgres_url() -> String {
    std::env::var("AGNO_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A store for one test, and what must outlive it.
pub struct Store {
    /// The store.
    pub db: Arc<dyn Db>,
    /// The SQLite file's folder.
    pub dir: Option<TempDir>,
    /// The Postgres schema, dropped with this value.
    pub schema: Option<Schema>,
}

/// A Postgres schema of one test: dropped (with its tables) on drop.
pub struct Schema {
    /// Its name.
    pub name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let name = self.name.clone();
        // A thread of its own: a drop can happen on a runtime's thread
        // (which must not block) or during a panic.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// A fresh SQLite store.
pub fn sqlite() -> Store {
    let dir = TempDir::new().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    Store {
        db: Arc::new(db),
        dir: Some(dir),
        schema: None,
    }
}

/// A new, unique schema name.
pub fn schema_name() -> Schema {
    Schema {
        name: format!("agno_test_{}", uuid::Uuid::new_v4().simple()),
    }
}

/// A store on a fresh schema of the test server; fails the test, saying
/// how to get a server, when none answers.
pub async fn postgres() -> Store {
    let schema = schema_name();
    let db = postgres_on(&schema, Duration::from_secs(30)).await;
    Store {
        db: Arc::new(db),
        dir: None,
        schema: Some(schema),
    }
}

/// Another handle (another "instance") on `schema`, with `lease`.
pub async fn postgres_on(schema: &Schema, lease: Duration) -> PostgresDb {
    let url = postgres_url();
    let options = PostgresDbOptions {
        schema: schema.name.clone(),
        max_connections: 8,
        lease,
        ..PostgresDbOptions::default()
    };
    match PostgresDb::connect_with(&url, options).await {
        Ok(db) => db,
        Err(error) => panic!(
            "no Postgres server answers at {url}: {error}\n\
             The Postgres tests need one: start the local one \
             (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), \
             or run one with `docker run -e POSTGRES_HOST_AUTH_METHOD=trust -p 5432:5432 postgres:15`, \
             or point AGNO_TEST_POSTGRES_URL at a server where you may create schemas."
        ),
    }
}

/// A raw connection to the test server, for checks the `Db` API does not
/// offer; its `search_path` is `schema`.
pub async fn raw(schema: &Schema) -> tokio_postgres::Client {
    let url = postgres_url();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("SET search_path TO \"{}\"", schema.name))
        .await
        .unwrap();
    client
}
