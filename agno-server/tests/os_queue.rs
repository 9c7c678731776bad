//! The queue routes over HTTP: filters by hook and agent, and the bulk
//! requeue.

mod os_support;

use agno_server::db::prelude::*;
use agno_server::db::{JobOutcome, JobSettlement, JobType, NewJob, SessionRecord, SessionType};
use agno_server::{Agent, Echo, RunOutput, SqliteDb};
use os_support::{Server, json};

fn job(id: &str, hook: &str) -> NewJob {
    NewJob {
        id: id.into(),
        job_type: JobType::Hook,
        hook_name: Some(hook.into()),
        component_id: "a".into(),
        session_id: "s".into(),
        user_id: None,
        payload: format!(r#"{{"hook":"{hook}"}}"#),
        max_attempts: 1,
        claimed_by: Some("elsewhere".into()),
        idempotency_key: None,
        run_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_are_requeued_in_bulk_by_hook() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let session = SessionRecord::new("s", SessionType::Agent);
    let run = RunOutput {
        run_id: "r".into(),
        ..RunOutput::default()
    };
    db.save_run_with_jobs(
        session,
        &run,
        vec![job("m1", "mail"), job("m2", "mail"), job("x", "audit")],
        None,
    )
    .await
    .unwrap();
    let failed = |id: &str| JobSettlement {
        id: id.into(),
        attempt: 1,
        outcome: JobOutcome::Failed {
            error: "mail server down".into(),
        },
    };
    db.settle_jobs(vec![failed("m1"), failed("m2"), failed("x")])
        .await
        .unwrap();
    let agent = Agent::builder()
        .id("a")
        .model(Echo::new())
        .db(db.clone())
        .build()
        .unwrap();
    let server = Server::agent(agent).await;

    let (status, page) = json(server.get("/queue/jobs?status=failed&hook=mail").await).await;
    assert_eq!(
        (status, page["meta"]["total_count"].clone()),
        (200, 2.into()),
        "{page}"
    );
    let (status, body) = json(
        server
            .client
            .post(server.url("/queue/jobs/requeue?status=queued"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = json(
        server
            .client
            .post(server.url("/queue/jobs/requeue?hook=mail"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (200, serde_json::json!({"requeued": 2})));
    let (_, page) = json(server.get("/queue/jobs?status=failed").await).await;
    assert_eq!(page["meta"]["total_count"], 1);
    assert_eq!(page["data"][0]["id"], "x");
    server.shutdown().await;
}
