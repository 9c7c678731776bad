//! A durable hook's payload: the hook's name and the run as the hook saw
//! it at its position in its phase, as JSON in `agno_jobs.payload`.
//!
//! Everything a hook's arguments are drawn from is here ([`HookArgs`]
//! minus the agent's extensions, which the agent that runs the job
//! provides), so every argument type, the built-in ones and a program's
//! own [`FromHookArgs`] impls, is extracted from a restored snapshot
//! exactly as from a live one: no hook needs refusing for it.
//!
//! [`HookArgs`]: hooks_core::HookArgs
//! [`FromHookArgs`]: hooks_core::FromHookArgs

use std::sync::Arc;

use hooks_core::{
    AgentInfo, ExtraFields, HookContext, Phase, RunContext, RunId, RunInput, RunOutput, RunShared,
    Session, UserId,
};
use serde::{Deserialize, Serialize};

/// The payload, borrowed from a live snapshot for writing.
#[derive(Serialize)]
struct PayloadRef<'a> {
    hook: &'a str,
    phase: &'static str,
    run_id: &'a str,
    agent: &'a AgentInfo,
    input: &'a RunInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a RunOutput>,
    session: &'a Session,
    run_context: &'a RunContext,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    extra: &'a serde_json::Map<String, serde_json::Value>,
}

/// The payload, read back.
#[derive(Debug, Deserialize)]
pub(crate) struct HookPayload {
    /// The hook's registry name.
    pub(crate) hook: String,
    phase: String,
    run_id: String,
    agent: AgentInfo,
    input: RunInput,
    #[serde(default)]
    output: Option<RunOutput>,
    session: Session,
    run_context: RunContext,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// The JSON payload of `hook` at `snapshot`.
pub(crate) fn write(hook: &str, snapshot: &HookContext) -> Result<String, serde_json::Error> {
    let shared = snapshot.shared();
    serde_json::to_string(&PayloadRef {
        hook,
        phase: snapshot.phase().as_str(),
        run_id: &shared.run_id.0,
        agent: &shared.agent,
        input: snapshot.input(),
        output: snapshot.output(),
        session: &shared.session,
        run_context: &shared.run_context,
        user_id: shared.user_id.as_deref(),
        extra: &shared.extra.0,
    })
}

impl HookPayload {
    /// Reads a payload.
    pub(crate) fn read(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("the job's payload cannot be read: {e}"))
    }

    /// The snapshot, rebuilt, with the extensions of the agent that runs
    /// it.
    pub(crate) fn restore(
        self,
        extensions: Arc<hooks_core::Extensions>,
    ) -> Result<HookContext, String> {
        let phase = match self.phase.as_str() {
            "pre" => Phase::Pre,
            "post" => Phase::Post,
            other => {
                return Err(format!(
                    "the job's payload names an unknown phase {other:?}"
                ));
            }
        };
        let shared = RunShared {
            run_id: RunId(self.run_id),
            agent: Arc::new(self.agent),
            session: self.session,
            run_context: self.run_context,
            user_id: UserId(self.user_id),
            extra: ExtraFields(self.extra),
            extensions,
        };
        Ok(HookContext::restore(phase, self.input, self.output, shared))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_survives_the_round_trip() {
        let shared = RunShared {
            run_id: RunId("run-1".into()),
            agent: Arc::new(AgentInfo {
                id: "a".into(),
                name: Some("A".into()),
                ..AgentInfo::default()
            }),
            session: Session {
                session_id: "s".into(),
                user_id: Some("u".into()),
                session_state: serde_json::json!({"k": [1, 2]})
                    .as_object()
                    .unwrap()
                    .clone(),
                created_at: 7,
            },
            run_context: RunContext::default(),
            user_id: UserId(Some("u".into())),
            extra: ExtraFields(serde_json::json!({"x": 1}).as_object().unwrap().clone()),
            extensions: Default::default(),
        };
        let mut cx = HookContext::new(RunInput::new("hi"), shared.clone());
        cx.enter_post(RunOutput {
            run_id: "run-1".into(),
            content: Some("hello".into()),
            ..RunOutput::default()
        });
        let json = write("notify", &cx).unwrap();
        let payload = HookPayload::read(&json).unwrap();
        assert_eq!(payload.hook, "notify");
        let back = payload.restore(Default::default()).unwrap();
        assert_eq!(back.phase(), Phase::Post);
        assert_eq!(back.input(), cx.input());
        assert_eq!(back.output(), cx.output());
        assert_eq!(back.shared().session, shared.session);
        assert_eq!(back.shared().agent, shared.agent);
        assert_eq!(back.shared().extra, shared.extra);
        assert_eq!(back.shared().user_id, shared.user_id);
    }
}
