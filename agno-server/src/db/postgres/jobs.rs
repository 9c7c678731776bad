//! The durable job queue on Postgres: the same rows and life as on SQLite
//! ([`crate::db::JobStatus`]), made safe for several instances.
//!
//! - Claims take rows with `FOR UPDATE SKIP LOCKED`: two instances never
//!   claim one job, and neither waits for the other.
//! - A claimed job is leased: its worker renews `locked_at` (every lease
//!   / 3); a `running` job whose `locked_at` is older than the lease
//!   belongs to an instance that stopped (killed, paused, cut off), and any
//!   instance queues it again (or fails it when out of attempts).
//! - `attempt` is the fence: a claim counts it up, and every write about a
//!   running job (its outcome, a background run's result) names the
//!   attempt it holds; a worker whose job was taken over writes nothing.

use std::collections::BTreeMap;

use deadpool_postgres::GenericClient;
use serde_json::Value;
use tokio_postgres::Row;

use super::jsonb_text;
use crate::db::{
    ClaimedJob, DbError, JOBS_TABLE, JobFence, JobOutcome, JobQuery, JobRecord, JobSettlement,
    JobStats, JobStatus, NewJob,
};

/// Inserts `jobs` in the caller's transaction, in one statement; `true`
/// when one of them is queued (the other instances are told to claim).
pub(crate) async fn insert(
    client: &impl GenericClient,
    jobs: &[NewJob],
    now: i64,
) -> Result<bool, DbError> {
    if jobs.is_empty() {
        return Ok(false);
    }
    let statement = client
        .prepare_cached(
            "INSERT INTO agno_jobs (
                 id, component_type, job_type, deployment_id, component_id, session_id, user_id,
                 payload, status, attempt, max_attempts, idempotency_key, available_at,
                 locked_by, locked_at, error, created_at, updated_at, completed_at)
             SELECT id, 'agent', job_type, NULL, component_id, session_id, user_id,
                    payload::jsonb, CASE WHEN locked_by IS NULL THEN 'queued' ELSE 'running' END,
                    CASE WHEN locked_by IS NULL THEN 0 ELSE 1 END, max_attempts, idempotency_key,
                    $10::bigint, locked_by, CASE WHEN locked_by IS NULL THEN NULL ELSE $10::bigint END,
                    NULL, $10::bigint, $10::bigint, NULL
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                           $6::text[], $7::bigint[], $8::text[], $9::text[])
                    AS j(id, job_type, component_id, session_id, user_id, payload, max_attempts,
                         idempotency_key, locked_by)",
        )
        .await?;
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    let types: Vec<&str> = jobs.iter().map(|j| j.job_type).collect();
    let components: Vec<&str> = jobs.iter().map(|j| j.component_id.as_str()).collect();
    let sessions: Vec<&str> = jobs.iter().map(|j| j.session_id.as_str()).collect();
    let users: Vec<Option<&str>> = jobs.iter().map(|j| j.user_id.as_deref()).collect();
    let payloads: Vec<String> = jobs.iter().map(|j| jsonb_text(j.payload.clone())).collect();
    let max: Vec<i64> = jobs.iter().map(|j| i64::from(j.max_attempts)).collect();
    let keys: Vec<Option<&str>> = jobs.iter().map(|j| j.idempotency_key.as_deref()).collect();
    let owners: Vec<Option<&str>> = jobs.iter().map(|j| j.claimed_by.as_deref()).collect();
    client
        .execute(
            &statement,
            &[
                &ids,
                &types,
                &components,
                &sessions,
                &users,
                &payloads,
                &max,
                &keys,
                &owners,
                &now,
            ],
        )
        .await?;
    Ok(jobs.iter().any(|j| j.claimed_by.is_none()))
}

/// Completes the job `fence` holds, in the transaction that writes its
/// background run's result (one commit ends both), or refuses the write
/// ([`DbError::Fenced`]) when the job moved on. The job's row is locked
/// first, and until the caller's transaction ends: a takeover waits for
/// the write instead of racing it, and every writer of a job and its run
/// (this, [`recover`], [`settle`], [`cancel_queued_run`]) locks the job
/// before the run, so none of them deadlocks another.
pub(crate) async fn complete_fenced(
    client: &impl GenericClient,
    fence: &JobFence,
    now: i64,
) -> Result<(), DbError> {
    let statement = client
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'completed', locked_by = NULL, locked_at = NULL,
                    updated_at = $3, completed_at = $3
              WHERE id = $1 AND attempt = $2 AND status = 'running'",
        )
        .await?;
    let changed = client
        .execute(
            &statement,
            &[&fence.job_id, &i64::from(fence.attempt), &now],
        )
        .await?;
    if changed == 0 {
        return Err(DbError::Fenced {
            job_id: fence.job_id.clone(),
            attempt: fence.attempt,
        });
    }
    Ok(())
}

/// Ends the background runs `run_ids` whose jobs failed for good: a row
/// still `PENDING` or `RUNNING` says `ERROR`, and why. The caller holds
/// the transaction that failed the jobs (locked first).
async fn fail_runs(
    client: &impl GenericClient,
    run_ids: &[String],
    reason: &str,
    now: i64,
) -> Result<(), DbError> {
    if run_ids.is_empty() {
        return Ok(());
    }
    let statement = client
        .prepare_cached(
            "UPDATE agno_runs SET status = 'ERROR',
                    run_data = run_data || jsonb_build_object('status', 'ERROR', 'content', $2::text),
                    updated_at = $3
              WHERE run_id = ANY($1) AND status IN ('PENDING', 'RUNNING')
                AND jsonb_typeof(run_data) = 'object'",
        )
        .await?;
    client
        .execute(&statement, &[&run_ids, &reason, &now])
        .await?;
    Ok(())
}

/// Claims up to `limit` due, queued jobs of `components`, oldest first.
pub(crate) async fn claim(
    client: &impl GenericClient,
    owner: &str,
    components: &[String],
    limit: i64,
    now: i64,
) -> Result<Vec<ClaimedJob>, DbError> {
    let statement = client
        .prepare_cached(
            "UPDATE agno_jobs
                SET status = 'running', attempt = attempt + 1, locked_by = $1, locked_at = $2,
                    updated_at = $2
              WHERE id IN (SELECT id FROM agno_jobs
                            WHERE status = 'queued' AND available_at <= $2
                              AND component_id = ANY($3)
                            ORDER BY available_at, created_at
                            LIMIT $4
                            FOR UPDATE SKIP LOCKED)
             RETURNING id, job_type, component_id, payload::text, attempt, max_attempts",
        )
        .await?;
    let rows = client
        .query(&statement, &[&owner, &now, &components, &limit])
        .await?;
    Ok(rows
        .iter()
        .map(|row| ClaimedJob {
            id: row.get(0),
            job_type: row.get(1),
            component_id: row.get(2),
            payload: row.get(3),
            attempt: count(row, 4),
            max_attempts: count(row, 5),
        })
        .collect())
}

fn count(row: &Row, index: usize) -> u32 {
    u32::try_from(row.get::<_, i64>(index)).unwrap_or(0)
}

/// Settles attempts (fenced by attempt); returns how many rows changed.
pub(crate) async fn settle(
    client: &impl GenericClient,
    settlements: &[JobSettlement],
    now: i64,
) -> Result<usize, DbError> {
    let (ids, attempts): (Vec<&str>, Vec<i64>) = settlements
        .iter()
        .filter(|s| s.outcome == JobOutcome::Completed)
        .map(|s| (s.id.as_str(), i64::from(s.attempt)))
        .unzip();
    let mut changed = 0u64;
    if !ids.is_empty() {
        // A hook's job is deleted. A background run's job was completed by
        // its run's own final write (`complete_fenced`), in the same
        // commit: nothing is left to do for it.
        let delete = client
            .prepare_cached(
                "DELETE FROM agno_jobs AS j USING unnest($1::text[], $2::bigint[]) AS s(id, attempt)
                  WHERE j.id = s.id AND j.attempt = s.attempt AND j.status = 'running'
                    AND j.job_type = 'hook'",
            )
            .await?;
        changed += client.execute(&delete, &[&ids, &attempts]).await?;
    }
    for s in settlements {
        let attempt = i64::from(s.attempt);
        changed += match &s.outcome {
            JobOutcome::Completed => 0,
            JobOutcome::Retry { error, delay_secs } => {
                let statement = client
                    .prepare_cached(
                        "UPDATE agno_jobs SET status = 'queued', available_at = $3, error = $4,
                                locked_by = NULL, locked_at = NULL, updated_at = $5
                          WHERE id = $1 AND attempt = $2 AND status = 'running'",
                    )
                    .await?;
                let at = now + delay_secs;
                client
                    .execute(&statement, &[&s.id, &attempt, &at, error, &now])
                    .await?
            }
            JobOutcome::Failed { error } => {
                let statement = client
                    .prepare_cached(
                        "UPDATE agno_jobs SET status = 'failed', error = $3, locked_by = NULL,
                                locked_at = NULL, updated_at = $4, completed_at = $4
                          WHERE id = $1 AND attempt = $2 AND status = 'running'
                         RETURNING job_type",
                    )
                    .await?;
                let failed = client
                    .query(&statement, &[&s.id, &attempt, error, &now])
                    .await?;
                if failed.iter().any(|row| row.get::<_, &str>(0) == "run") {
                    fail_runs(client, std::slice::from_ref(&s.id), error, now).await?;
                }
                failed.len() as u64
            }
            JobOutcome::Released => {
                let statement = client
                    .prepare_cached(
                        "UPDATE agno_jobs SET status = 'queued', attempt = attempt - 1,
                                available_at = $3, locked_by = NULL, locked_at = NULL,
                                updated_at = $3
                          WHERE id = $1 AND attempt = $2 AND status = 'running'",
                    )
                    .await?;
                client.execute(&statement, &[&s.id, &attempt, &now]).await?
            }
        };
    }
    Ok(changed as usize)
}

/// Renews `owner`'s leases on `ids`; how many it still holds.
pub(crate) async fn renew(
    client: &impl GenericClient,
    owner: &str,
    ids: &[String],
    now: i64,
) -> Result<usize, DbError> {
    let statement = client
        .prepare_cached(
            "UPDATE agno_jobs SET locked_at = $3
              WHERE id = ANY($2) AND locked_by = $1 AND status = 'running'",
        )
        .await?;
    Ok(client.execute(&statement, &[&owner, &ids, &now]).await? as usize)
}

/// The running jobs of `components` whose lease ran out before `stale`
/// (their instance stopped renewing it): queued again, or failed when
/// out of attempts (a background run's row then says ERROR). Returns
/// (queued again, failed). The caller holds a transaction.
pub(crate) async fn recover(
    client: &impl GenericClient,
    components: &[String],
    stale: i64,
    now: i64,
) -> Result<(usize, usize), DbError> {
    // The jobs first, then their runs: the order every writer of both
    // takes (see `complete_fenced`).
    let failed = client
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'failed', locked_by = NULL, locked_at = NULL,
                    error = 'the instance running it stopped (its lease ran out) during attempt '
                            || attempt || ' of ' || max_attempts,
                    updated_at = $1, completed_at = $1
              WHERE status = 'running' AND locked_at < $2 AND attempt >= max_attempts
                AND component_id = ANY($3)
             RETURNING id, job_type",
        )
        .await?;
    let failed = client.query(&failed, &[&now, &stale, &components]).await?;
    let runs: Vec<String> = failed
        .iter()
        .filter(|row| row.get::<_, &str>(1) == "run")
        .map(|row| row.get(0))
        .collect();
    fail_runs(
        client,
        &runs,
        "the instance running it stopped; it is not run again (max_attempts)",
        now,
    )
    .await?;
    let queued = client
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'queued', locked_by = NULL, locked_at = NULL,
                    available_at = $1, updated_at = $1
              WHERE status = 'running' AND locked_at < $2 AND component_id = ANY($3)",
        )
        .await?;
    let queued = client
        .execute(&queued, &[&now, &stale, &components])
        .await?;
    Ok((queued as usize, failed.len()))
}

const COLUMNS: &str = "id, component_type, job_type, component_id, session_id, user_id, \
     payload::text, status, attempt, max_attempts, available_at, locked_by, locked_at, error, \
     created_at, updated_at, completed_at, idempotency_key";

fn record(row: &Row, with_payload: bool) -> Result<JobRecord, DbError> {
    let id: String = row.get(0);
    let payload = if with_payload {
        let text: String = row.get(6);
        serde_json::from_str(&text).map_err(|e| DbError::corrupt(JOBS_TABLE, &id, "payload", e))?
    } else {
        Value::Object(Default::default())
    };
    let status: String = row.get(7);
    Ok(JobRecord {
        id,
        component_type: row.get(1),
        job_type: row.get(2),
        component_id: row.get(3),
        session_id: row.get(4),
        user_id: row.get(5),
        payload,
        status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
        attempt: count(row, 8),
        max_attempts: count(row, 9),
        available_at: row.get(10),
        locked_by: row.get(11),
        locked_at: row.get(12),
        error: row.get(13),
        created_at: row.get(14),
        updated_at: row.get(15),
        completed_at: row.get(16),
        idempotency_key: row.get(17),
    })
}

/// One job with its payload.
pub(crate) async fn get(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<JobRecord>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM agno_jobs WHERE id = $1");
    let row = client
        .query_opt(&client.prepare_cached(&sql).await?, &[&id])
        .await?;
    row.map(|row| record(&row, true)).transpose()
}

/// A page of the jobs `query` asks for (without payloads), and how many
/// match in all.
pub(crate) async fn list(
    client: &impl GenericClient,
    query: &JobQuery,
) -> Result<(Vec<JobRecord>, u64), DbError> {
    let (limit, offset) = crate::db::records::page_offset(query.limit, query.page)?;
    let statuses: Option<Vec<&str>> =
        (!query.statuses.is_empty()).then(|| query.statuses.iter().map(|s| s.as_str()).collect());
    let sessions = (!query.session_ids.is_empty()).then_some(&query.session_ids);
    const WHERE: &str = "($1::text[] IS NULL OR status = ANY($1))
           AND ($2::text[] IS NULL OR session_id = ANY($2))
           AND ($3::text IS NULL OR user_id = $3)";
    let total: i64 = client
        .query_one(
            &client
                .prepare_cached(&format!("SELECT count(*) FROM agno_jobs WHERE {WHERE}"))
                .await?,
            &[&statuses, &sessions, &query.user_id],
        )
        .await?
        .get(0);
    let (key, order) = (query.sort_by.sql(), query.sort_order.sql());
    let sql = format!(
        "SELECT {COLUMNS} FROM agno_jobs WHERE {WHERE}
         ORDER BY {key} {order} NULLS LAST, id {order} LIMIT $4 OFFSET $5"
    );
    let rows = client
        .query(
            &client.prepare_cached(&sql).await?,
            &[&statuses, &sessions, &query.user_id, &limit, &offset],
        )
        .await?;
    let jobs = rows
        .iter()
        .map(|row| record(row, false))
        .collect::<Result<_, _>>()?;
    Ok((jobs, u64::try_from(total).unwrap_or(0)))
}

/// Counts by status and the oldest queued job's age.
pub(crate) async fn stats(client: &impl GenericClient, now: i64) -> Result<JobStats, DbError> {
    let mut counts: BTreeMap<&'static str, u64> =
        JobStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let rows = client
        .query(
            &client
                .prepare_cached("SELECT status, count(*) FROM agno_jobs GROUP BY status")
                .await?,
            &[],
        )
        .await?;
    for row in rows {
        let status: String = row.get(0);
        if let Some(status) = JobStatus::parse(&status) {
            counts.insert(
                status.as_str(),
                u64::try_from(row.get::<_, i64>(1)).unwrap_or(0),
            );
        }
    }
    let oldest: Option<i64> = client
        .query_one(
            &client
                .prepare_cached("SELECT min(created_at) FROM agno_jobs WHERE status = 'queued'")
                .await?,
            &[],
        )
        .await?
        .get(0);
    Ok(JobStats {
        counts,
        oldest_queued_age_seconds: oldest.map(|t| (now - t).max(0)),
    })
}

/// Before the sessions `session_ids` are deleted: the durable hooks' jobs
/// still to run or requeue whose payload refers to its run as stored get
/// a copy of the run (see the SQLite store's `copy_runs_into_jobs`). The
/// caller holds the delete's transaction; the jobs are locked before the
/// runs, as by every writer of both.
pub(crate) async fn copy_runs_into_jobs(
    client: &impl GenericClient,
    session_ids: &[String],
) -> Result<usize, DbError> {
    let select = client
        .prepare_cached(
            "SELECT j.id, j.payload::text, r.run_id, r.run_data::text FROM agno_jobs AS j
               JOIN agno_runs AS r ON r.run_id = j.payload->>'run_id'
              WHERE j.job_type = 'hook' AND j.status IN ('queued', 'running', 'failed')
                AND j.session_id = ANY($1)
                AND (coalesce((j.payload->>'input_is_run')::boolean, false)
                     OR coalesce((j.payload->>'output_is_run')::boolean, false))
                FOR UPDATE OF j",
        )
        .await?;
    let found = client.query(&select, &[&session_ids]).await?;
    let update = client
        .prepare_cached("UPDATE agno_jobs SET payload = $2::text::jsonb WHERE id = $1")
        .await?;
    for row in &found {
        let id: &str = row.get(0);
        let run_id: String = row.get(2);
        let data: String = row.get(3);
        let run = serde_json::from_str(&data)
            .map_err(|e| DbError::corrupt(crate::db::RUNS_TABLE, run_id, "run_data", e))?;
        let payload = crate::jobs::copy_run_in(row.get(1), run)
            .map_err(|e| DbError::corrupt(JOBS_TABLE, id, "payload", e))?;
        client
            .execute(&update, &[&id, &super::jsonb_text(payload)])
            .await?;
    }
    Ok(found.len())
}

/// The job a client's `Idempotency-Key` (for `user_id`) made.
pub(crate) async fn by_key(
    client: &impl GenericClient,
    key: &str,
    user_id: Option<&str>,
) -> Result<Option<JobRecord>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM agno_jobs
          WHERE idempotency_key = $1 AND user_id IS NOT DISTINCT FROM $2"
    );
    let row = client
        .query_opt(&client.prepare_cached(&sql).await?, &[&key, &user_id])
        .await?;
    row.map(|row| record(&row, false)).transpose()
}

/// How many background runs wait in the queue.
pub(crate) async fn queued_runs(client: &impl GenericClient) -> Result<u64, DbError> {
    let n: i64 = client
        .query_one(
            &client
                .prepare_cached(
                    "SELECT count(*) FROM agno_jobs WHERE status = 'queued' AND job_type = 'run'",
                )
                .await?,
            &[],
        )
        .await?
        .get(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Cancels a queued background run (job and row); `false` when it was not
/// queued. The caller holds a transaction.
pub(crate) async fn cancel_queued_run(
    client: &impl GenericClient,
    run_id: &str,
    now: i64,
) -> Result<bool, DbError> {
    let job = client
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'cancelled', updated_at = $2, completed_at = $2
              WHERE id = $1 AND job_type = 'run' AND status = 'queued'",
        )
        .await?;
    if client.execute(&job, &[&run_id, &now]).await? == 0 {
        return Ok(false);
    }
    let run = client
        .prepare_cached(
            "UPDATE agno_runs SET status = 'CANCELLED',
                    run_data = run_data || jsonb_build_object('status', 'CANCELLED', 'content',
                                                              'Run ' || run_id || ' was cancelled'),
                    updated_at = $2
              WHERE run_id = $1 AND jsonb_typeof(run_data) = 'object'",
        )
        .await?;
    client.execute(&run, &[&run_id, &now]).await?;
    Ok(true)
}

/// Deletes finished background runs' jobs older than `before`.
pub(crate) async fn prune(client: &impl GenericClient, before: i64) -> Result<usize, DbError> {
    let statement = client
        .prepare_cached(
            "DELETE FROM agno_jobs WHERE status IN ('completed', 'cancelled')
                AND completed_at < $1",
        )
        .await?;
    Ok(client.execute(&statement, &[&before]).await? as usize)
}

/// Queues a failed or cancelled job again for one more attempt (the
/// attempt count, the fence, kept).
pub(crate) async fn requeue(
    client: &impl GenericClient,
    id: &str,
    now: i64,
) -> Result<Option<bool>, DbError> {
    let statement = client
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'queued', max_attempts = attempt + 1, available_at = $2,
                    locked_by = NULL, locked_at = NULL, completed_at = NULL, updated_at = $2
              WHERE id = $1 AND status IN ('failed', 'cancelled')",
        )
        .await?;
    if client.execute(&statement, &[&id, &now]).await? > 0 {
        return Ok(Some(true));
    }
    let exists = client
        .query_opt(
            &client
                .prepare_cached("SELECT 1 FROM agno_jobs WHERE id = $1")
                .await?,
            &[&id],
        )
        .await?;
    Ok(exists.map(|_| false))
}
