//! What the queue's routes read: one job, a page of jobs, the counts, a
//! client's idempotency key. Written once for both stores, as the
//! transitions are.

use std::collections::BTreeMap;

use serde_json::Value;

use super::sql::{Arg, Cell, Col, Output, Plan, Statement, Step};
use super::{JOBS_TABLE, JobQuery, JobRecord, JobSortKey, JobStats, JobStatus, JobType};
use crate::db::{DbError, SortOrder};

/// A job's columns, with the payload as `$payload` (the payload's text,
/// or `'{}'` in lists: a durable hook's payload may hold its whole run).
macro_rules! columns {
    ($payload:literal) => {
        concat!(
            "id, component_type, job_type, component_id, session_id, user_id, ",
            $payload,
            ", status, attempt, max_attempts, available_at, locked_by, locked_at, error, \
             created_at, updated_at, completed_at, idempotency_key"
        )
    };
}

const RECORD: &[Col] = &[
    Col::Text,
    Col::Text,
    Col::Text,
    Col::Text,
    Col::Text,
    Col::Text,
    Col::Text,
    Col::Text,
    Col::Int,
    Col::Int,
    Col::Int,
    Col::Text,
    Col::Int,
    Col::Text,
    Col::Int,
    Col::Int,
    Col::Int,
    Col::Text,
];

fn record(row: &[Cell], with_payload: bool) -> Result<JobRecord, DbError> {
    let id = row[0].text().unwrap_or_default();
    let job_type = row[2].text().unwrap_or_default();
    let job_type = JobType::parse(&job_type)
        .ok_or_else(|| DbError::corrupt(JOBS_TABLE, &id, "job_type", format!("{job_type:?}")))?;
    let payload = match (with_payload, row[6].text()) {
        (true, Some(text)) => serde_json::from_str(&text)
            .map_err(|e| DbError::corrupt(JOBS_TABLE, &id, "payload", e))?,
        _ => Value::Object(Default::default()),
    };
    let count = |cell: &Cell| cell.int().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    Ok(JobRecord {
        component_type: row[1].text().unwrap_or_default(),
        job_type,
        component_id: row[3].text().unwrap_or_default(),
        session_id: row[4].text().unwrap_or_default(),
        user_id: row[5].text(),
        payload,
        status: JobStatus::stored(&row[7].text().unwrap_or_default()),
        attempt: count(&row[8]),
        max_attempts: count(&row[9]),
        available_at: row[10].int().unwrap_or_default(),
        locked_by: row[11].text(),
        locked_at: row[12].int(),
        error: row[13].text(),
        created_at: row[14].int().unwrap_or_default(),
        updated_at: row[15].int(),
        completed_at: row[16].int(),
        idempotency_key: row[17].text(),
        id,
    })
}

fn one(outputs: Vec<Output>, with_payload: bool) -> Result<Option<JobRecord>, DbError> {
    outputs
        .into_iter()
        .flat_map(Output::rows)
        .next()
        .map(|row| record(&row, with_payload))
        .transpose()
}

static GET: Statement = Statement::new(concat!(
    "SELECT ",
    columns!("{text payload}"),
    " FROM agno_jobs WHERE id = :id"
));

/// One job with its payload, or `None`.
pub(crate) fn get(id: &str) -> Plan<Option<JobRecord>> {
    let step = Step::rows(&GET, vec![("id", Arg::from(id))], RECORD);
    Plan::new(vec![step], |outputs| one(outputs, true))
}

static BY_KEY: Statement = Statement::new(concat!(
    "SELECT ",
    columns!("'{}'"),
    " FROM agno_jobs WHERE idempotency_key = :key AND {is user_id :user}"
));

/// The job a client's `Idempotency-Key` (for `user_id`) made, if any.
pub(crate) fn by_key(key: &str, user_id: Option<&str>) -> Plan<Option<JobRecord>> {
    let step = Step::rows(
        &BY_KEY,
        vec![("key", Arg::from(key)), ("user", Arg::from(user_id))],
        RECORD,
    );
    Plan::new(vec![step], |outputs| one(outputs, false))
}

static QUEUED_RUNS: Statement =
    Statement::new("SELECT count(*) FROM agno_jobs WHERE status = 'queued' AND job_type = 'run'");

/// How many background runs wait in the queue.
pub(crate) fn queued_runs() -> Plan<u64> {
    let step = Step::rows(&QUEUED_RUNS, Vec::new(), &[Col::Int]);
    Plan::new(vec![step], |outputs| {
        Ok(first_int(outputs).unwrap_or(0) as u64)
    })
}

fn first_int(outputs: Vec<Output>) -> Option<i64> {
    outputs
        .into_iter()
        .flat_map(Output::rows)
        .next()
        .and_then(|row| row.first().and_then(Cell::int))
}

static COUNT: Statement = Statement::new(concat!(
    "SELECT count(*) FROM agno_jobs WHERE ",
    "{opt_in status :statuses} AND {opt_in session_id :sessions} AND {opt_eq user_id :user} AND {opt_in hook_name :hooks} AND {opt_in component_id :components}"
));

/// One page statement per sort key and direction (jobs without a value
/// last either way).
macro_rules! pages {
    ($($key:literal $dir:literal),* $(,)?) => {
        [$(Statement::new(concat!(
            "SELECT ", columns!("'{}'"), " FROM agno_jobs WHERE ",
            "{opt_in status :statuses} AND {opt_in session_id :sessions} AND {opt_eq user_id :user} AND {opt_in hook_name :hooks} AND {opt_in component_id :components}",
            " ORDER BY ", $key, " ", $dir, " NULLS LAST, id ", $dir, " LIMIT :limit OFFSET :offset"
        ))),*]
    };
}

static PAGES: [Statement; 8] = pages!(
    "created_at" "ASC", "created_at" "DESC",
    "coalesce(updated_at, created_at)" "ASC", "coalesce(updated_at, created_at)" "DESC",
    "available_at" "ASC", "available_at" "DESC",
    "completed_at" "ASC", "completed_at" "DESC",
);

fn page_statement(key: JobSortKey, order: SortOrder) -> &'static Statement {
    let key = match key {
        JobSortKey::CreatedAt => 0,
        JobSortKey::UpdatedAt => 1,
        JobSortKey::AvailableAt => 2,
        JobSortKey::CompletedAt => 3,
    };
    let dir = match order {
        SortOrder::Asc => 0,
        SortOrder::Desc => 1,
    };
    &PAGES[key * 2 + dir]
}

/// A page of the jobs `query` asks for (without payloads), and how many
/// match in all (in one snapshot). A `limit` or `page` of 0 is
/// [`DbError::InvalidQuery`].
pub(crate) fn list(query: &JobQuery) -> Result<Plan<(Vec<JobRecord>, u64)>, DbError> {
    let (limit, offset) = crate::db::records::page_offset(query.limit, query.page)?;
    let filters = filters(query);
    let mut page = filters.clone();
    page.push(("limit", Arg::from(limit)));
    page.push(("offset", Arg::from(offset)));
    let steps = vec![
        Step::rows(&COUNT, filters, &[Col::Int]),
        Step::rows(
            page_statement(query.sort_by, query.sort_order),
            page,
            RECORD,
        ),
    ];
    Ok(Plan::new(steps, |mut outputs| {
        let rows = outputs.pop().map(Output::rows).unwrap_or_default();
        let total = first_int(outputs).unwrap_or(0);
        let jobs = rows
            .iter()
            .map(|row| record(row, false))
            .collect::<Result<_, _>>()?;
        Ok((jobs, u64::try_from(total).unwrap_or(0)))
    }))
}

/// The arguments of a job list's filters (a list that is empty: any).
pub(crate) fn filters(query: &JobQuery) -> Vec<(&'static str, Arg)> {
    let any = |list: &[String]| (!list.is_empty()).then(|| list.to_vec());
    let statuses: Vec<String> = query
        .statuses
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    vec![
        ("statuses", Arg::Texts(any(&statuses))),
        ("sessions", Arg::Texts(any(&query.session_ids))),
        ("user", Arg::from(query.user_id.as_deref())),
        ("hooks", Arg::Texts(any(&query.hook_names))),
        ("components", Arg::Texts(any(&query.component_ids))),
    ]
}

static COUNTS: Statement = Statement::new("SELECT status, count(*) FROM agno_jobs GROUP BY status");

static OLDEST: Statement =
    Statement::new("SELECT {now} - min(created_at) FROM agno_jobs WHERE status = 'queued'");

/// Counts by status and the age of the oldest queued job.
pub(crate) fn stats() -> Plan<JobStats> {
    let steps = vec![
        Step::rows(&COUNTS, Vec::new(), &[Col::Text, Col::Int]),
        Step::rows(&OLDEST, Vec::new(), &[Col::Int]),
    ];
    Plan::new(steps, |mut outputs| {
        let oldest = outputs.pop().map(|o| first_int(vec![o])).unwrap_or(None);
        let mut counts: BTreeMap<&'static str, u64> =
            JobStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for row in outputs.into_iter().flat_map(Output::rows) {
            if let Some(found) = row[0].text().as_deref().and_then(JobStatus::parse) {
                counts.insert(found.as_str(), row[1].int().unwrap_or(0).max(0) as u64);
            }
        }
        Ok(JobStats {
            counts,
            oldest_queued_age_seconds: oldest.map(|age| age.max(0)),
        })
    })
}

static BACKLOG: Statement = Statement::new(
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM agno_jobs
                                    WHERE status = 'queued' AND component_id = :component
                                    LIMIT :bound) AS q),
            {now} - (SELECT min(available_at) FROM agno_jobs
                      WHERE status = 'queued' AND component_id = :component
                        AND available_at <= {now})",
);

/// How many jobs of `component` are queued, counted up to `bound` (the
/// count stops there: a check that stays cheap however deep the queue),
/// and how long the oldest due one has waited, in seconds.
pub(crate) fn backlog(component: &str, bound: usize) -> Plan<(u64, Option<i64>)> {
    let step = Step::rows(
        &BACKLOG,
        vec![
            ("component", Arg::from(component)),
            ("bound", Arg::from(i64::try_from(bound).unwrap_or(i64::MAX))),
        ],
        &[Col::Int, Col::Int],
    );
    Plan::new(vec![step], |outputs| {
        let row = outputs.into_iter().flat_map(Output::rows).next();
        let count = row.as_ref().and_then(|r| r[0].int()).unwrap_or(0).max(0) as u64;
        let age = row.and_then(|r| r[1].int()).map(|age| age.max(0));
        Ok((count, age))
    })
}
