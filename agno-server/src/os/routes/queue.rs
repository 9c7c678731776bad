//! The job queue's ops routes, in the shape of Agno's `/queue/*`: list
//! jobs, read one, requeue a failed one, counts.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde::Deserialize;

use crate::db::{Db, JobQuery, JobRecord, JobSortKey, JobStats, JobStatus, SortOrder};
use crate::os::error::{ApiError, ApiResult};
use crate::os::extract::ApiQuery;
use crate::os::state::AppState;
use crate::os::wire::{ErrorBody, JobPage, PageInfo};

/// The most jobs one page holds (Agno's `le=1000`).
pub const MAX_JOBS_PAGE: usize = 1000;

/// The query of `GET /queue/jobs`, Agno's: `status` and `session_id` may
/// repeat (`?status=failed&status=queued`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// Only jobs in these statuses (queued, running, completed, failed,
    /// cancelled; repeat for several).
    #[serde(default)]
    pub status: Vec<String>,
    /// Only jobs of these sessions (repeat for several).
    #[serde(default)]
    pub session_id: Vec<String>,
    /// Only jobs of this user.
    pub user_id: Option<String>,
    /// Only jobs of these hooks, by registry name (repeat for several;
    /// ours).
    #[serde(default)]
    pub hook: Vec<String>,
    /// Only jobs of these agents (repeat for several; ours).
    #[serde(default)]
    pub agent_id: Vec<String>,
    /// Jobs per page (1 to 1000, default 20).
    #[serde(default = "default_limit")]
    pub limit: usize,
    /// The page, from 1.
    #[serde(default = "default_page")]
    pub page: usize,
    /// `created_at` (default), `updated_at`, `available_at` or
    /// `completed_at`; another name sorts by the default, as in Agno.
    pub sort_by: Option<String>,
    /// `asc` or `desc` (default).
    pub sort_order: Option<String>,
    /// The store (the first one when absent).
    pub db_id: Option<String>,
}

fn default_limit() -> usize {
    20
}

fn default_page() -> usize {
    1
}

impl JobsQuery {
    /// Read from the query string (a key may repeat), or 400.
    fn parse(raw: Option<&str>) -> ApiResult<JobsQuery> {
        serde_html_form::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("Failed to deserialize query string: {e}")))
    }

    /// The store's query, or 400 for a value Agno refuses too.
    fn to_store(&self) -> ApiResult<JobQuery> {
        let statuses = self
            .status
            .iter()
            .map(|text| {
                JobStatus::parse(text).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Invalid status {text:?}; expected one of queued, running, completed, failed, cancelled"
                    ))
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let empty = |list: &[String]| list.iter().any(String::is_empty);
        if empty(&self.session_id)
            || empty(&self.hook)
            || empty(&self.agent_id)
            || self.user_id.as_deref() == Some("")
        {
            return Err(ApiError::bad_request(
                "session_id, user_id, hook and agent_id must not be empty",
            ));
        }
        if !(1..=MAX_JOBS_PAGE).contains(&self.limit) || self.page == 0 {
            return Err(ApiError::bad_request(format!(
                "limit must be between 1 and {MAX_JOBS_PAGE}, and page at least 1"
            )));
        }
        let sort_order = match self.sort_order.as_deref() {
            None => SortOrder::Desc,
            Some(order) => order
                .parse()
                .map_err(|e: crate::db::DbError| ApiError::bad_request(e.to_string()))?,
        };
        Ok(JobQuery {
            statuses,
            session_ids: self.session_id.clone(),
            user_id: self.user_id.clone(),
            hook_names: self.hook.clone(),
            component_ids: self.agent_id.clone(),
            sort_by: self
                .sort_by
                .as_deref()
                .map_or(JobSortKey::CreatedAt, JobSortKey::named),
            sort_order,
            limit: self.limit,
            page: self.page,
        })
    }
}

/// `?db_id=` of the other queue routes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueDb {
    /// The store (the first one when absent).
    pub db_id: Option<String>,
}

fn store<'a>(state: &'a AppState, db_id: Option<&str>) -> ApiResult<&'a Arc<dyn Db>> {
    if state.dbs.is_empty() {
        // Agno's answer where the durable queue is off.
        return Err(ApiError::unavailable(
            "Durable job queue is not enabled on this replica",
        ));
    }
    state.db(db_id)
}

/// `GET /queue/jobs`: a page of jobs, newest first (payloads are `{}`
/// here; `GET /queue/jobs/{id}` has the payload).
#[utoipa::path(get, path = "/queue/jobs", tag = "Queue", summary = "List durable jobs", params(JobsQuery),
    responses((status = 200, description = "A page of jobs, newest first", body = JobPage),
        (status = 503, description = "No store: the durable queue is off", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<JobPage>> {
    let params = JobsQuery::parse(raw.as_deref())?;
    let query = params.to_store()?;
    let db = store(&state, params.db_id.as_deref())?;
    let started = std::time::Instant::now();
    let (data, total) = db.list_jobs(query).await?;
    Ok(Json(JobPage {
        data,
        meta: PageInfo::new(params.page as u64, params.limit as u64, total, started),
    }))
}

/// `GET /queue/jobs/{job_id}`: one job with its payload.
#[utoipa::path(get, path = "/queue/jobs/{job_id}", tag = "Queue", summary = "One durable job",
    params(("job_id" = String, Path, description = "The job's id"), QueueDb),
    responses((status = 200, description = "The job with its payload", body = JobRecord)))]
pub async fn get(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    ApiQuery(params): ApiQuery<QueueDb>,
) -> ApiResult<Json<JobRecord>> {
    let db = store(&state, params.db_id.as_deref())?;
    db.get_job(&job_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("Job queue job {job_id} not found")))
}

/// `POST /queue/jobs/{job_id}/requeue`: a failed (or cancelled) job is
/// queued again with fresh attempts, and its agent's worker woken.
#[utoipa::path(post, path = "/queue/jobs/{job_id}/requeue", tag = "Queue", summary = "Requeue a failed or cancelled job",
    params(("job_id" = String, Path, description = "The job's id"), QueueDb),
    responses((status = 200, description = "The job, queued again", body = JobRecord)))]
pub async fn requeue(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    ApiQuery(params): ApiQuery<QueueDb>,
) -> ApiResult<Json<JobRecord>> {
    let db = store(&state, params.db_id.as_deref())?;
    let not_requeueable = || {
        ApiError::bad_request(format!(
            "Job {job_id} not found or not in a requeueable state"
        ))
    };
    if db.requeue_job(&job_id).await? != Some(true) {
        return Err(not_requeueable());
    }
    let job = db.get_job(&job_id).await?.ok_or_else(not_requeueable)?;
    if let Ok(agent) = state.agent(&job.component_id) {
        // A cancel kept for this run (a cancelled run requeued) is not
        // meant for the run it starts again as.
        agent.forget_cancel(&job.id);
        agent.jobs().wake();
    }
    Ok(Json(job))
}

/// `POST /queue/jobs/requeue`: every failed or cancelled job the filters
/// of `GET /queue/jobs` match (`status`, `hook`, `agent_id`, `session_id`,
/// `user_id`; paging ignored) is queued again with one more attempt, and
/// their agents' workers woken. Answers how many.
#[utoipa::path(post, path = "/queue/jobs/requeue", tag = "Queue", summary = "Requeue failed or cancelled jobs in bulk",
    params(JobsQuery),
    responses((status = 200, description = "How many jobs were queued again", body = Requeued)))]
pub async fn requeue_many(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Requeued>> {
    let params = JobsQuery::parse(raw.as_deref())?;
    let query = params.to_store()?;
    if query
        .statuses
        .iter()
        .any(|s| !matches!(s, JobStatus::Failed | JobStatus::Cancelled))
    {
        return Err(ApiError::bad_request(
            "only failed and cancelled jobs can be requeued: status is failed or cancelled",
        ));
    }
    let db = store(&state, params.db_id.as_deref())?;
    let agents = db.requeue_jobs(query).await?;
    let mut woken = std::collections::BTreeSet::new();
    for agent_id in &agents {
        if woken.insert(agent_id.as_str())
            && let Ok(agent) = state.agent(agent_id)
        {
            agent.jobs().wake();
        }
    }
    tracing::info!(requeued = agents.len(), "durable jobs requeued in bulk");
    Ok(Json(Requeued {
        requeued: agents.len() as u64,
    }))
}

/// The answer of `POST /queue/jobs/requeue`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Requeued {
    /// How many jobs were queued again.
    pub requeued: u64,
}

/// `GET /queue/stats`: counts by status and the oldest queued job's age.
#[utoipa::path(get, path = "/queue/stats", tag = "Queue", summary = "Job counts by status", params(QueueDb),
    responses((status = 200, description = "Counts and the oldest queued job's age", body = JobStats)))]
pub async fn stats(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<QueueDb>,
) -> ApiResult<Json<JobStats>> {
    let db = store(&state, params.db_id.as_deref())?;
    Ok(Json(db.job_stats().await?))
}
