//! The errors of the session store.

/// What can go wrong when reading or writing sessions and runs.
///
/// Every failure of the store is one of these; the store never panics on bad
/// input or on a damaged file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// A list query asked for something the store cannot do (an unknown
    /// `sort_by`, `limit = 0`, `page = 0`, ...). Callers usually answer 4xx.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A write was given inconsistent data (say, a run whose `session_id`
    /// names another session than the one it is saved under).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(DriverError),
    /// PostgreSQL reported an error.
    #[error("postgres: {0}")]
    Postgres(DriverError),
    /// The database cannot be reached now: its server is down or
    /// restarting, a connection was cut, or none could be had from the
    /// pool in time. Nothing was written; the same call may succeed in a
    /// moment (the server answers 503 with `Retry-After`).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Two writers met (a deadlock, a serialization failure): nothing was
    /// written, and the same call may succeed when tried again (the
    /// server answers 503 with `Retry-After`).
    #[error("the store met a concurrent write: {0}; nothing was written, try again")]
    Conflict(String),
    /// A write by a worker whose job was taken over by another (its lease
    /// expired, or the job was cancelled or settled): nothing was written.
    #[error("job {job_id} is no longer held at attempt {attempt}: the write was refused")]
    Fenced {
        /// The job.
        job_id: String,
        /// The attempt the writer held.
        attempt: u32,
    },
    /// A run's write would make its session's state larger than the
    /// ceiling it was given ([`SessionRecord::max_state_bytes`](super::SessionRecord::max_state_bytes),
    /// an agent's `max_session_state_bytes`): nothing was written.
    #[error(
        "session_state of session '{session_id}' would be {bytes} bytes; at most {limit} are kept"
    )]
    StateTooLarge {
        /// The session.
        session_id: String,
        /// Its size with the run's changes, as JSON.
        bytes: usize,
        /// The ceiling.
        limit: usize,
    },
    /// A write names a session another user owns (its stored `user_id` is
    /// set and is not the writer's): nothing was written. The owner of a
    /// session never changes once set; a session without one is shared
    /// until a user's run writes into it. The server answers it as Agno
    /// does, 404 `Session not found` (it does not say whose it is).
    #[error("session '{session_id}' belongs to another user")]
    NotOwner {
        /// The session.
        session_id: String,
    },
    /// Another process (or another `SqliteDb` of this one) has the SQLite
    /// file open: one process owns a SQLite store, whose jobs it takes for
    /// a dead process's when it starts. Several instances share a Postgres
    /// database instead.
    #[error(
        "the SQLite store {path} is in use by another process (it holds {lock}): one process per SQLite file; to run several instances, share a Postgres database (DATABASE_URL=postgresql://...)"
    )]
    InUse {
        /// The database file.
        path: String,
        /// The lock file held.
        lock: String,
    },
    /// The file system reported an error (creating the database's folder).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A value could not be turned into JSON.
    #[error("json: {0}")]
    Serde(#[from] serde_json::Error),
    /// A stored row holds a value that cannot be read back (a JSON column
    /// that does not parse, an unknown session type, ...).
    #[error("corrupt row in {table} ({key}), column {column}: {reason}")]
    Corrupt {
        /// The table (`agno_sessions` or `agno_runs`).
        table: &'static str,
        /// The row's primary key (`session_id` or `run_id`).
        key: String,
        /// The column that could not be read.
        column: &'static str,
        /// Why it could not be read.
        reason: String,
    },
    /// The file was written by a newer version of this store: its schema
    /// version (`PRAGMA user_version`) is above the one this build knows.
    #[error("database schema version {found} is newer than the supported version {supported}")]
    UnsupportedSchemaVersion {
        /// The file's `user_version`.
        found: i64,
        /// The newest version this build can read and write.
        supported: i64,
    },
    /// The store has shut down (its writer thread is gone).
    #[error("the session store is closed")]
    Closed,
    /// A background task of the store failed unexpectedly.
    #[error("internal error in the session store: {0}")]
    Internal(String),
}

/// A database driver's error, kept whole (its message and its source)
/// without making the driver's type part of this crate's API.
#[derive(Debug)]
pub struct DriverError(Box<dyn std::error::Error + Send + Sync>);

impl DriverError {
    /// The driver's error, if it is an `E` (`rusqlite::Error`,
    /// `tokio_postgres::Error`), for a caller that depends on the driver
    /// and wants its details.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref()
    }
}

/// The error and its causes (`db error: ERROR: deadlock detected ...`):
/// a driver's own message is often only its kind.
impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl std::error::Error for DriverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> Self {
        DbError::Sqlite(DriverError(Box::new(error)))
    }
}

impl From<tokio_postgres::Error> for DbError {
    /// A lost or refused connection, or a server shutting down or starting
    /// (SQLSTATE class 08, 57P01..57P03), is [`DbError::Unavailable`]; a
    /// deadlock or serialization failure (40P01, 40001, 55P03) is
    /// [`DbError::Conflict`]; the rest is [`DbError::Postgres`].
    fn from(error: tokio_postgres::Error) -> Self {
        let unavailable = match error.code() {
            Some(code) => {
                let code = code.code();
                code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
            }
            None => error.is_closed() || is_io(&error),
        };
        let conflict = error
            .code()
            .is_some_and(|code| matches!(code.code(), "40P01" | "40001" | "55P03"));
        if unavailable {
            DbError::Unavailable(DriverError(Box::new(error)).to_string())
        } else if conflict {
            DbError::Conflict(DriverError(Box::new(error)).to_string())
        } else {
            DbError::Postgres(DriverError(Box::new(error)))
        }
    }
}

/// Whether a driver error came from the connection itself (I/O).
fn is_io(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = error.source();
    while let Some(e) = cause {
        if e.is::<std::io::Error>() {
            return true;
        }
        cause = e.source();
    }
    false
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(error) => error.into(),
            other => DbError::Unavailable(format!("postgres connection pool: {other}")),
        }
    }
}

impl DbError {
    /// A [`DbError::Corrupt`] for `table`/`key`/`column`.
    pub(crate) fn corrupt(
        table: &'static str,
        key: impl Into<String>,
        column: &'static str,
        reason: impl std::fmt::Display,
    ) -> Self {
        DbError::Corrupt {
            table,
            key: key.into(),
            column,
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_that_cannot_be_reached_is_unavailable() {
        // Nothing listens on port 1: the connection is refused.
        let refused = tokio_postgres::connect(
            "host=127.0.0.1 port=1 user=x connect_timeout=2",
            tokio_postgres::NoTls,
        )
        .await
        .err()
        .expect("nothing listens on port 1");
        assert!(matches!(DbError::from(refused), DbError::Unavailable(_)));
    }
}
