//! The store's contract, one suite run on both stores: every test below
//! runs once on a SQLite file (`sqlite::`) and once on a real Postgres
//! server (`postgres::`, a schema of its own; see `store_support`).

mod store_support;

use agno_server::db::{
    Db, DbError, JobFence, JobOutcome, JobQuery, JobSettlement, JobStatus, JobType, NewJob,
    SessionQuery, SessionRecord, SessionType, SortOrder,
};
use agno_server::{Metrics, RunInput, RunOutput, RunStatus};
use serde_json::json;

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::store_support::sqlite();
                    super::$name(&*store.db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::store_support::postgres().await;
                    super::$name(&*store.db).await;
                }
            )*
        }
    };
}

contract!(
    a_run_reads_back_as_written,
    run_index_appends_and_a_replaced_run_keeps_it,
    a_run_of_another_session_is_refused,
    upsert_replaces_values_but_keeps_created_at_and_totals,
    lists_page_sort_and_filter,
    delete_takes_the_runs_with_the_session,
    rename_sets_the_name_only,
    a_runs_write_keeps_what_others_wrote_in_between,
    runs_read_in_pages_and_from_the_end,
    concurrent_runs_of_one_session_get_every_index_once,
    a_nul_character_does_not_stop_a_run_being_stored,
    hook_jobs_are_claimed_once_retried_failed_and_requeued,
    background_run_jobs_keep_their_key_and_cancel_while_queued,
    a_fenced_write_of_a_job_taken_over_writes_nothing,
    a_run_job_that_fails_for_good_ends_its_run_visibly,
    deleting_a_session_copies_its_runs_into_the_jobs_that_refer_to_them,
    jobs_list_by_status_session_and_user_sorted_and_paged,
    runs_in_flight_together_cannot_grow_a_state_past_its_ceiling,
    failed_jobs_are_listed_by_hook_and_agent_and_requeued_in_bulk,
    failed_jobs_and_old_runs_are_pruned_after_their_retention,
);

fn session(id: &str, at: i64) -> SessionRecord {
    SessionRecord {
        session_id: id.into(),
        session_type: SessionType::Agent,
        agent_id: Some("agent-1".into()),
        user_id: Some("user-1".into()),
        created_at: at,
        updated_at: at,
        ..Default::default()
    }
}

fn run(id: &str, at: i64) -> RunOutput {
    RunOutput {
        run_id: id.into(),
        agent_id: Some("agent-1".into()),
        user_id: Some("user-1".into()),
        input: Some(RunInput::new("hello")),
        content: Some(format!("answer {id}")),
        content_type: Some("str".into()),
        metrics: Some(Metrics {
            input_tokens: 2,
            output_tokens: 3,
            total_tokens: 5,
            ..Default::default()
        }),
        status: RunStatus::Completed,
        created_at: at,
        ..Default::default()
    }
}

fn ids(runs: &[RunOutput]) -> Vec<&str> {
    runs.iter().map(|r| r.run_id.as_str()).collect()
}

async fn a_run_reads_back_as_written(db: &dyn Db) {
    let mut s = session("s1", 1_000);
    s.session_name = Some("First chat".into());
    s.session_state.insert("counter".into(), json!(2));
    s.agent_data = Some(json!({"name": "Agent", "agent_id": "agent-1"}));
    s.metadata = Some(json!({"source": "test"}).as_object().unwrap().clone());
    s.summary = Some(json!({"summary": "greetings"}));
    let r = run("r1", 1_000);
    db.save_run(s.clone(), &r).await.unwrap();
    // The store keeps the session's token total (the run's 5).
    s.total_tokens = 5;
    assert_eq!(db.get_session("s1").await.unwrap(), Some(s));
    let expected = RunOutput {
        session_id: Some("s1".into()),
        ..r
    };
    assert_eq!(db.get_runs("s1").await.unwrap(), vec![expected.clone()]);
    assert_eq!(db.get_run("r1").await.unwrap(), Some(expected));
    assert_eq!(db.get_run("nope").await.unwrap(), None);
    assert_eq!(db.get_session("nope").await.unwrap(), None);
    assert!(db.get_runs("nope").await.unwrap().is_empty());
}

async fn run_index_appends_and_a_replaced_run_keeps_it(db: &dyn Db) {
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        db.save_run(session("s", 10), &run(id, 10 + i as i64))
            .await
            .unwrap();
    }
    let mut b = run("b", 11);
    b.content = Some("replaced".into());
    db.save_run(session("s", 10), &b).await.unwrap();
    let runs = db.get_runs("s").await.unwrap();
    assert_eq!(ids(&runs), ["a", "b", "c"]);
    assert_eq!(runs[1].content.as_deref(), Some("replaced"));
}

async fn a_run_of_another_session_is_refused(db: &dyn Db) {
    let mut r = run("r", 1);
    r.session_id = Some("other".into());
    let error = db.save_run(session("s", 1), &r).await.unwrap_err();
    assert!(matches!(error, DbError::InvalidInput(_)), "{error:?}");
    assert_eq!(db.get_run("r").await.unwrap(), None);
}

async fn upsert_replaces_values_but_keeps_created_at_and_totals(db: &dyn Db) {
    db.save_run(session("s", 100), &run("r", 100))
        .await
        .unwrap();
    let mut s = session("s", 999);
    s.updated_at = 1_000;
    s.session_name = Some("renamed".into());
    s.session_state.insert("k".into(), json!("v"));
    db.upsert_session(s).await.unwrap();
    let stored = db.get_session("s").await.unwrap().unwrap();
    assert_eq!(stored.created_at, 100);
    assert_eq!(stored.updated_at, 1_000);
    assert_eq!(stored.session_name.as_deref(), Some("renamed"));
    assert_eq!(stored.session_state.get("k"), Some(&json!("v")));
    // The totals kept by the run are still there: another run adds to them.
    db.save_run(session("s", 100), &run("r2", 101))
        .await
        .unwrap();
    assert_eq!(db.get_runs("s").await.unwrap().len(), 2);
}

async fn lists_page_sort_and_filter(db: &dyn Db) {
    for (i, (id, user, name)) in [
        ("s1", "u1", "Alpha"),
        ("s2", "u2", "beta 50%"),
        ("s3", "u1", "Gamma"),
        ("s4", "u2", "delta"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut s = session(id, 100 + i as i64);
        s.user_id = Some(user.into());
        s.session_name = Some(name.into());
        db.upsert_session(s).await.unwrap();
    }
    let page = |q: SessionQuery| async move {
        let page = db.list_sessions(q).await.unwrap();
        let ids: Vec<String> = page.sessions.iter().map(|s| s.session_id.clone()).collect();
        (ids, page.total_count, page.total_pages)
    };
    assert_eq!(
        page(SessionQuery::default()).await,
        (
            vec!["s4".into(), "s3".into(), "s2".into(), "s1".into()],
            4,
            1
        )
    );
    let q = SessionQuery {
        limit: Some(3),
        page: Some(2),
        sort_order: Some(SortOrder::Asc),
        ..Default::default()
    };
    assert_eq!(page(q).await, (vec!["s4".into()], 4, 2));
    let q = SessionQuery {
        sort_by: Some("session_name".into()),
        sort_order: Some(SortOrder::Asc),
        ..Default::default()
    };
    assert_eq!(
        page(q).await.0,
        ["s1", "s2", "s4", "s3"],
        "names sort without regard to case"
    );
    let q = SessionQuery {
        user_id: Some("u1".into()),
        ..Default::default()
    };
    assert_eq!(page(q).await.0, ["s3", "s1"]);
    let q = SessionQuery {
        session_name: Some("50%".into()),
        ..Default::default()
    };
    assert_eq!(page(q).await.0, ["s2"], "% is matched as itself");
    let q = SessionQuery {
        session_name: Some("ALPHA".into()),
        ..Default::default()
    };
    assert_eq!(page(q).await.0, ["s1"]);
    let q = SessionQuery {
        session_type: Some(SessionType::Agent),
        component_id: Some("agent-1".into()),
        ..Default::default()
    };
    assert_eq!(page(q).await.1, 4);
    let q = SessionQuery {
        component_id: Some("agent-2".into()),
        ..Default::default()
    };
    assert_eq!(page(q).await.1, 0);
    for bad in [
        SessionQuery {
            limit: Some(0),
            ..Default::default()
        },
        SessionQuery {
            sort_by: Some("nope".into()),
            ..Default::default()
        },
    ] {
        let error = db.list_sessions(bad).await.unwrap_err();
        assert!(matches!(error, DbError::InvalidQuery(_)), "{error:?}");
    }
}

async fn delete_takes_the_runs_with_the_session(db: &dyn Db) {
    db.save_run(session("s", 1), &run("r1", 1)).await.unwrap();
    db.save_run(session("t", 1), &run("r2", 1)).await.unwrap();
    assert!(db.delete_session("s", None).await.unwrap());
    assert!(!db.delete_session("s", None).await.unwrap());
    assert_eq!(db.get_run("r1").await.unwrap(), None);
    assert_eq!(
        db.delete_sessions(vec!["t".into(), "nope".into()], None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(db.get_run("r2").await.unwrap(), None);
}

async fn rename_sets_the_name_only(db: &dyn Db) {
    let mut s = session("s", 1);
    s.session_state.insert("k".into(), json!(1));
    db.save_run(s, &run("r", 1)).await.unwrap();
    let renamed = db
        .rename_session("s", "New name", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.session_name.as_deref(), Some("New name"));
    assert_eq!(renamed.session_state.get("k"), Some(&json!(1)));
    assert_eq!(db.rename_session("nope", "x", None).await.unwrap(), None);
}

async fn a_runs_write_keeps_what_others_wrote_in_between(db: &dyn Db) {
    let mut s = session("s", 1);
    s.session_state.insert("a".into(), json!(1));
    db.save_run(s, &run("r1", 1)).await.unwrap();
    db.rename_session("s", "renamed", None).await.unwrap();
    // A run that read the session before the rename, and changed key b.
    let mut s = session("s", 1);
    s.session_name = Some("stale name".into());
    s.session_state.insert("b".into(), json!(2));
    db.save_run(s, &run("r2", 2)).await.unwrap();
    let stored = db.get_session("s").await.unwrap().unwrap();
    assert_eq!(stored.session_name.as_deref(), Some("renamed"));
    assert_eq!(
        serde_json::Value::Object(stored.session_state),
        json!({"a": 1, "b": 2})
    );
}

async fn runs_read_in_pages_and_from_the_end(db: &dyn Db) {
    for i in 0..5 {
        db.save_run(session("s", 1), &run(&format!("r{i}"), i))
            .await
            .unwrap();
    }
    assert_eq!(
        ids(&db.get_runs_page("s", 2, 2).await.unwrap()),
        ["r2", "r3"]
    );
    assert_eq!(ids(&db.get_runs_page("s", 2, 3).await.unwrap()), ["r4"]);
    assert_eq!(ids(&db.recent_runs("s", 2).await.unwrap()), ["r3", "r4"]);
    assert!(matches!(
        db.get_runs_page("s", 0, 1).await,
        Err(DbError::InvalidQuery(_))
    ));
}

async fn concurrent_runs_of_one_session_get_every_index_once(db: &dyn Db) {
    let saves = (0..40).map(|i| async move {
        db.save_run(session("s", 1), &run(&format!("r{i:02}"), 1))
            .await
    });
    for result in futures_util::future::join_all(saves).await {
        result.unwrap();
    }
    let runs = db.get_runs("s").await.unwrap();
    assert_eq!(runs.len(), 40);
    let mut seen: Vec<&str> = ids(&runs);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 40, "a run listed twice");
}

async fn a_nul_character_does_not_stop_a_run_being_stored(db: &dyn Db) {
    let mut r = run("r", 1);
    r.content = Some("before\0after".into());
    db.save_run(session("s", 1), &r).await.unwrap();
    let stored = db.get_run("r").await.unwrap().unwrap();
    let content = stored.content.unwrap();
    assert!(
        content == "before\0after" || content == "beforeafter",
        "{content:?}"
    );
}

fn hook_job(id: &str, claimed_by: Option<&str>) -> NewJob {
    NewJob {
        id: id.into(),
        job_type: JobType::Hook,
        hook_name: Some("notify".into()),
        run_id: None,
        component_id: "agent-1".into(),
        session_id: "s".into(),
        user_id: Some("user-1".into()),
        payload: json!({"hook": "notify"}).to_string(),
        max_attempts: 2,
        claimed_by: claimed_by.map(str::to_owned),
        idempotency_key: None,
    }
}

/// The hooks a worker of these tests can run.
fn hooks() -> Vec<String> {
    vec!["notify".into()]
}

fn settle(id: &str, attempt: u32, outcome: JobOutcome) -> JobSettlement {
    JobSettlement {
        id: id.into(),
        attempt,
        outcome,
    }
}

async fn hook_jobs_are_claimed_once_retried_failed_and_requeued(db: &dyn Db) {
    let jobs = vec![hook_job("j1", None), hook_job("j2", Some("me"))];
    db.save_run_with_jobs(session("s", 1), &run("r", 1), jobs, None)
        .await
        .unwrap();
    let agents = || vec!["agent-1".to_owned()];
    assert!(
        db.claim_jobs("w", vec!["other".into()], hooks(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = db.claim_jobs("w", agents(), hooks(), 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "only the queued one");
    assert_eq!((claimed[0].id.as_str(), claimed[0].attempt), ("j1", 1));
    let payload: serde_json::Value = serde_json::from_str(&claimed[0].payload).unwrap();
    assert_eq!(payload, json!({"hook": "notify"}));
    assert!(
        db.claim_jobs("w", agents(), hooks(), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let stats = db.job_stats().await.unwrap();
    assert_eq!(stats.counts["running"], 2);
    // j2 completes (deleted); j1 fails once: queued again, later.
    let changed = db
        .settle_jobs(vec![
            settle("j2", 1, JobOutcome::Completed),
            settle(
                "j1",
                1,
                JobOutcome::Retry {
                    error: "boom".into(),
                    delay_secs: 0,
                },
            ),
            // A stale attempt changes nothing.
            settle("j1", 7, JobOutcome::Completed),
        ])
        .await
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(db.get_job("j2").await.unwrap(), None);
    let j1 = db.get_job("j1").await.unwrap().unwrap();
    assert_eq!(
        (j1.status, j1.error.as_deref()),
        (JobStatus::Queued, Some("boom"))
    );
    assert_eq!(j1.payload, json!({"hook": "notify"}));

    let claimed = db.claim_jobs("w", agents(), hooks(), 10).await.unwrap();
    assert_eq!(claimed[0].attempt, 2);
    db.settle_jobs(vec![settle(
        "j1",
        2,
        JobOutcome::Failed {
            error: "gave up".into(),
        },
    )])
    .await
    .unwrap();
    let (failed, total) = db
        .list_jobs(JobQuery::of_status(JobStatus::Failed))
        .await
        .unwrap();
    assert_eq!((failed.len(), total), (1, 1));
    assert_eq!(failed[0].error.as_deref(), Some("gave up"));

    assert_eq!(db.requeue_job("j1").await.unwrap(), Some(true));
    assert_eq!(
        db.requeue_job("j1").await.unwrap(),
        Some(false),
        "queued now"
    );
    assert_eq!(db.requeue_job("nope").await.unwrap(), None);
    let claimed = db.claim_jobs("w", agents(), hooks(), 10).await.unwrap();
    // One more attempt; the count goes on (it is the fence: a worker
    // still holding attempt 1 or 2 can never settle this one).
    assert_eq!((claimed[0].attempt, claimed[0].max_attempts), (3, 3));
    assert_eq!(
        db.settle_jobs(vec![settle("j1", 1, JobOutcome::Completed)])
            .await
            .unwrap(),
        0
    );
    // Released by a shutdown: queued again, its attempt not counted.
    db.settle_jobs(vec![settle("j1", 3, JobOutcome::Released)])
        .await
        .unwrap();
    assert_eq!(
        db.claim_jobs("w", agents(), hooks(), 10).await.unwrap()[0].attempt,
        3
    );
}

async fn background_run_jobs_keep_their_key_and_cancel_while_queued(db: &dyn Db) {
    let pending = |id: &str| RunOutput {
        status: RunStatus::Pending,
        ..run(id, 1)
    };
    let job = |id: &str| NewJob {
        job_type: JobType::Run,
        idempotency_key: Some(format!("key-{id}")),
        max_attempts: 1,
        ..hook_job(id, None)
    };
    for id in ["b1", "b2"] {
        db.save_run_with_jobs(session("s", 1), &pending(id), vec![job(id)], None)
            .await
            .unwrap();
    }
    assert_eq!(db.queued_runs().await.unwrap(), 2);
    let found = db
        .job_by_key("key-b1", Some("user-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "b1");
    assert_eq!(db.job_by_key("key-b1", None).await.unwrap(), None);

    assert!(db.cancel_queued_run("b2").await.unwrap());
    assert!(!db.cancel_queued_run("b2").await.unwrap());
    assert_eq!(
        db.get_run("b2").await.unwrap().unwrap().status,
        RunStatus::Cancelled
    );
    let claimed = db
        .claim_jobs("w", vec!["agent-1".into()], hooks(), 10)
        .await
        .unwrap();
    assert_eq!(ids_of(&claimed), ["b1"]);
    assert!(!db.cancel_queued_run("b1").await.unwrap(), "running now");
    // The run's final write (fenced by its attempt) completes its job.
    let fence = JobFence {
        job_id: "b1".into(),
        attempt: 1,
    };
    db.save_run_with_jobs(session("s", 1), &run("b1", 1), Vec::new(), Some(fence))
        .await
        .unwrap();
    let b1 = db.get_job("b1").await.unwrap().unwrap();
    assert_eq!(b1.status, JobStatus::Completed, "a run's job is kept");
    assert_eq!(
        db.prune_jobs(std::time::Duration::ZERO, std::time::Duration::MAX)
            .await
            .unwrap(),
        2
    );
    assert_eq!(db.get_job("b1").await.unwrap(), None);
}

fn ids_of(jobs: &[agno_server::db::ClaimedJob]) -> Vec<&str> {
    jobs.iter().map(|j| j.id.as_str()).collect()
}

async fn a_fenced_write_of_a_job_taken_over_writes_nothing(db: &dyn Db) {
    let pending = RunOutput {
        status: RunStatus::Pending,
        ..run("b", 1)
    };
    let job = NewJob {
        job_type: JobType::Run,
        max_attempts: 3,
        ..hook_job("b", Some("me"))
    };
    db.save_run_with_jobs(session("s", 1), &pending, vec![job], None)
        .await
        .unwrap();
    let fence = |attempt| JobFence {
        job_id: "b".into(),
        attempt,
    };
    // Attempt 1 loses the job (its lease ran out): attempt 2 holds it.
    db.settle_jobs(vec![settle(
        "b",
        1,
        JobOutcome::Retry {
            error: "x".into(),
            delay_secs: 0,
        },
    )])
    .await
    .unwrap();
    let claimed = db
        .claim_jobs("w", vec!["agent-1".into()], hooks(), 10)
        .await
        .unwrap();
    assert_eq!(claimed[0].attempt, 2);
    let mut done = run("b", 1);
    done.content = Some("zombie".into());
    let error = db
        .save_run_with_jobs(session("s", 1), &done, Vec::new(), Some(fence(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DbError::Fenced { attempt: 1, .. }),
        "{error:?}"
    );
    let stored = db.get_run("b").await.unwrap().unwrap();
    assert_eq!(
        stored.status,
        RunStatus::Pending,
        "the zombie wrote nothing"
    );

    // The holder's write ends the run and its job in one commit: no crash
    // can leave a finished run whose job looks abandoned.
    done.content = Some("second".into());
    db.save_run_with_jobs(session("s", 1), &done, Vec::new(), Some(fence(2)))
        .await
        .unwrap();
    let job = db.get_job("b").await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    // Its outcome, reported after, changes nothing; nor does a failure.
    let changed = db
        .settle_jobs(vec![
            settle("b", 2, JobOutcome::Completed),
            settle(
                "b",
                2,
                JobOutcome::Failed {
                    error: "late".into(),
                },
            ),
        ])
        .await
        .unwrap();
    assert_eq!(changed, 0);
    let stored = db.get_run("b").await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.content.as_deref()),
        (RunStatus::Completed, Some("second"))
    );
    // A second write of the same attempt is refused: the job is done.
    assert!(matches!(
        db.save_run_with_jobs(session("s", 1), &done, Vec::new(), Some(fence(2)))
            .await,
        Err(DbError::Fenced { .. })
    ));
}

async fn a_run_job_that_fails_for_good_ends_its_run_visibly(db: &dyn Db) {
    let pending = RunOutput {
        status: RunStatus::Pending,
        ..run("c", 1)
    };
    let job = NewJob {
        job_type: JobType::Run,
        max_attempts: 1,
        ..hook_job("c", Some("me"))
    };
    db.save_run_with_jobs(session("s", 1), &pending, vec![job], None)
        .await
        .unwrap();
    db.settle_jobs(vec![settle(
        "c",
        1,
        JobOutcome::Failed {
            error: "the server stopped".into(),
        },
    )])
    .await
    .unwrap();
    let stored = db.get_run("c").await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.content.as_deref()),
        (RunStatus::Error, Some("the server stopped"))
    );
    assert_eq!(
        db.get_job("c").await.unwrap().unwrap().status,
        JobStatus::Failed
    );
}

async fn deleting_a_session_copies_its_runs_into_the_jobs_that_refer_to_them(db: &dyn Db) {
    let mut stored = run("r", 1);
    stored.input = Some(RunInput::new("hello"));
    stored.content = Some("answer".into());
    // A durable post-hook's job that reads its run back instead of
    // copying it (what a job of the seed's `send_notification` does).
    let payload = json!({"hook": "notify", "run_id": "r"});
    let job = NewJob {
        payload: payload.to_string(),
        run_id: Some("r".into()),
        ..hook_job("j", None)
    };
    let other = NewJob {
        session_id: "t".into(),
        ..hook_job("k", None)
    };
    db.save_run_with_jobs(session("s", 1), &stored, vec![job, other], None)
        .await
        .unwrap();
    assert!(db.delete_session("s", None).await.unwrap());
    assert_eq!(db.get_run("r").await.unwrap(), None);
    let job = db.get_job("j").await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Queued, "the job is still to run");
    assert_eq!(job.payload, payload, "the store leaves the payload alone");
    // The claim hands the job the run as it was stored.
    let mut claimed = db
        .claim_jobs("w", vec!["agent-1".into()], hooks(), 10)
        .await
        .unwrap();
    claimed.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(ids_of(&claimed), ["j", "k"]);
    assert_eq!(claimed[0].run_id.as_deref(), Some("r"));
    let copy: RunOutput = serde_json::from_str(claimed[0].run.as_deref().unwrap()).unwrap();
    // As stored: with its session's id.
    stored.session_id = Some("s".into());
    assert_eq!(copy, stored);
    assert_eq!(
        (claimed[1].run_id.as_deref(), claimed[1].run.as_deref()),
        (None, None),
        "another job is left as it was"
    );
}

async fn jobs_list_by_status_session_and_user_sorted_and_paged(db: &dyn Db) {
    use agno_server::db::{JobSortKey, SortOrder};
    let job = |id: &str, session: &str, user: &str| NewJob {
        session_id: session.into(),
        user_id: Some(user.into()),
        ..hook_job(id, None)
    };
    // Made one write apart, so created_at orders them (one write each).
    for (id, sid, user) in [("a", "s1", "u1"), ("b", "s2", "u1"), ("c", "s2", "u2")] {
        db.save_run_with_jobs(
            session(sid, 1),
            &run(&format!("r-{id}"), 1),
            vec![job(id, sid, user)],
            None,
        )
        .await
        .unwrap();
    }
    let claimed = db
        .claim_jobs("w", vec!["agent-1".into()], hooks(), 1)
        .await
        .unwrap();
    let running = claimed[0].id.clone();
    let ids = |jobs: &[agno_server::db::JobRecord]| {
        let mut ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
        ids.sort();
        ids
    };
    let list = |query: JobQuery| async move { db.list_jobs(query).await.unwrap() };
    let (all, total) = list(JobQuery::default()).await;
    assert_eq!(
        (ids(&all), total),
        (vec!["a".to_owned(), "b".into(), "c".into()], 3)
    );
    let (queued, _) = list(JobQuery::of_status(JobStatus::Queued)).await;
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|j| j.id != running));
    let (both, _) = list(JobQuery {
        statuses: vec![JobStatus::Queued, JobStatus::Running],
        ..JobQuery::default()
    })
    .await;
    assert_eq!(both.len(), 3);
    let (of_s2, _) = list(JobQuery {
        session_ids: vec!["s2".into()],
        ..JobQuery::default()
    })
    .await;
    assert_eq!(ids(&of_s2), ["b", "c"]);
    let (of_u1_in_s2, _) = list(JobQuery {
        session_ids: vec!["s2".into(), "s9".into()],
        user_id: Some("u1".into()),
        ..JobQuery::default()
    })
    .await;
    assert_eq!(ids(&of_u1_in_s2), ["b"]);
    // Sorted, then paged: never completed jobs go last either way.
    for order in [SortOrder::Asc, SortOrder::Desc] {
        let (page, total) = list(JobQuery {
            sort_by: JobSortKey::CompletedAt,
            sort_order: order,
            limit: 2,
            page: 2,
            ..JobQuery::default()
        })
        .await;
        assert_eq!((page.len(), total), (1, 3));
    }
    let (by_id_desc, _) = list(JobQuery {
        sort_by: JobSortKey::AvailableAt,
        sort_order: SortOrder::Desc,
        ..JobQuery::default()
    })
    .await;
    let (by_id_asc, _) = list(JobQuery {
        sort_by: JobSortKey::AvailableAt,
        sort_order: SortOrder::Asc,
        ..JobQuery::default()
    })
    .await;
    let order =
        |jobs: &[agno_server::db::JobRecord]| jobs.iter().map(|j| j.id.clone()).collect::<Vec<_>>();
    let mut reversed = order(&by_id_asc);
    reversed.reverse();
    assert_eq!(
        order(&by_id_desc),
        reversed,
        "equal keys break ties by id, both ways"
    );
    assert!(matches!(
        db.list_jobs(JobQuery {
            limit: 0,
            ..JobQuery::default()
        })
        .await,
        Err(DbError::InvalidQuery(_))
    ));
}

async fn runs_in_flight_together_cannot_grow_a_state_past_its_ceiling(db: &dyn Db) {
    let write = |key: &str, run_id: &str| {
        // Each run checked the state as it loaded it (empty): alone, each
        // change fits under the ceiling.
        let mut s = session("s", 1);
        s.session_state.insert(key.into(), json!("x".repeat(60)));
        s.max_state_bytes = Some(100);
        (s, run(run_id, 1))
    };
    let (mut first, r1) = write("a", "r1");
    // A state exactly at its ceiling is kept: both stores measure compact
    // JSON, as the agent's check before the run does.
    first.max_state_bytes = Some(agno_server::db::json_len(&first.session_state));
    db.save_run(first, &r1).await.unwrap();
    // The second, merged on the state as stored now, would be ~140 bytes.
    let (second, r2) = write("b", "r2");
    let error = db.save_run(second, &r2).await.unwrap_err();
    assert!(
        matches!(error, DbError::StateTooLarge { limit: 100, bytes, .. } if bytes > 100),
        "{error:?}"
    );
    // Nothing of it was written: neither the key nor the run.
    let stored = db.get_session("s").await.unwrap().unwrap();
    assert_eq!(stored.session_state.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(stored.max_state_bytes, None, "not stored");
    assert_eq!(db.get_run("r2").await.unwrap(), None);
    // Without a ceiling, the same write goes through.
    let (mut third, r3) = write("b", "r3");
    third.max_state_bytes = None;
    db.save_run(third, &r3).await.unwrap();
}

async fn failed_jobs_are_listed_by_hook_and_agent_and_requeued_in_bulk(db: &dyn Db) {
    let job = |id: &str, hook: &str| NewJob {
        hook_name: Some(hook.into()),
        max_attempts: 1,
        ..hook_job(id, Some("w"))
    };
    db.save_run_with_jobs(
        session("s", 1),
        &run("r", 1),
        vec![job("m1", "mail"), job("m2", "mail"), job("a1", "audit")],
        None,
    )
    .await
    .unwrap();
    let failed = |id: &str| {
        settle(
            id,
            1,
            JobOutcome::Failed {
                error: "down".into(),
            },
        )
    };
    db.settle_jobs(vec![failed("m1"), failed("m2"), failed("a1")])
        .await
        .unwrap();
    let by_hook = |hook: &str| JobQuery {
        hook_names: vec![hook.into()],
        ..JobQuery::of_status(JobStatus::Failed)
    };
    assert_eq!(db.list_jobs(by_hook("mail")).await.unwrap().1, 2);
    let other_agent = JobQuery {
        component_ids: vec!["someone-else".into()],
        ..JobQuery::default()
    };
    assert_eq!(db.list_jobs(other_agent.clone()).await.unwrap().1, 0);
    assert!(db.requeue_jobs(other_agent).await.unwrap().is_empty());
    let requeued = db.requeue_jobs(by_hook("mail")).await.unwrap();
    assert_eq!(requeued, ["agent-1", "agent-1"]);
    assert_eq!(db.list_jobs(by_hook("mail")).await.unwrap().1, 0);
    let audit = db.get_job("a1").await.unwrap().unwrap();
    assert_eq!(
        audit.status,
        JobStatus::Failed,
        "another hook's job is left"
    );
    let mail = db.get_job("m1").await.unwrap().unwrap();
    assert_eq!((mail.status, mail.max_attempts), (JobStatus::Queued, 2));
}

async fn failed_jobs_and_old_runs_are_pruned_after_their_retention(db: &dyn Db) {
    use std::time::Duration;
    let job = |id: &str| NewJob {
        max_attempts: 1,
        idempotency_key: Some(format!("key-{id}")),
        ..hook_job(id, Some("w"))
    };
    let reading = NewJob {
        run_id: Some("r-kept".into()),
        ..hook_job("reads", None)
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    db.save_run_with_jobs(session("s", 1), &run("r-old", now), vec![job("f")], None)
        .await
        .unwrap();
    db.save_run_with_jobs(session("s", 1), &run("r-kept", now), vec![reading], None)
        .await
        .unwrap();
    db.settle_jobs(vec![settle(
        "f",
        1,
        JobOutcome::Failed {
            error: "down".into(),
        },
    )])
    .await
    .unwrap();
    // Within its retention the failed job stays, its key answering.
    assert_eq!(
        db.prune_jobs(Duration::ZERO, Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert!(
        db.job_by_key("key-f", Some("user-1"))
            .await
            .unwrap()
            .is_some()
    );
    // Past it, it goes, and its key with it; the queued job stays.
    assert_eq!(
        db.prune_jobs(Duration::ZERO, Duration::ZERO).await.unwrap(),
        1
    );
    assert!(db.get_job("f").await.unwrap().is_none());
    assert!(
        db.job_by_key("key-f", Some("user-1"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.get_job("reads").await.unwrap().is_some());
    // Old runs go too, but not one a job still reads back; the session stays.
    assert_eq!(db.prune_runs(Duration::from_secs(3600)).await.unwrap(), 0);
    assert_eq!(db.prune_runs(Duration::ZERO).await.unwrap(), 1);
    assert!(db.get_run("r-old").await.unwrap().is_none());
    assert!(db.get_run("r-kept").await.unwrap().is_some());
    assert!(db.get_session("s").await.unwrap().is_some());
}

#[tokio::test]
async fn sqlite_backlog_counts_up_to_its_bound() {
    let store = store_support::sqlite();
    let db = &*store.db;
    let jobs = (0..5).map(|i| hook_job(&format!("q{i}"), None)).collect();
    db.save_run_with_jobs(session("s", 1), &run("r", 1), jobs, None)
        .await
        .unwrap();
    let (queued, oldest) = db.job_backlog("agent-1", 3).await.unwrap();
    assert_eq!(queued, 3);
    assert!(oldest.is_some());
    assert_eq!(db.job_backlog("agent-1", 100).await.unwrap().0, 5);
}
