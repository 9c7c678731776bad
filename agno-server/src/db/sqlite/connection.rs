//! Opening SQLite connections with the store's settings.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use crate::db::DbError;

/// Settings every connection gets: a busy timeout (another process may hold
/// the write lock for a moment), foreign keys on (so deleting a session
/// deletes its runs), `synchronous=NORMAL` (durable with WAL, fast), and
/// the query planner stability guarantee.
///
/// The last one matters for CPU: without it SQLite (built with STAT4, as
/// the bundled one is) plans some statements for the values bound to them,
/// and prepares them again at every new value: the run insert, whose
/// `max(run_index)` over `(session_id, run_index)` reads `?2`, was parsed
/// and planned anew for every run, 31 % of the server's instructions per
/// run (BENCHMARKS.md). With it a cached statement keeps its plan.
fn configure(conn: &Connection, busy_timeout: Duration) -> Result<(), DbError> {
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Opens (creating it if needed) the read-write connection the writer
/// thread owns, and switches the file to WAL mode; when the WAL starts
/// over, SQLite cuts its file back to `wal_size_limit` bytes.
pub(crate) fn open_writer(
    path: &Path,
    busy_timeout: Duration,
    wal_size_limit: i64,
) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, busy_timeout)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), mode, "SQLite refused WAL mode; using {mode}");
    }
    // Checkpoints run on their own thread (see `checkpoint.rs`), not inside
    // a commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "journal_size_limit", wal_size_limit)?;
    Ok(conn)
}

/// Opens the connection of the checkpoint thread.
pub(crate) fn open_checkpointer(
    path: &Path,
    busy_timeout: Duration,
) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, busy_timeout)?;
    Ok(conn)
}

/// Opens a read-only connection for the read pool.
pub(crate) fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, busy_timeout)?;
    Ok(conn)
}
