//! A run as the store writes it: checked, its columns picked out and its
//! output serialised on the caller's thread, so the writer thread (one for
//! the whole store) only runs SQL.

use hooks_core::RunOutput;

use super::{DbError, SessionRecord, SessionType};

/// The `agno_runs` row of one run, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunRow {
    /// `run_id`.
    pub(crate) run_id: String,
    /// `agent_id`: the run's, or for an agent session the session's.
    pub(crate) agent_id: Option<String>,
    /// `user_id`: the run's, or the session's.
    pub(crate) user_id: Option<String>,
    /// `status`.
    pub(crate) status: &'static str,
    /// `created_at`.
    pub(crate) created_at: i64,
    /// Input, output and total tokens, for the session's totals.
    pub(crate) tokens: [i64; 3],
    /// `run_data`: the whole output as JSON, with its `session_id` filled.
    pub(crate) run_data: String,
}

impl RunRow {
    /// Checks `run` belongs to `session` (a run without `session_id` gets
    /// the session's) and makes its row.
    pub(crate) fn new(session: &SessionRecord, run: &RunOutput) -> Result<Self, DbError> {
        session.check_writable()?;
        if run.run_id.is_empty() {
            return Err(DbError::InvalidInput("run_id is empty".into()));
        }
        let run_data = match &run.session_id {
            Some(id) if *id != session.session_id => {
                return Err(DbError::InvalidInput(format!(
                    "run {} belongs to session {id}, not {}",
                    run.run_id, session.session_id
                )));
            }
            Some(_) => serde_json::to_string(run)?,
            // Rare (an agent always names the session): copied to fill it.
            None => serde_json::to_string(&RunOutput {
                session_id: Some(session.session_id.clone()),
                ..run.clone()
            })?,
        };
        let agent_id = match session.session_type {
            SessionType::Agent => run.agent_id.as_ref().or(session.agent_id.as_ref()),
            _ => run.agent_id.as_ref(),
        };
        Ok(Self {
            run_id: run.run_id.clone(),
            agent_id: agent_id.cloned(),
            user_id: run.user_id.as_ref().or(session.user_id.as_ref()).cloned(),
            status: run.status.as_str(),
            created_at: run.created_at,
            tokens: run.metrics.as_ref().map_or([0; 3], |m| {
                [m.input_tokens, m.output_tokens, m.total_tokens].map(|t| t as i64)
            }),
            run_data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_checks_the_session_id() {
        let session = SessionRecord::new("s1", SessionType::Agent);
        let run = RunOutput {
            run_id: "r1".into(),
            ..Default::default()
        };
        let row = RunRow::new(&session, &run).unwrap();
        let stored: RunOutput = serde_json::from_str(&row.run_data).unwrap();
        assert_eq!(stored.session_id.as_deref(), Some("s1"));
        let other = RunOutput {
            run_id: "r2".into(),
            session_id: Some("s2".into()),
            ..Default::default()
        };
        assert!(matches!(
            RunRow::new(&session, &other),
            Err(DbError::InvalidInput(_))
        ));
        let unnamed = RunOutput::default();
        assert!(matches!(
            RunRow::new(&session, &unnamed),
            Err(DbError::InvalidInput(_))
        ));
    }

    #[test]
    fn takes_the_sessions_agent_and_user_when_the_run_has_none() {
        let mut session = SessionRecord::new("s1", SessionType::Agent);
        session.agent_id = Some("a".into());
        session.user_id = Some("u".into());
        let run = RunOutput {
            run_id: "r1".into(),
            metrics: Some(hooks_core::Metrics {
                input_tokens: 1,
                output_tokens: 2,
                total_tokens: 3,
                ..Default::default()
            }),
            ..Default::default()
        };
        let row = RunRow::new(&session, &run).unwrap();
        assert_eq!(row.agent_id.as_deref(), Some("a"));
        assert_eq!(row.user_id.as_deref(), Some("u"));
        assert_eq!(row.tokens, [1, 2, 3]);
        session.session_type = SessionType::Team;
        assert_eq!(RunRow::new(&session, &run).unwrap().agent_id, None);
    }
}
