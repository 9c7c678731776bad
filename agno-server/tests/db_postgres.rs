//! What only a store shared by several instances must do, on a real
//! Postgres server: two `PostgresDb` handles on one schema stand for two
//! server instances. (The contract both stores keep is `store_contract.rs`.)

mod store_support;

use agno_server::db::prelude::*;
use std::collections::HashSet;
use std::time::Duration;

use agno_server::db::{
    DbError, JobFence, JobOutcome, JobSettlement, JobStatus, JobType, NewJob, PostgresDb,
    SessionRecord, SessionType, StoreEvent,
};
use agno_server::{RunOutput, RunStatus};
use store_support::{Schema, postgres_on, raw, schema_name};

const LEASE: Duration = Duration::from_secs(30);

async fn two_instances() -> (Schema, PostgresDb, PostgresDb) {
    let schema = schema_name();
    let a = postgres_on(&schema, LEASE).await;
    let b = postgres_on(&schema, LEASE).await;
    (schema, a, b)
}

fn session(id: &str) -> SessionRecord {
    SessionRecord {
        session_id: id.into(),
        session_type: SessionType::Agent,
        agent_id: Some("agent-1".into()),
        ..SessionRecord::new(id, SessionType::Agent)
    }
}

fn run(id: &str, status: RunStatus) -> RunOutput {
    RunOutput {
        run_id: id.into(),
        agent_id: Some("agent-1".into()),
        status,
        ..Default::default()
    }
}

fn job(id: &str, job_type: JobType, claimed_by: Option<&str>) -> NewJob {
    NewJob {
        id: id.into(),
        job_type,
        hook_name: None,
        run_id: None,
        component_id: "agent-1".into(),
        session_id: "s".into(),
        user_id: None,
        payload: "{}".into(),
        max_attempts: 3,
        claimed_by: claimed_by.map(str::to_owned),
        idempotency_key: None,
    }
}

fn agents() -> Vec<String> {
    vec!["agent-1".into()]
}

/// Moves every running job's lease `secs` into the past, as if that much
/// time went by without a renewal (no sleeping in tests).
async fn age_leases(schema: &Schema, secs: i64) {
    raw(schema)
        .await
        .execute(
            "UPDATE agno_jobs SET locked_at = locked_at - $1, lease_until = lease_until - $1 * 1000 WHERE status = 'running'",
            &[&secs],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_claims_never_hand_one_job_to_two_instances() {
    let (_schema, a, b) = two_instances().await;
    let jobs: Vec<NewJob> = (0..300)
        .map(|i| job(&format!("j{i:03}"), JobType::Hook, None))
        .collect();
    a.save_run_with_jobs(session("s"), &run("r", RunStatus::Completed), jobs, None)
        .await
        .unwrap();
    let drain = |db: PostgresDb, owner: &'static str| async move {
        let mut mine = Vec::new();
        loop {
            let claimed = db.claim_jobs(owner, agents(), Vec::new(), 7).await.unwrap();
            if claimed.is_empty() {
                return mine;
            }
            mine.extend(claimed.into_iter().map(|j| j.id));
        }
    };
    let (ta, tb) = tokio::join!(
        tokio::spawn(drain(a.clone(), "a")),
        tokio::spawn(drain(b.clone(), "b"))
    );
    let (ta, tb) = (ta.unwrap(), tb.unwrap());
    let all: HashSet<&String> = ta.iter().chain(&tb).collect();
    assert_eq!(ta.len() + tb.len(), 300, "a: {}, b: {}", ta.len(), tb.len());
    assert_eq!(all.len(), 300, "a job was claimed twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_lease_that_runs_out_hands_the_job_over_and_fences_the_old_holder() {
    let (schema, a, b) = two_instances().await;
    let pending = run("bg", RunStatus::Pending);
    a.save_run_with_jobs(
        session("s"),
        &pending,
        vec![job("bg", JobType::Run, Some("a"))],
        None,
    )
    .await
    .unwrap();
    // Renewed: nobody takes it.
    age_leases(&schema, 3_600).await;
    assert_eq!(
        a.renew_leases("a", vec![("bg".into(), 1)]).await.unwrap(),
        1
    );
    assert_eq!(
        b.recover_jobs("b", agents(), Vec::new()).await.unwrap(),
        (0, 0)
    );
    // Not renewed (a is paused, cut off, or killed): b takes it over.
    age_leases(&schema, 3_600).await;
    assert_eq!(
        b.recover_jobs("b", agents(), Vec::new()).await.unwrap(),
        (1, 0)
    );
    let claimed = b.claim_jobs("b", agents(), Vec::new(), 10).await.unwrap();
    assert_eq!((claimed[0].id.as_str(), claimed[0].attempt), ("bg", 2));

    // a wakes up: it holds nothing, and can neither write the run nor
    // settle the job.
    assert_eq!(
        a.renew_leases("a", vec![("bg".into(), 1)]).await.unwrap(),
        0
    );
    let zombie = RunOutput {
        content: Some("zombie".into()),
        ..run("bg", RunStatus::Completed)
    };
    let fence = JobFence {
        job_id: "bg".into(),
        attempt: 1,
    };
    let error = a
        .save_run_with_jobs(session("s"), &zombie, Vec::new(), Some(fence))
        .await
        .unwrap_err();
    assert!(matches!(error, DbError::Fenced { .. }), "{error:?}");
    let settle = |attempt| JobSettlement {
        id: "bg".into(),
        attempt,
        outcome: JobOutcome::Completed,
    };
    assert_eq!(a.settle_jobs(vec![settle(1)]).await.unwrap(), 0);
    assert_eq!(
        b.get_run("bg").await.unwrap().unwrap().status,
        RunStatus::Pending
    );
    // b, the holder, finishes it.
    let done = RunOutput {
        content: Some("done".into()),
        ..run("bg", RunStatus::Completed)
    };
    let fence = JobFence {
        job_id: "bg".into(),
        attempt: 2,
    };
    b.save_run_with_jobs(session("s"), &done, Vec::new(), Some(fence))
        .await
        .unwrap();
    // That write completed the job too (one commit): the outcome
    // reported after it changes nothing.
    assert_eq!(
        b.get_job("bg").await.unwrap().unwrap().status,
        JobStatus::Completed
    );
    assert_eq!(b.settle_jobs(vec![settle(2)]).await.unwrap(), 0);
    let stored = a.get_run("bg").await.unwrap().unwrap();
    assert_eq!(stored.content.as_deref(), Some("done"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_stale_job_out_of_attempts_fails_and_its_run_says_error() {
    let (schema, a, b) = two_instances().await;
    let once = NewJob {
        max_attempts: 1,
        ..job("bg", JobType::Run, Some("a"))
    };
    a.save_run_with_jobs(
        session("s"),
        &run("bg", RunStatus::Pending),
        vec![once],
        None,
    )
    .await
    .unwrap();
    age_leases(&schema, 3_600).await;
    assert_eq!(
        b.recover_jobs("b", agents(), Vec::new()).await.unwrap(),
        (0, 1)
    );
    let job = b.get_job("bg").await.unwrap().unwrap();
    assert!(job.error.unwrap().contains("lease ran out"));
    assert_eq!(
        b.get_run("bg").await.unwrap().unwrap().status,
        RunStatus::Error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_run_index_is_gapless_when_two_instances_write_one_session() {
    let (schema, a, b) = two_instances().await;
    let saves = (0..60).map(|i| {
        let db = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move {
            db.save_run(
                session("s"),
                &run(&format!("r{i:02}"), RunStatus::Completed),
            )
            .await
        })
    });
    for save in futures_util::future::join_all(saves).await {
        save.unwrap().unwrap();
    }
    let rows = raw(&schema)
        .await
        .query(
            "SELECT run_index FROM agno_runs WHERE session_id = 's' ORDER BY run_index",
            &[],
        )
        .await
        .unwrap();
    let indexes: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(indexes, (0..60).collect::<Vec<i64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_new_jobs_and_cancels_reach_the_other_instance() {
    let (_schema, a, b) = two_instances().await;
    let mut heard = b.subscribe().unwrap();
    // The listener says it is listening (JobsQueued) once connected.
    let first = tokio::time::timeout(Duration::from_secs(30), heard.recv())
        .await
        .expect("the listener never connected")
        .unwrap();
    assert_eq!(first, StoreEvent::JobsQueued);
    // ...and that what was published while nobody listened is to be read
    // back (Missed).
    let missed = tokio::time::timeout(Duration::from_secs(30), heard.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(missed, StoreEvent::Missed);

    a.save_run_with_jobs(
        session("s"),
        &run("r", RunStatus::Completed),
        vec![job("j", JobType::Hook, None)],
        None,
    )
    .await
    .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(30), heard.recv())
        .await
        .expect("no notification of the queued job")
        .unwrap();
    assert_eq!(next, StoreEvent::JobsQueued);

    a.publish(StoreEvent::CancelRun("run-9".into()))
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(30), heard.recv())
        .await
        .expect("no notification of the cancel")
        .unwrap();
    assert_eq!(next, StoreEvent::CancelRun("run-9".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_schema_is_agnos_and_a_newer_one_is_refused() {
    let (schema, _a, _b) = two_instances().await;
    let client = raw(&schema).await;
    let columns = |table: &'static str| {
        let client = &client;
        let schema = schema.name.clone();
        async move {
            client
                .query(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns
                      WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                    &[&schema, &table],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    format!(
                        "{} {} {}",
                        r.get::<_, String>(0),
                        r.get::<_, String>(1),
                        r.get::<_, String>(2)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    // As Agno 3.1.10's PostgresDb makes them (../shared/reference/agno_postgres_schema.sql).
    assert_eq!(
        columns("agno_sessions").await,
        "session_id character varying NO, session_type character varying NO, \
         agent_id character varying YES, team_id character varying YES, \
         workflow_id character varying YES, user_id character varying YES, \
         session_data jsonb YES, agent_data jsonb YES, team_data jsonb YES, \
         workflow_data jsonb YES, metadata jsonb YES, summary jsonb YES, \
         created_at bigint NO, updated_at bigint YES"
    );
    assert_eq!(
        columns("agno_runs").await,
        "run_id character varying NO, session_id character varying NO, \
         run_type character varying NO, agent_id character varying YES, \
         team_id character varying YES, workflow_id character varying YES, \
         user_id character varying YES, parent_run_id character varying YES, \
         status character varying YES, run_index bigint YES, run_data jsonb NO, \
         created_at bigint NO, updated_at bigint YES"
    );
    assert_eq!(
        columns("agno_metrics").await,
        "id character varying NO, agent_runs_count bigint NO, team_runs_count bigint NO, \
         workflow_runs_count bigint NO, agent_sessions_count bigint NO, \
         team_sessions_count bigint NO, workflow_sessions_count bigint NO, \
         users_count bigint NO, token_metrics jsonb NO, model_metrics jsonb NO, \
         date date NO, aggregation_period character varying NO, user_id character varying NO, \
         created_at bigint NO, updated_at bigint YES, completed boolean NO"
    );
    let versions = client
        .query(
            "SELECT table_name, version FROM agno_schema_versions ORDER BY table_name",
            &[],
        )
        .await
        .unwrap();
    let versions: Vec<(String, String)> = versions.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        versions,
        [
            ("agno_jobs".to_owned(), "3.0.0".to_owned()),
            ("agno_metrics".into(), "3.0.0".into()),
            ("agno_runs".into(), "3.0.0".into()),
            ("agno_sessions".into(), "3.0.0".into())
        ]
    );
    client
        .execute(
            "INSERT INTO agno_server_migrations VALUES (99, 'from the future', 0)",
            &[],
        )
        .await
        .unwrap();
    let url = store_support::postgres_url();
    let options = agno_server::db::PostgresDbOptions {
        schema: schema.name.clone(),
        ..Default::default()
    };
    let error = PostgresDb::connect_with(&url, options).await.unwrap_err();
    assert!(
        matches!(error, DbError::UnsupportedSchemaVersion { found: 99, .. }),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_session_token_totals_follow_new_replaced_and_moved_runs() {
    let (schema, a, b) = two_instances().await;
    let with_tokens = |id: &str, total: u64| RunOutput {
        metrics: Some(agno_server::Metrics {
            input_tokens: 1,
            output_tokens: total - 1,
            total_tokens: total,
            ..Default::default()
        }),
        ..run(id, RunStatus::Completed)
    };
    a.save_run(session("s"), &with_tokens("r1", 5))
        .await
        .unwrap();
    b.save_run(session("s"), &with_tokens("r2", 7))
        .await
        .unwrap();
    // Replaced: counted by its difference.
    a.save_run(session("s"), &with_tokens("r2", 10))
        .await
        .unwrap();
    // Moved to another session: both recounted.
    b.save_run(session("t"), &with_tokens("r1", 5))
        .await
        .unwrap();
    let client = raw(&schema).await;
    let totals = |id: &'static str| {
        let client = &client;
        async move {
            let row = client
                .query_one(
                    "SELECT (session_data #>> '{session_metrics,total_tokens}')::bigint,
                            (session_data #>> '{session_metrics,input_tokens}')::bigint
                       FROM agno_sessions WHERE session_id = $1",
                    &[&id],
                )
                .await
                .unwrap();
            (row.get::<_, i64>(0), row.get::<_, i64>(1))
        }
    };
    assert_eq!(totals("s").await, (10, 1));
    assert_eq!(totals("t").await, (5, 1));
}

/// A pause past the lease (SIGSTOP, a VM migration): the paused instance's
/// own recovery never takes over its live attempt, and its renewal, once
/// it runs again, keeps the job; another instance takes it over only if
/// it got there first, and then the paused one's renewal says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_instance_never_takes_over_its_own_live_attempt() {
    let (schema, a, b) = two_instances().await;
    a.save_run_with_jobs(
        session("s"),
        &run("r", RunStatus::Completed),
        vec![job("j", JobType::Hook, Some("a"))],
        None,
    )
    .await
    .unwrap();
    let held = vec![("j".to_owned(), 1)];
    // Paused past the lease: nothing renewed it.
    age_leases(&schema, 3_600).await;
    // a wakes up: its recovery leaves its own live attempt alone...
    assert_eq!(
        a.recover_jobs("a", agents(), held.clone()).await.unwrap(),
        (0, 0)
    );
    // ...and its renewal keeps it, at attempt 1: no second run.
    assert_eq!(a.renew_leases("a", held.clone()).await.unwrap(), 1);
    assert_eq!(
        b.recover_jobs("b", agents(), Vec::new()).await.unwrap(),
        (0, 0)
    );
    // Paused again, and this time b looks first: it takes the job over.
    age_leases(&schema, 3_600).await;
    assert_eq!(
        b.recover_jobs("b", agents(), Vec::new()).await.unwrap(),
        (1, 0)
    );
    assert_eq!(
        a.renew_leases("a", held).await.unwrap(),
        0,
        "the lease is gone"
    );
    let claimed = b.claim_jobs("b", agents(), Vec::new(), 10).await.unwrap();
    assert_eq!((claimed[0].id.as_str(), claimed[0].attempt), ("j", 2));
}

/// Leases are kept on the database's clock in milliseconds: a lease of
/// 1.5 s runs out 1.5 s after the claim (not 1 s, as truncated seconds
/// made it), whatever the instance's own clock says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_leases_are_milliseconds_of_the_databases_clock() {
    let schema = schema_name();
    let a = postgres_on(&schema, Duration::from_millis(1_500)).await;
    a.save_run_with_jobs(
        session("s"),
        &run("r", RunStatus::Completed),
        vec![job("j", JobType::Hook, Some("a"))],
        None,
    )
    .await
    .unwrap();
    let row = raw(&schema)
        .await
        .query_one(
            "SELECT lease_until - CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS bigint)
               FROM agno_jobs WHERE id = 'j'",
            &[],
        )
        .await
        .unwrap();
    let left: i64 = row.get(0);
    assert!(
        (500..=1_500).contains(&left),
        "{left} ms left of a 1.5 s lease"
    );
}
