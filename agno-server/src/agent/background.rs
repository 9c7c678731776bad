//! Background runs (Agno's `background=true`): admission (the PENDING
//! row and its job stored in one transaction, the queue's depth, the
//! client's idempotency key), the run's payload in the queue, and the run
//! carried out when its job's turn comes.

use hooks_core::{RunInput, RunOutput, RunStatus};
use serde::{Deserialize, Serialize};

use super::ids::{RunIds, new_id};
use super::{Agent, AgentError, RunRequest};
use crate::clock::now_secs;
use crate::db::{JobFence, JobStatus, JobType, SessionRecord, SessionType};

impl Agent {
    /// Carries out the background run whose job is `fence` (its payload,
    /// `payload`, as [`RunPayload`] wrote it): its PENDING row is replaced
    /// by the run as it ends.
    pub(crate) async fn run_queued(&self, payload: &str, fence: JobFence) -> Result<(), String> {
        let request = RunPayload::read(payload)?;
        self.execute_queued(request, fence)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn execute_queued(
        &self,
        request: RunRequest,
        fence: JobFence,
    ) -> Result<RunOutput, AgentError> {
        let session_id = request.session_id.clone().unwrap_or_else(new_id);
        let ids = RunIds {
            run_id: fence.job_id.clone(),
            session_id,
            fence: Some(fence),
        };
        self.execute_with(request, ids, None).await
    }

    /// Queues a background run (Agno's `background=true`): its PENDING row
    /// and its job are stored in one transaction, then it starts at once
    /// if the worker has room, else when it has. With `idempotency_key`,
    /// a second submission for the same user answers the first run.
    pub async fn submit(
        &self,
        request: impl Into<RunRequest>,
        idempotency_key: Option<String>,
    ) -> Result<Submitted, AgentError> {
        let mut request = request.into();
        let Some(db) = &self.inner.db else {
            return Err(AgentError::BackgroundWithoutStore {
                agent: self.id().to_owned(),
            });
        };
        if let Some(key) = &idempotency_key
            && let Some(found) = self.submitted(key, request.user_id.as_deref()).await?
        {
            return Ok(found);
        }
        self.admit().await?;
        let depth = self.inner.jobs.options().max_queue_depth;
        if db.queued_runs().await? >= depth as u64 {
            return Err(AgentError::QueueFull { depth });
        }
        let ids = RunIds::new(&request);
        request.session_id = Some(ids.session_id.clone());
        let info = &self.inner.info;
        let created_at = now_secs();
        let pending = RunOutput {
            input: Some(RunInput::new(request.message.clone())),
            ..self.new_output(
                ids.run_id.clone(),
                ids.session_id.clone(),
                request.user_id.clone(),
                RunStatus::Pending,
                created_at,
            )
        };
        let session = SessionRecord {
            session_id: ids.session_id.clone(),
            session_type: SessionType::Agent,
            agent_id: Some(info.id.clone()),
            user_id: request.user_id.clone(),
            agent_data: Some(self.agent_data()),
            created_at,
            updated_at: created_at,
            ..SessionRecord::default()
        };
        let submitted = Submitted {
            run_id: ids.run_id.clone(),
            session_id: ids.session_id.clone(),
            status: RunStatus::Pending,
        };
        let payload = RunPayload::write(&request).map_err(crate::db::DbError::from)?;
        let stored = self
            .inner
            .jobs
            .enqueue_run(
                &self.host(),
                session,
                &pending,
                payload,
                idempotency_key.clone(),
            )
            .await
            .map_err(AgentError::from);
        match (stored, &idempotency_key) {
            (Ok(()), _) => Ok(submitted),
            // Two submissions with one key at once: the other one won.
            (Err(error), Some(key)) => match self.submitted(key, pending.user_id.as_deref()).await?
            {
                Some(found) => Ok(found),
                None => Err(error),
            },
            (Err(error), None) => Err(error),
        }
    }

    /// The background run an idempotency key made, as a duplicate
    /// submission is answered (its current status); an error when the key
    /// was used for something else.
    async fn submitted(
        &self,
        key: &str,
        user_id: Option<&str>,
    ) -> Result<Option<Submitted>, AgentError> {
        let Some(db) = &self.inner.db else {
            return Ok(None);
        };
        let Some(job) = db.job_by_key(key, user_id).await? else {
            return Ok(None);
        };
        if job.job_type != JobType::Run || job.component_id != self.id() {
            return Err(AgentError::IdempotencyConflict {
                key: key.to_owned(),
            });
        }
        let status = match db.get_run(&job.id).await? {
            Some(run) if run.status == RunStatus::Pending && job.status == JobStatus::Running => {
                RunStatus::Running
            }
            Some(run) => run.status,
            None => RunStatus::Pending,
        };
        Ok(Some(Submitted {
            run_id: job.id,
            session_id: job.session_id,
            status,
        }))
    }
}

/// A background run accepted ([`Agent::submit`]): Agno's 202 body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Submitted {
    /// The run's id (also its job's).
    pub run_id: String,
    /// Its session.
    pub session_id: String,
    /// `PENDING` when just accepted; a duplicate submission says where
    /// the first one is.
    pub status: RunStatus,
}

/// A background run's payload in the queue: what the caller asked for.
/// The agent is its one reader and writer.
#[derive(Debug, Serialize, Deserialize)]
struct RunPayload {
    message: String,
    session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    session_state: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    dependencies: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    extra: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity: Option<hooks_core::Identity>,
}

impl RunPayload {
    /// The JSON payload of `request`.
    fn write(request: &RunRequest) -> Result<String, serde_json::Error> {
        serde_json::to_string(&RunPayload {
            message: request.message.clone(),
            session_id: request.session_id.clone(),
            user_id: request.user_id.clone(),
            session_state: request.session_state.clone(),
            dependencies: request.dependencies.clone(),
            metadata: request.metadata.clone(),
            extra: request.extra.clone(),
            identity: request.identity.clone(),
        })
    }

    /// The request a payload holds.
    fn read(json: &str) -> Result<RunRequest, String> {
        let payload: RunPayload = serde_json::from_str(json)
            .map_err(|e| format!("the background run's payload cannot be read: {e}"))?;
        Ok(RunRequest {
            message: payload.message,
            session_id: payload.session_id,
            user_id: payload.user_id,
            session_state: payload.session_state,
            dependencies: payload.dependencies,
            metadata: payload.metadata,
            extra: payload.extra,
            identity: payload.identity,
        })
    }
}
