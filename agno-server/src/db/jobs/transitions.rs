//! Every move of a job through its life, named once: its guards, its
//! statements (portable SQL, [`super::sql`]) and how their outputs make
//! its answer. Each function returns the [`Plan`] a store runs in one
//! transaction; a guard that needs no store (nothing to claim, nothing
//! to settle) is an empty plan.
//!
//! Lock order on Postgres: every transition that writes a job and its run
//! locks the job first (its statement on `agno_jobs` comes first), and one
//! that writes several jobs locks them in the order of their ids first
//! (recovery skips the rows another transaction holds), so no two of them
//! deadlock each other.

use std::time::Duration;

use super::sql::{Arg, Cell, Col, Output, Plan, Statement, Step};
use super::{ClaimedJob, JobFence, JobOutcome, JobQuery, JobSettlement, JobType, NewJob};
use crate::db::DbError;

/// Whether a store is shared by several instances, and so how it tells
/// that a job's instance stopped (see the `{abandoned}` form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Abandoned {
    /// The asking process's worker id (SQLite: every other owner is gone).
    pub(crate) owner: String,
    /// How long a lease lasts unrenewed (Postgres).
    pub(crate) lease: Duration,
    /// The attempts the asking instance runs now: never taken over by it.
    pub(crate) held: Vec<(String, u32)>,
}

impl Abandoned {
    fn args(&self) -> Vec<(&'static str, Arg)> {
        let (ids, attempts) = pairs(&self.held);
        vec![
            ("owner", Arg::from(self.owner.as_str())),
            ("lease_ms", Arg::from(millis(self.lease))),
            ("held_ids", ids),
            ("held_attempts", attempts),
        ]
    }
}

/// The longest duration a statement is given (a century): `{now} - d`
/// never leaves the column's range.
const LONGEST: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

fn millis(d: Duration) -> i64 {
    d.min(LONGEST).as_millis() as i64
}

fn secs(d: Duration) -> i64 {
    d.min(LONGEST).as_secs() as i64
}

fn pairs(held: &[(String, u32)]) -> (Arg, Arg) {
    let ids: Vec<String> = held.iter().map(|(id, _)| id.clone()).collect();
    let attempts: Vec<i64> = held.iter().map(|(_, a)| i64::from(*a)).collect();
    (Arg::from(ids), Arg::from(attempts))
}

fn total(outputs: Vec<Output>) -> Result<usize, DbError> {
    Ok(outputs.iter().map(Output::count).sum::<u64>() as usize)
}

fn nothing(_: Vec<Output>) -> Result<(), DbError> {
    Ok(())
}

// ---------------------------------------------------------------- insert

static INSERT_QUEUED: Statement = Statement::new(
    "INSERT INTO agno_jobs (
         id, component_type, job_type, deployment_id, component_id, session_id, user_id,
         payload, status, attempt, max_attempts, idempotency_key, available_at,
         locked_by, locked_at, error, created_at, updated_at, completed_at,
         hook_name, run_id)
     VALUES (:id, 'agent', :job_type, NULL, :component_id, :session_id, :user_id,
             {json :payload}, 'queued', 0, :max_attempts, :key, {now},
             NULL, NULL, NULL, {now}, {now}, NULL, :hook_name, :run_id)",
);

static INSERT_CLAIMED: Statement = Statement::new(
    "INSERT INTO agno_jobs (
         id, component_type, job_type, deployment_id, component_id, session_id, user_id,
         payload, status, attempt, max_attempts, idempotency_key, available_at,
         locked_by, locked_at, error, created_at, updated_at, completed_at,
         hook_name, run_id, lease_until)
     VALUES (:id, 'agent', :job_type, NULL, :component_id, :session_id, :user_id,
             {json :payload}, 'running', 1, :max_attempts, :key, {now},
             :owner, {now}, NULL, {now}, {now}, NULL, :hook_name, :run_id, {lease_until})",
);

/// Inserts `jobs` (in the transaction of the run they belong to): a job
/// with [`NewJob::claimed_by`] is `running` at attempt 1, held by its
/// owner, who starts it once the transaction commits; the others are
/// `queued`.
pub(crate) fn insert(jobs: &[NewJob], lease: Duration) -> Plan<()> {
    let steps = jobs
        .iter()
        .map(|job| {
            let mut args = vec![
                ("id", Arg::from(job.id.as_str())),
                ("job_type", Arg::from(job.job_type.as_str())),
                ("component_id", Arg::from(job.component_id.as_str())),
                ("session_id", Arg::from(job.session_id.as_str())),
                ("user_id", Arg::from(job.user_id.as_deref())),
                ("payload", Arg::from(job.payload.as_str())),
                ("max_attempts", Arg::from(job.max_attempts.max(1))),
                ("key", Arg::from(job.idempotency_key.as_deref())),
                ("hook_name", Arg::from(job.hook_name.as_deref())),
                ("run_id", Arg::from(job.run_id.as_deref())),
            ];
            match &job.claimed_by {
                Some(owner) => {
                    args.push(("owner", Arg::from(owner.as_str())));
                    args.push(("lease_ms", Arg::from(millis(lease))));
                    Step::count(&INSERT_CLAIMED, args)
                }
                None => Step::count(&INSERT_QUEUED, args),
            }
        })
        .collect();
    Plan::new(steps, nothing)
}

// ---------------------------------------------------------------- claim

/// The columns a claim reads back.
const CLAIMED: &[Col] = &[
    Col::Text,
    Col::Text,
    Col::Text,
    Col::Text,
    Col::Int,
    Col::Int,
    Col::Text,
    Col::Text,
];

static CLAIM: Statement = Statement::new(
    "UPDATE agno_jobs
        SET status = 'running', attempt = attempt + 1, locked_by = :owner, locked_at = {now},
            lease_until = {lease_until}, updated_at = {now}
      WHERE id IN (SELECT id FROM agno_jobs
                    WHERE status = 'queued' AND available_at <= {now}
                      AND component_id {in :components}
                      AND (job_type <> 'hook' OR hook_name IS NULL OR hook_name {in :hooks})
                    ORDER BY available_at, created_at
                    LIMIT :limit
                    {skip_locked})
     RETURNING id, job_type, component_id, {text payload}, attempt, max_attempts, run_id,
               {text run_data}",
);

/// Claims up to `limit` due, queued jobs of the agents `components` for
/// `owner`, oldest first: each becomes `running`, its attempt counted.
/// A hook's job is claimed only by a worker that has its hook (`hooks`,
/// registry names): in a rolling deploy, the instance with the hook runs
/// it.
pub(crate) fn claim(
    owner: &str,
    components: &[String],
    hooks: &[String],
    limit: usize,
    lease: Duration,
) -> Plan<Vec<ClaimedJob>> {
    if components.is_empty() || limit == 0 {
        return Plan::new(Vec::new(), |_| Ok(Vec::new()));
    }
    let step = Step::rows(
        &CLAIM,
        vec![
            ("owner", Arg::from(owner)),
            ("components", Arg::from(components.to_vec())),
            ("hooks", Arg::from(hooks.to_vec())),
            ("limit", Arg::from(i64::try_from(limit).unwrap_or(i64::MAX))),
            ("lease_ms", Arg::from(millis(lease))),
        ],
        CLAIMED,
    );
    Plan::new(vec![step], |outputs| {
        outputs
            .into_iter()
            .flat_map(Output::rows)
            .map(|row| claimed(&row))
            .collect()
    })
}

fn count(cell: &Cell) -> u32 {
    cell.int().and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

fn claimed(row: &[Cell]) -> Result<ClaimedJob, DbError> {
    let id = row[0].text().unwrap_or_default();
    let job_type = row[1].text().unwrap_or_default();
    let job_type = JobType::parse(&job_type).ok_or_else(|| {
        DbError::corrupt(super::JOBS_TABLE, &id, "job_type", format!("{job_type:?}"))
    })?;
    Ok(ClaimedJob {
        job_type,
        component_id: row[2].text().unwrap_or_default(),
        payload: row[3].text().unwrap_or_default(),
        attempt: count(&row[4]),
        max_attempts: count(&row[5]),
        run_id: row[6].text(),
        run: row[7].text(),
        id,
    })
}

// ---------------------------------------------------------------- settle

static COMPLETE_HOOKS: Statement = Statement::new(
    "DELETE FROM agno_jobs
      WHERE {pairs :ids :attempts} AND status = 'running' AND job_type = 'hook'",
);

static RETRY: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'queued', available_at = {now} + :delay, error = :error,
            locked_by = NULL, locked_at = NULL, updated_at = {now}
      WHERE id = :id AND attempt = :attempt AND status = 'running'",
);

static FAIL: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'failed', error = :error, locked_by = NULL,
            locked_at = NULL, updated_at = {now}, completed_at = {now}
      WHERE id = :id AND attempt = :attempt AND status = 'running'",
);

static RELEASE: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'queued', attempt = attempt - 1, available_at = {now},
            locked_by = NULL, locked_at = NULL, updated_at = {now}
      WHERE id = :id AND attempt = :attempt AND status = 'running'",
);

/// A background run whose job failed for good ends visibly: its row,
/// still PENDING or RUNNING, says ERROR and why (the job's error). For
/// the run jobs of `ids`, or (`ids` NULL) of every run job of
/// `components` failed from this moment on (this transaction's).
static END_FAILED_RUNS: Statement = Statement::new(
    "UPDATE agno_runs SET status = 'ERROR',
            run_data = {set run_data; status = 'ERROR'; content = (SELECT error FROM agno_jobs WHERE agno_jobs.id = agno_runs.run_id)},
            updated_at = {now}
      WHERE run_id IN (SELECT id FROM agno_jobs
                        WHERE job_type = 'run' AND status = 'failed'
                          AND {opt_in id :ids} AND {opt_in component_id :components}
                          AND completed_at >= {now})
        AND status IN ('PENDING', 'RUNNING') AND {object run_data}",
);

/// Locks the rows of the jobs settled together in the order of their ids
/// (Postgres; one writer owns a SQLite file), before any of them changes.
static LOCK_IN_ORDER: Statement = Statement::new(
    "SELECT id FROM agno_jobs WHERE {pairs :ids :attempts} ORDER BY id {for_update}",
);

/// Records how attempts ended; answers how many jobs changed (an attempt
/// that is no longer its job's current one changes nothing: fenced).
///
/// - [`JobOutcome::Completed`]: a hook's job is deleted (a background
///   run's job was completed by its run's own write, [`complete_fenced`]);
/// - [`JobOutcome::Retry`]: queued again, due after its delay;
/// - [`JobOutcome::Failed`]: failed for good (a background run's row then
///   says ERROR);
/// - [`JobOutcome::Released`]: queued again at once, the attempt not
///   counted (cut by a shutdown).
pub(crate) fn settle(settlements: &[JobSettlement]) -> Plan<usize> {
    let mut steps = Vec::new();
    if settlements.len() > 1 {
        let every: Vec<(String, u32)> = settlements
            .iter()
            .map(|s| (s.id.clone(), s.attempt))
            .collect();
        let (ids, attempts) = pairs(&every);
        steps.push(Step::lock(
            &LOCK_IN_ORDER,
            vec![("ids", ids), ("attempts", attempts)],
        ));
    }
    let done: Vec<(String, u32)> = settlements
        .iter()
        .filter(|s| s.outcome == JobOutcome::Completed)
        .map(|s| (s.id.clone(), s.attempt))
        .collect();
    if !done.is_empty() {
        let (ids, attempts) = pairs(&done);
        steps.push(Step::count(
            &COMPLETE_HOOKS,
            vec![("ids", ids), ("attempts", attempts)],
        ));
    }
    let mut failed = Vec::new();
    for s in settlements {
        let fence = || {
            vec![
                ("id", Arg::from(s.id.as_str())),
                ("attempt", Arg::from(s.attempt)),
            ]
        };
        match &s.outcome {
            JobOutcome::Completed => {}
            JobOutcome::Retry { error, delay_secs } => {
                let mut args = fence();
                args.push(("error", Arg::from(error.as_str())));
                args.push(("delay", Arg::from((*delay_secs).max(0))));
                steps.push(Step::count(&RETRY, args));
            }
            JobOutcome::Failed { error } => {
                let mut args = fence();
                args.push(("error", Arg::from(error.as_str())));
                steps.push(Step::count(&FAIL, args));
                failed.push(s.id.clone());
            }
            JobOutcome::Released => steps.push(Step::count(&RELEASE, fence())),
        }
    }
    if !failed.is_empty() {
        steps.push(Step::discard(
            &END_FAILED_RUNS,
            vec![("ids", Arg::from(failed)), ("components", Arg::Texts(None))],
        ));
    }
    Plan::new(steps, total)
}

static COMPLETE_FENCED: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'completed', locked_by = NULL, locked_at = NULL,
            updated_at = {now}, completed_at = {now}
      WHERE id = :id AND attempt = :attempt AND status = 'running'",
);

/// Completes the job `fence` holds, in the transaction that writes its
/// background run's result, so the run's end and its job's end are one
/// commit (a crash between the two cannot leave a finished run whose job
/// looks abandoned). Refuses the write ([`DbError::Fenced`]) when the job
/// moved on: taken over by another worker, cancelled, settled. First in
/// its transaction: the job is locked before its run.
pub(crate) fn complete_fenced(fence: &JobFence) -> Plan<()> {
    let step = Step::count(
        &COMPLETE_FENCED,
        vec![
            ("id", Arg::from(fence.job_id.as_str())),
            ("attempt", Arg::from(fence.attempt)),
        ],
    );
    let (job_id, attempt) = (fence.job_id.clone(), fence.attempt);
    Plan::new(vec![step], move |outputs| {
        if outputs.iter().map(Output::count).sum::<u64>() == 0 {
            return Err(DbError::Fenced {
                job_id: job_id.clone(),
                attempt,
            });
        }
        Ok(())
    })
}

// ---------------------------------------------------------------- leases

static RENEW: Statement = Statement::new(
    "UPDATE agno_jobs SET locked_at = {now}, lease_until = {lease_until}
      WHERE id IN (SELECT id FROM agno_jobs
                    WHERE {pairs :ids :attempts} AND locked_by = :owner AND status = 'running'
                    ORDER BY id {for_update})",
);

/// Renews `owner`'s leases on the attempts `held` (job id, attempt);
/// answers how many it still holds (an attempt taken over is no longer
/// `owner`'s, nor its job at that attempt).
pub(crate) fn renew(owner: &str, held: &[(String, u32)], lease: Duration) -> Plan<usize> {
    if held.is_empty() {
        return Plan::new(Vec::new(), |_| Ok(0));
    }
    let (ids, attempts) = pairs(held);
    let step = Step::count(
        &RENEW,
        vec![
            ("ids", ids),
            ("attempts", attempts),
            ("owner", Arg::from(owner)),
            ("lease_ms", Arg::from(millis(lease))),
        ],
    );
    Plan::new(vec![step], total)
}

static FAIL_ABANDONED: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'failed', locked_by = NULL, locked_at = NULL,
            error = :why || CAST(attempt AS text) || ' of ' || CAST(max_attempts AS text),
            updated_at = {now}, completed_at = {now}
      WHERE id IN (SELECT id FROM agno_jobs
                    WHERE status = 'running' AND {abandoned} AND attempt >= max_attempts
                      AND component_id {in :components}
                    ORDER BY id {skip_locked})",
);

static REQUEUE_ABANDONED: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'queued', locked_by = NULL, locked_at = NULL,
            available_at = {now}, updated_at = {now}
      WHERE id IN (SELECT id FROM agno_jobs
                    WHERE status = 'running' AND {abandoned} AND component_id {in :components}
                    ORDER BY id {skip_locked})",
);

/// The `running` jobs of `components` whose instance stopped
/// ([`Abandoned`]) are queued again, or failed when out of attempts (a
/// background run's row then says ERROR). Answers (queued again, failed).
pub(crate) fn recover(
    components: &[String],
    abandoned: &Abandoned,
    why: &str,
) -> Plan<(usize, usize)> {
    if components.is_empty() {
        return Plan::new(Vec::new(), |_| Ok((0, 0)));
    }
    let mut fail = abandoned.args();
    fail.push(("components", Arg::from(components.to_vec())));
    let requeue = fail.clone();
    fail.push(("why", Arg::from(why)));
    let steps = vec![
        Step::count(&FAIL_ABANDONED, fail),
        Step::discard(
            &END_FAILED_RUNS,
            vec![
                ("ids", Arg::Texts(None)),
                ("components", Arg::from(components.to_vec())),
            ],
        ),
        Step::count(&REQUEUE_ABANDONED, requeue),
    ];
    Plan::new(steps, |outputs| {
        Ok((outputs[2].count() as usize, outputs[0].count() as usize))
    })
}

// ---------------------------------------------------------------- by hand

static REQUEUE: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'queued', max_attempts = attempt + 1, available_at = {now},
            locked_by = NULL, locked_at = NULL, completed_at = NULL, updated_at = {now}
      WHERE id = :id AND status IN ('failed', 'cancelled')",
);

static EXISTS: Statement = Statement::new("SELECT 1 FROM agno_jobs WHERE id = :id");

/// Puts a failed or cancelled job back in the queue for one more attempt
/// (as Agno: `max_attempts` becomes `attempt + 1`). The attempt count is
/// kept, not reset: it is the fence, and a worker still holding an old
/// attempt must never match a new one. `None` when there is no such job,
/// `Some(false)` when it is in another state.
pub(crate) fn requeue(id: &str) -> Plan<Option<bool>> {
    let args = vec![("id", Arg::from(id))];
    let steps = vec![
        Step::count(&REQUEUE, args.clone()),
        Step::rows(&EXISTS, args, &[Col::Int]),
    ];
    Plan::new(steps, |outputs| {
        Ok(match (outputs[0].count(), outputs[1].count()) {
            (1.., _) => Some(true),
            (0, 1..) => Some(false),
            (0, 0) => None,
        })
    })
}

static REQUEUE_MANY: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'queued', max_attempts = attempt + 1, available_at = {now},
            locked_by = NULL, locked_at = NULL, completed_at = NULL, updated_at = {now}
      WHERE status IN ('failed', 'cancelled')
        AND {opt_in status :statuses} AND {opt_in session_id :sessions} AND {opt_eq user_id :user}
        AND {opt_in hook_name :hooks} AND {opt_in component_id :components}
     RETURNING component_id",
);

/// [`requeue`] for every failed or cancelled job `query`'s filters match
/// (its paging and order ignored); answers the agents of the jobs
/// requeued, one entry per job.
pub(crate) fn requeue_many(query: &JobQuery) -> Plan<Vec<String>> {
    let step = Step::rows(&REQUEUE_MANY, super::reads::filters(query), &[Col::Text]);
    Plan::new(vec![step], |outputs| {
        Ok(outputs
            .into_iter()
            .flat_map(Output::rows)
            .filter_map(|row| row[0].text())
            .collect())
    })
}

static CANCEL_QUEUED_RUN: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'cancelled', updated_at = {now}, completed_at = {now}
      WHERE id = :id AND job_type = 'run' AND status = 'queued'",
);

static END_CANCELLED_RUN: Statement = Statement::new(
    "UPDATE agno_runs SET status = 'CANCELLED',
            run_data = {set run_data; status = 'CANCELLED'; content = 'Run ' || run_id || ' was cancelled'},
            updated_at = {now}
      WHERE run_id = :id AND status = 'PENDING' AND {object run_data}
        AND EXISTS (SELECT 1 FROM agno_jobs
                     WHERE agno_jobs.id = :id AND job_type = 'run' AND status = 'cancelled')",
);

/// Cancels a queued background run: its job becomes `cancelled` and its
/// PENDING run `CANCELLED`. `false` when it was not queued.
pub(crate) fn cancel_queued_run(run_id: &str) -> Plan<bool> {
    let args = vec![("id", Arg::from(run_id))];
    let steps = vec![
        Step::count(&CANCEL_QUEUED_RUN, args.clone()),
        Step::discard(&END_CANCELLED_RUN, args),
    ];
    Plan::new(steps, |outputs| Ok(outputs[0].count() > 0))
}

static FAIL_ORPHANS: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'failed', locked_by = NULL, locked_at = NULL,
            error = 'no agent named ' || component_id
                    || ' in the server that runs its jobs (renamed or removed)',
            updated_at = {now}, completed_at = {now}
      WHERE status IN ('queued', 'running') AND component_id {not_in :components}",
);

/// Fails the queued or running jobs of agents not in `components` (a
/// server that no longer has the agent a job names): they could never
/// run, and would wait unseen. Only for a store one server owns (SQLite):
/// on a shared one, another instance may have the agent. Answers how
/// many.
pub(crate) fn fail_orphans(components: &[String]) -> Plan<usize> {
    let steps = vec![
        Step::count(
            &FAIL_ORPHANS,
            vec![("components", Arg::from(components.to_vec()))],
        ),
        Step::discard(
            &END_FAILED_RUNS,
            vec![("ids", Arg::Texts(None)), ("components", Arg::Texts(None))],
        ),
    ];
    Plan::new(steps, |outputs| Ok(outputs[0].count() as usize))
}

static FAIL_MISSING_HOOKS: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'failed',
            error = 'no hook named \"' || hook_name || '\" in any instance of agent \"'
                    || component_id || '\" for ' || CAST(CAST(:after AS bigint) AS text)
                    || ' s (renamed or removed): queued again when an instance with it starts, or requeue it',
            updated_at = {now}, completed_at = {now}
      WHERE status = 'queued' AND job_type = 'hook' AND component_id {in :components}
        AND hook_name IS NOT NULL AND hook_name {not_in :hooks}
        AND available_at <= {now} - :after",
);

static REQUEUE_FOUND_HOOKS: Statement = Statement::new(
    "UPDATE agno_jobs SET status = 'queued', available_at = {now}, completed_at = NULL,
            updated_at = {now}
      WHERE status = 'failed' AND job_type = 'hook' AND component_id {in :components}
        AND hook_name {in :hooks} AND error LIKE 'no hook named %'",
);

/// The queued hook jobs of `components` whose hook is not one of `hooks`
/// (the worker's) and that no instance claimed for `after` since they
/// were due: failed, saying so (in a rolling deploy, an instance with the
/// hook claims its jobs long before). Answers how many.
pub(crate) fn fail_missing_hooks(
    components: &[String],
    hooks: &[String],
    after: Duration,
) -> Plan<usize> {
    let step = Step::count(
        &FAIL_MISSING_HOOKS,
        vec![
            ("components", Arg::from(components.to_vec())),
            ("hooks", Arg::from(hooks.to_vec())),
            ("after", Arg::from(secs(after))),
        ],
    );
    Plan::new(vec![step], total)
}

/// The hook jobs of `components` failed for a hook nobody had
/// ([`fail_missing_hooks`], or a claim that found no such hook) whose
/// hook is one of `hooks` again (an instance with it started): queued
/// again (their attempt count kept). Answers how many.
pub(crate) fn requeue_found_hooks(components: &[String], hooks: &[String]) -> Plan<usize> {
    let step = Step::count(
        &REQUEUE_FOUND_HOOKS,
        vec![
            ("components", Arg::from(components.to_vec())),
            ("hooks", Arg::from(hooks.to_vec())),
        ],
    );
    Plan::new(vec![step], total)
}

static PRUNE: Statement = Statement::new(
    "DELETE FROM agno_jobs
      WHERE (status IN ('completed', 'cancelled') AND completed_at <= {now} - :retention)
         OR (status = 'failed' AND completed_at <= {now} - :failed_retention)",
);

/// Deletes the finished background runs' jobs (completed or cancelled)
/// at least `retention` old, and the failed jobs at least
/// `failed_retention` old (with them, their idempotency keys). Answers
/// how many.
pub(crate) fn prune(retention: Duration, failed_retention: Duration) -> Plan<usize> {
    let step = Step::count(
        &PRUNE,
        vec![
            ("retention", Arg::from(secs(retention))),
            ("failed_retention", Arg::from(secs(failed_retention))),
        ],
    );
    Plan::new(vec![step], total)
}

static PRUNE_RUNS: Statement = Statement::new(
    "DELETE FROM agno_runs
      WHERE created_at <= {now} - :retention AND status NOT IN ('PENDING', 'RUNNING')
        AND run_id NOT IN (SELECT run_id FROM agno_jobs
                            WHERE run_id IS NOT NULL AND status IN ('queued', 'running', 'failed'))
        AND run_id NOT IN (SELECT id FROM agno_jobs WHERE status IN ('queued', 'running'))",
);

/// Deletes the runs at least `retention` old that no job still to run (or
/// to requeue) reads back; their sessions stay. Answers how many.
pub(crate) fn prune_runs(retention: Duration) -> Plan<usize> {
    let step = Step::count(&PRUNE_RUNS, vec![("retention", Arg::from(secs(retention)))]);
    Plan::new(vec![step], total)
}

static KEEP_RUNS: Statement = Statement::new(
    "UPDATE agno_jobs
        SET run_data = (SELECT run_data FROM agno_runs WHERE agno_runs.run_id = agno_jobs.run_id)
      WHERE run_id IN (SELECT run_id FROM agno_runs WHERE session_id {in :sessions})
        AND status IN ('queued', 'running', 'failed') AND run_data IS NULL",
);

/// Before the sessions `session_ids` are deleted (their runs with them):
/// the jobs still to run or requeue that read their run back
/// ([`NewJob::run_id`]) get a copy of it, so they run as they would have.
/// In the delete's transaction (on Postgres after the sessions are
/// locked). Answers how many jobs got one. (A scan of the jobs table:
/// deletes are rare, and an index on `run_id` would cost every job's
/// insert.)
pub(crate) fn keep_runs(session_ids: &[String]) -> Plan<usize> {
    if session_ids.is_empty() {
        return Plan::new(Vec::new(), |_| Ok(0));
    }
    let step = Step::count(
        &KEEP_RUNS,
        vec![("sessions", Arg::from(session_ids.to_vec()))],
    );
    Plan::new(vec![step], total)
}
