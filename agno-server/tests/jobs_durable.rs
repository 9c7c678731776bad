//! Durable background hooks on a real SQLite file: written with their run
//! in one transaction, run at once, retried, failed visibly, left queued
//! by a shutdown, and run again by a new process after a SIGKILL.

use agno_server::db::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agno_server::agent::Agent;
use agno_server::db::{JobQuery, JobStatus, SqliteDb};
use agno_server::jobs::JobOptions;
use agno_server::model::Echo;
use agno_server::{
    AgentError, FromHookArgs, HookArgs, HookError, Job, RunId, RunInput, RunOutput, RunStatus, hook,
};
use tokio::sync::{Semaphore, mpsc};

/// What the hooks of these tests report, and a gate that holds them.
#[derive(Clone)]
struct Probe {
    seen: mpsc::UnboundedSender<(String, String, u32, String)>,
    open: Arc<Semaphore>,
    /// Attempts that fail before one succeeds.
    failures: Arc<Mutex<u32>>,
}

impl Probe {
    fn new(gate_open: bool) -> (Self, mpsc::UnboundedReceiver<(String, String, u32, String)>) {
        let (seen, rx) = mpsc::unbounded_channel();
        let open = Arc::new(Semaphore::new(if gate_open {
            Semaphore::MAX_PERMITS
        } else {
            0
        }));
        (
            Self {
                seen,
                open,
                failures: Arc::new(Mutex::new(0)),
            },
            rx,
        )
    }
}

impl<'a> FromHookArgs<'a> for &'a Probe {
    type Available = agno_server::AnyPhase;
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.extension::<Probe>()
            .ok_or_else(|| HookError::msg("no Probe"))
    }
}

/// Reports (run id, job id, attempt, the output's content), after the
/// gate lets it through; fails while `failures` is above 0.
#[hook(run_in_background = true, durable = true)]
async fn notify(
    run_output: &RunOutput,
    run_id: &RunId,
    job: &Job,
    probe: &Probe,
) -> Result<(), String> {
    probe
        .open
        .acquire()
        .await
        .map_err(|e| e.to_string())?
        .forget();
    let _ = probe.seen.send((
        run_id.0.clone(),
        job.id.clone(),
        job.attempt,
        run_output.content.clone().unwrap_or_default(),
    ));
    let mut failures = probe.failures.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        return Err(format!("mail server down (attempt {})", job.attempt));
    }
    Ok(())
}

/// A background pre-hook left to the agent's default (durable with a
/// store).
#[hook(run_in_background = true)]
fn log_request(run_input: &RunInput, probe: &Probe) {
    let _ = probe.seen.send((
        "pre".into(),
        String::new(),
        0,
        run_input.input_content.clone(),
    ));
}

/// Inline: holds a run at the probe's gate (a background run in flight).
#[hook]
async fn hold(probe: &Probe) {
    if let Ok(permit) = probe.open.acquire().await {
        permit.forget();
    }
}

/// The agent whose background runs the crash test holds in their
/// pre-phase.
fn runs_agent(db: &SqliteDb, probe: Probe) -> Agent {
    Agent::builder()
        .id("runs")
        .model(Echo::new())
        .db(db.clone())
        .pre_hooks(hold)
        .extension(probe)
        .build()
        .unwrap()
}

fn agent(db: &SqliteDb, probe: Probe, options: JobOptions) -> Agent {
    Agent::builder()
        .id("durable")
        .model(Echo::new())
        .db(db.clone())
        .post_hooks(notify)
        .extension(probe)
        .job_options(options)
        .build()
        .unwrap()
}

fn fast_retries() -> JobOptions {
    JobOptions {
        max_attempts: 3,
        retry_delay: Duration::from_secs(1),
        max_retry_delay: Duration::from_secs(1),
        poll_interval: Duration::from_millis(50),
        ..JobOptions::default()
    }
}

/// Polls `check` until it gives a value; fails the test (instead of
/// hanging) if it has not after 30 s.
async fn until<T, F: Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within 30 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn open_db(dir: &tempfile::TempDir) -> SqliteDb {
    SqliteDb::new(dir.path().join("agent.db")).unwrap()
}

fn raw(dir: &tempfile::TempDir) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.path().join("agent.db")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_hook_runs_at_once_with_its_job_and_is_deleted_when_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, mut seen) = Probe::new(true);
    let agent = Agent::builder()
        .id("durable")
        .model(Echo::new())
        .db(db.clone())
        .pre_hooks(log_request)
        .post_hooks(notify)
        .extension(probe)
        .build()
        .unwrap();
    assert!(agent.durable_hooks(), "durable by default with a store");
    let output = agent.run("hello").await.unwrap();
    let (pre, post) = (seen.recv().await.unwrap(), seen.recv().await.unwrap());
    let ((run_id, job_id, attempt, content), pre) = if pre.0 == "pre" {
        (post, pre)
    } else {
        (pre, post)
    };
    assert_eq!(pre.3, "hello");
    assert_eq!(run_id, output.run_id);
    assert_eq!(attempt, 1);
    assert_eq!(content, "Echo: hello");
    assert_eq!(uuid::Uuid::parse_str(&job_id).unwrap().get_version_num(), 7);
    let report = agent.jobs().shutdown(Duration::from_secs(10)).await;
    assert_eq!(report.released, 0);
    let counters = agent.jobs().counters();
    // Both ran as durable jobs; the pre-hook's row was written only if it
    // had not finished by the time its run was stored (see the test
    // below).
    assert_eq!(
        (counters.started, counters.completed),
        (2, 2),
        "{counters:?}"
    );
    assert!((1..=2).contains(&counters.enqueued), "{counters:?}");
    assert_eq!(
        agent.dispatcher().stats().spawned,
        0,
        "nothing ran in memory only"
    );
    let stats = db.job_stats().await.unwrap();
    assert!(stats.counts.values().all(|n| *n == 0), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_transaction_fails_leaves_no_job_and_a_job_that_fails_leaves_no_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, _seen) = Probe::new(true);
    let agent = agent(&db, probe, fast_retries());
    let conn = raw(&dir);
    // The run's insert fails: the job, in the same transaction, is not written.
    conn.execute_batch(
        "CREATE TRIGGER no_runs BEFORE INSERT ON agno_runs BEGIN SELECT RAISE(ABORT, 'injected run fault'); END;",
    )
    .unwrap();
    let error = agent.run("one").await.unwrap_err();
    assert!(matches!(error, AgentError::Db(_)), "{error}");
    let jobs: i64 = conn
        .query_row("SELECT count(*) FROM agno_jobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(jobs, 0);
    // The job's insert fails: the run is not acknowledged, nor stored.
    conn.execute_batch(
        "DROP TRIGGER no_runs;
         CREATE TRIGGER no_jobs BEFORE INSERT ON agno_jobs BEGIN SELECT RAISE(ABORT, 'injected job fault'); END;",
    )
    .unwrap();
    let error = agent.run("two").await.unwrap_err();
    assert!(error.to_string().contains("injected job fault"), "{error}");
    let runs: i64 = conn
        .query_row("SELECT count(*) FROM agno_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 0);
    assert_eq!(agent.jobs().counters().started, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_is_retried_with_the_same_job_id_then_failed_then_requeued() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, mut seen) = Probe::new(true);
    *probe.failures.lock().unwrap() = 3;
    let agent = agent(&db, probe.clone(), fast_retries());
    agent.start_jobs();
    let output = agent.run("hi").await.unwrap();
    assert_eq!(output.status, RunStatus::Completed);
    let mut attempts = Vec::new();
    for _ in 0..3 {
        attempts.push(seen.recv().await.unwrap());
    }
    let job_id = attempts[0].1.clone();
    assert!(
        attempts
            .iter()
            .all(|a| a.1 == job_id && a.0 == output.run_id)
    );
    assert_eq!(attempts.iter().map(|a| a.2).collect::<Vec<_>>(), [1, 2, 3]);
    // Out of attempts: failed, kept, with the reason.
    let job = until("the job failed", || async {
        let job = db.get_job(&job_id).await.unwrap().unwrap();
        (job.status == JobStatus::Failed).then_some(job)
    })
    .await;
    assert_eq!(job.attempt, 3);
    assert!(
        job.error.as_deref().unwrap().contains("attempt 3"),
        "{job:?}"
    );
    assert_eq!(job.payload["hook"], "notify");
    assert_eq!(job.payload["run_id"], output.run_id.as_str());
    let counters = agent.jobs().counters();
    assert_eq!((counters.retried, counters.failed), (2, 1), "{counters:?}");

    // Requeued (the mail server is back): it runs once more and is done.
    assert_eq!(db.requeue_job(&job_id).await.unwrap(), Some(true));
    agent.jobs().wake();
    let again = seen.recv().await.unwrap();
    assert_eq!(
        (again.1.as_str(), again.2),
        (job_id.as_str(), 4),
        "one more attempt, the count going on"
    );
    agent.jobs().shutdown(Duration::from_secs(10)).await;
    assert!(
        db.get_job(&job_id).await.unwrap().is_none(),
        "completed jobs are deleted"
    );
    assert_eq!(db.requeue_job(&job_id).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_beyond_max_concurrent_waits_in_the_store_and_all_of_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, mut seen) = Probe::new(false);
    let options = JobOptions {
        max_concurrent: 1,
        ..fast_retries()
    };
    let agent = agent(&db, probe.clone(), options);
    let mut runs = Vec::new();
    for i in 0..5 {
        runs.push(agent.run(format!("m{i}")).await.unwrap().run_id);
    }
    // One holds the only place; four wait in the store, never refused.
    let stats = db.job_stats().await.unwrap();
    assert_eq!(stats.counts["running"], 1, "{stats:?}");
    assert_eq!(stats.counts["queued"], 4, "{stats:?}");
    probe.open.add_permits(5);
    let mut done: Vec<String> = Vec::new();
    for _ in 0..5 {
        done.push(seen.recv().await.unwrap().0);
    }
    done.sort();
    runs.sort();
    assert_eq!(done, runs);
    agent.jobs().shutdown(Duration::from_secs(10)).await;
    assert_eq!(agent.dispatcher().stats().rejected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_unfinished_jobs_queued_and_the_next_start_runs_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, _seen) = Probe::new(false);
    let first = agent(&db, probe, fast_retries());
    let run_id = first.run("held").await.unwrap().run_id;
    let report = first.jobs().shutdown(Duration::from_millis(50)).await;
    assert_eq!((report.waited_for, report.released), (1, 1));
    let stats = db.job_stats().await.unwrap();
    assert_eq!(stats.counts["queued"], 1, "left queued, not cut: {stats:?}");

    // The next start (a new agent on the same file) runs it, from the
    // snapshot in the store, as its first counted attempt.
    let (probe, mut seen) = Probe::new(true);
    let second = agent(&db, probe, fast_retries());
    second.start_jobs();
    let (ran_for, _, attempt, content) = seen.recv().await.unwrap();
    assert_eq!((ran_for.as_str(), attempt), (run_id.as_str(), 1));
    assert_eq!(content, "Echo: held");
    second.jobs().shutdown(Duration::from_secs(10)).await;
}

/// A hook written by hand, not registered: once the program no longer has
/// it, its jobs cannot run.
struct Ephemeral;

static EPHEMERAL: agno_server::HookMeta = agno_server::HookMeta {
    run_in_background: true,
    durable: Some(true),
    phases: agno_server::Phases::POST,
    ..agno_server::HookMeta::new("ephemeral")
};

impl agno_server::Hook for Ephemeral {
    fn meta(&self) -> &'static agno_server::HookMeta {
        &EPHEMERAL
    }
    fn call<'a>(&'a self, _cx: &'a mut agno_server::HookContext) -> agno_server::HookCall<'a> {
        agno_server::HookCall::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_hook_is_gone_fails_visibly_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let before = Agent::builder()
        .id("durable")
        .model(Echo::new())
        .db(db.clone())
        .post_hooks(vec![Arc::new(Ephemeral) as agno_server::HookRef])
        .build()
        .unwrap();
    // Closed before the run: its job is stored queued, not started.
    before.jobs().shutdown(Duration::ZERO).await;
    before.run("x").await.unwrap();
    let (probe, _seen) = Probe::new(true);
    // This binary lacks the hook: the job waits for an instance that has
    // it, then fails, saying so.
    let options = JobOptions {
        missing_hook_timeout: Duration::ZERO,
        ..fast_retries()
    };
    let after = agent(&db, probe, options);
    after.start_jobs();
    let failed = until("a failed job", || async {
        let (jobs, _) = db
            .list_jobs(JobQuery::of_status(JobStatus::Failed))
            .await
            .unwrap();
        jobs.into_iter().next()
    })
    .await;
    let error = failed.error.unwrap();
    assert!(error.contains("no hook named \"ephemeral\""), "{error}");
    after.jobs().shutdown(Duration::from_secs(10)).await;
}

#[test]
fn durable_hooks_need_a_store_and_a_job_argument_needs_a_durable_hook() {
    let error = Agent::builder()
        .id("no-store")
        .model(Echo::new())
        .post_hooks(notify)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            AgentError::DurableWithoutStore { hook: "notify", .. }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("no store"), "{error}");

    #[hook(run_in_background = true, durable = false)]
    fn not_durable(job: &Job) {
        let _ = job;
    }
    let dir = tempfile::tempdir().unwrap();
    let error = Agent::builder()
        .id("not-durable")
        .model(Echo::new())
        .db(open_db(&dir))
        .post_hooks(not_durable)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            AgentError::JobWithoutDurable {
                hook: "not_durable",
                ..
            }
        ),
        "{error}"
    );
}

/// The child half of `a_sigkilled_process_leaves_its_jobs_and_the_next_start_runs_them`,
/// run only by it (`--ignored`, with `AGNO_JOBS_CHILD_DB` set): stores
/// three runs whose durable hooks are held at their gate, prints their
/// run ids, and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of a_sigkilled_process_leaves_its_jobs_and_the_next_start_runs_them"]
async fn sigkill_child() {
    let path = std::env::var("AGNO_JOBS_CHILD_DB").expect("run by its parent test only");
    let db = SqliteDb::new(path).unwrap();
    let (probe, _seen) = Probe::new(false);
    let agent = agent(&db, probe, fast_retries());
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            agent
                .run(format!("before the crash {i}"))
                .await
                .unwrap()
                .run_id,
        );
    }
    // A background run, accepted (202) and held in its pre-phase.
    let (held, _seen) = Probe::new(false);
    let runs = runs_agent(&db, held);
    let submitted = runs.submit("accepted, then the crash", None).await.unwrap();
    println!("STORED {}", ids.join(","));
    println!("RUNJOB {}", submitted.run_id);
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_process_leaves_its_jobs_and_the_next_start_runs_them() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sigkill_child", "--ignored", "--nocapture"])
        .env("AGNO_JOBS_CHILD_DB", &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap);
    let ids: Vec<String> = lines
        .find_map(|line| line.strip_prefix("STORED ").map(str::to_owned))
        .expect("the child stored its runs")
        .split(',')
        .map(str::to_owned)
        .collect();
    let run_job = lines
        .find_map(|line| line.strip_prefix("RUNJOB ").map(str::to_owned))
        .expect("the child queued a background run");
    child.kill().unwrap(); // SIGKILL: no drain, no shutdown
    child.wait().unwrap();

    let db = SqliteDb::new(&path).unwrap();
    let stats = db.job_stats().await.unwrap();
    // Three durable hooks and the background run.
    assert_eq!(
        stats.counts["running"], 4,
        "the dead process's jobs: {stats:?}"
    );
    let (running, _) = db
        .list_jobs(JobQuery::of_status(JobStatus::Running))
        .await
        .unwrap();
    let mut stored_jobs: Vec<String> = running
        .into_iter()
        .filter(|job| job.job_type == agno_server::db::JobType::Hook)
        .map(|job| job.id)
        .collect();
    let (probe, mut seen) = Probe::new(true);
    let agent = agent(&db, probe, fast_retries());
    agent.start_jobs();
    let mut ran = Vec::new();
    let mut ran_jobs = Vec::new();
    for _ in 0..3 {
        let (run_id, job_id, attempt, content) = seen.recv().await.unwrap();
        assert_eq!(attempt, 2, "the crashed attempt counts");
        assert!(content.starts_with("Echo: before the crash"), "{content}");
        ran.push(run_id);
        ran_jobs.push(job_id);
    }
    ran_jobs.sort();
    stored_jobs.sort();
    assert_eq!(
        ran_jobs, stored_jobs,
        "the job ids are those of before the crash"
    );
    ran.sort();
    let mut ids = ids;
    ids.sort();
    assert_eq!(
        ran, ids,
        "each acknowledged run's hook ran, by name, from its snapshot"
    );
    agent.jobs().shutdown(Duration::from_secs(10)).await;
    assert_eq!(agent.jobs().counters().recovered, 3);

    // The background run was under way (one attempt, Agno's default): it
    // is not run again, and its PENDING row now says ERROR, and why.
    let (probe, _seen) = Probe::new(true);
    let runs = runs_agent(&db, probe);
    assert_eq!(
        db.get_run(&run_job).await.unwrap().unwrap().status,
        RunStatus::Pending
    );
    runs.start_jobs();
    let failed = until("the background run ended", || async {
        let run = db.get_run(&run_job).await.unwrap().unwrap();
        (run.status != RunStatus::Pending).then_some(run)
    })
    .await;
    assert_eq!(failed.status, RunStatus::Error);
    assert!(
        failed
            .content
            .unwrap()
            .contains("the process running it stopped")
    );
    let job = db.get_job(&run_job).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    runs.jobs().shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_agent_is_gone_fails_visibly_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, _seen) = Probe::new(true);
    let gone = Agent::builder()
        .id("gone")
        .model(Echo::new())
        .db(db.clone())
        .post_hooks(notify)
        .extension(probe.clone())
        .build()
        .unwrap();
    // Closed: its hook's job and a background run are stored queued.
    gone.jobs().shutdown(Duration::ZERO).await;
    gone.run("x").await.unwrap();
    let submitted = gone.submit("later", None).await.unwrap();
    drop(gone);
    // A server without that agent fails them at start, saying why.
    let os = agno_server::AgentOS::builder()
        .agent(agent(&db, probe, fast_retries()))
        .ignore_env_security_key()
        .build()
        .unwrap();
    os.start_jobs();
    let failed = until("two failed jobs", || async {
        let (jobs, _) = db
            .list_jobs(JobQuery::of_status(JobStatus::Failed))
            .await
            .unwrap();
        (jobs.len() == 2).then_some(jobs)
    })
    .await;
    for job in &failed {
        let error = job.error.as_deref().unwrap();
        assert!(error.contains("no agent named gone"), "{error}");
    }
    let run = db.get_run(&submitted.run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_hook_starts_without_waiting_for_a_poll() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, mut seen) = Probe::new(true);
    // The worker would look at the store once an hour: a hook that waited
    // for a poll would not run within the test's 30 s.
    let options = JobOptions {
        poll_interval: Duration::from_secs(3600),
        ..JobOptions::default()
    };
    let agent = agent(&db, probe, options);
    let run_id = agent.run("now").await.unwrap().run_id;
    let (ran_for, _, attempt, _) = tokio::time::timeout(Duration::from_secs(30), seen.recv())
        .await
        .expect("the hook started at once, not at a poll")
        .unwrap();
    assert_eq!((ran_for, attempt), (run_id, 1));
    agent.jobs().shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_run_cut_by_the_shutdown_deadline_ends_error_and_is_not_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (held, _seen) = Probe::new(false);
    let runs = runs_agent(&db, held);
    let submitted = runs.submit("held in its pre-hook", None).await.unwrap();
    let report = runs.jobs().shutdown(Duration::from_millis(50)).await;
    assert_eq!(report.released, 0, "a run is not left to run again");
    // Its model call may have happened: the attempt counts, as a crash's
    // does, and with Agno's one attempt the run ends visibly.
    let run = db.get_run(&submitted.run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Error);
    assert!(
        run.content
            .as_deref()
            .unwrap()
            .contains("shutdown deadline"),
        "{run:?}"
    );
    let job = db.get_job(&submitted.run_id).await.unwrap().unwrap();
    assert_eq!((job.status, job.attempt), (JobStatus::Failed, 1));
    assert!(
        db.claim_jobs("next-start", vec!["runs".into()], Vec::new(), 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing left for the next start to run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_hook_of_a_deleted_session_still_runs_with_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, _seen) = Probe::new(false);
    let first = agent(&db, probe, fast_retries());
    let output = first.run("about to be deleted").await.unwrap();
    let session_id = output.session_id.clone().unwrap();
    // Its hook is held; the session (and with it the run) is deleted.
    assert!(db.delete_session(&session_id, None).await.unwrap());
    assert_eq!(db.get_run(&output.run_id).await.unwrap(), None);
    let report = first.jobs().shutdown(Duration::from_millis(50)).await;
    assert_eq!(report.released, 1);

    // The next start runs it from the store: the run was copied into the
    // job when the session went.
    let (probe, mut seen) = Probe::new(true);
    let second = agent(&db, probe, fast_retries());
    second.start_jobs();
    let (ran_for, _, _, content) = tokio::time::timeout(Duration::from_secs(30), seen.recv())
        .await
        .expect("the job ran")
        .unwrap();
    assert_eq!(ran_for, output.run_id);
    assert_eq!(content, "Echo: about to be deleted");
    second.jobs().shutdown(Duration::from_secs(10)).await;
    let (failed, _) = db
        .list_jobs(JobQuery::of_status(JobStatus::Failed))
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
}

/// A background hook that leaves `durable` to the agent, and takes its job.
#[hook(run_in_background = true)]
fn wants_its_job(job: &Job) {
    let _ = job;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_hooks_off_runs_them_in_memory_and_a_job_argument_is_then_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, mut seen) = Probe::new(true);
    // The agent's default off: a hook that does not say runs in memory.
    let agent = Agent::builder()
        .id("in-memory")
        .model(Echo::new())
        .db(db.clone())
        .pre_hooks(log_request)
        .extension(probe.clone())
        .durable_hooks(false)
        .build()
        .unwrap();
    assert!(!agent.durable_hooks());
    agent.run("hi").await.unwrap();
    assert_eq!(seen.recv().await.unwrap().3, "hi");
    agent.shutdown(Duration::from_secs(10)).await;
    assert_eq!(agent.dispatcher().stats().spawned, 1);
    assert_eq!(agent.jobs().counters().enqueued, 0);
    let stats = db.job_stats().await.unwrap();
    assert!(stats.counts.values().all(|n| *n == 0), "{stats:?}");

    // AgentOS's default off: the same, and a hook that needs its job is
    // refused when the server is built, not at its first run.
    let durable = Agent::builder()
        .id("durable")
        .model(Echo::new())
        .db(db.clone())
        .post_hooks(wants_its_job)
        .build()
        .unwrap();
    assert!(durable.durable_hooks());
    let error = agno_server::AgentOS::builder()
        .agent(durable)
        .durable_hooks(false)
        .ignore_env_security_key()
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            agno_server::os::OsError::Agent(AgentError::JobWithoutDurable {
                hook: "wants_its_job",
                ..
            })
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_past_the_byte_budget_wait_in_the_store_and_all_of_them_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, mut seen) = Probe::new(false);
    // Room for many jobs by count, for the bytes of one by size: each run
    // carries 10 KB of input.
    let options = JobOptions {
        max_running_bytes: 15_000,
        ..fast_retries()
    };
    let agent = agent(&db, probe.clone(), options);
    let mut runs = Vec::new();
    for i in 0..4 {
        let message = format!("{i}{}", "x".repeat(10_000));
        runs.push(agent.run(message).await.unwrap().run_id);
    }
    // One runs; the others wait in the store (the claim loop may have
    // claimed one more, which waits for the bytes before it starts).
    assert_eq!(agent.jobs().counters().running, 1);
    let stats = db.job_stats().await.unwrap();
    assert!(
        stats.counts["queued"] >= 2,
        "waiting in the store: {stats:?}"
    );
    assert_eq!(
        stats.counts["queued"] + stats.counts["running"],
        4,
        "{stats:?}"
    );
    probe.open.add_permits(4);
    let mut done = Vec::new();
    for _ in 0..4 {
        done.push(seen.recv().await.unwrap().0);
    }
    done.sort();
    runs.sort();
    assert_eq!(done, runs, "every job ran, none refused");
    agent.jobs().shutdown(Duration::from_secs(10)).await;
}

/// A model that answers only once the test's pre-hook has run.
struct AfterThePreHook(Arc<Semaphore>, Echo);

impl agno_server::model::Model for AfterThePreHook {
    fn id(&self) -> &str {
        "after-the-pre-hook"
    }
    fn provider(&self) -> &str {
        "Test"
    }
    fn invoke<'a>(
        &'a self,
        request: &'a agno_server::model::ModelRequest,
    ) -> agno_server::model::ModelFuture<'a> {
        Box::pin(async move {
            self.0.acquire().await.unwrap().forget();
            self.1.invoke(request).await
        })
    }
    fn invoke_stream<'a>(
        &'a self,
        request: &'a agno_server::model::ModelRequest,
    ) -> agno_server::model::ModelStream<'a> {
        self.1.invoke_stream(request)
    }
}

/// A durable pre-hook that lets the model answer, then ends (waiting at
/// the probe's gate first).
#[hook(run_in_background = true, durable = true)]
async fn opens_the_model(job: &Job, probe: &Probe, gate: &ModelGate) {
    if let Ok(permit) = probe.open.acquire().await {
        permit.forget();
    }
    let _ = probe
        .seen
        .send(("early".into(), job.id.clone(), job.attempt, String::new()));
    gate.0.add_permits(1);
}

/// What lets [`AfterThePreHook`] answer.
#[derive(Clone)]
struct ModelGate(Arc<Semaphore>);

impl<'a> FromHookArgs<'a> for &'a ModelGate {
    type Available = agno_server::AnyPhase;
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.extension::<ModelGate>()
            .ok_or_else(|| HookError::msg("no gate"))
    }
}

fn early_agent(db: &SqliteDb, probe: Probe, model_gate: Arc<Semaphore>) -> Agent {
    Agent::builder()
        .id("early")
        .model(AfterThePreHook(model_gate.clone(), Echo::new()))
        .db(db.clone())
        .pre_hooks(opens_the_model)
        .extension(probe)
        .extension(ModelGate(model_gate))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_pre_hook_done_before_its_run_is_stored_needs_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, mut seen) = Probe::new(true);
    let agent = early_agent(&db, probe, Arc::new(Semaphore::new(0)));
    // The model answers only after the pre-hook ended: by the time the run
    // is stored, the hook is done.
    let output = agent.run("quick").await.unwrap();
    assert_eq!(output.status, RunStatus::Completed);
    assert_eq!(seen.recv().await.unwrap().0, "early");
    agent.jobs().shutdown(Duration::from_secs(10)).await;
    let counters = agent.jobs().counters();
    assert_eq!(
        (counters.started, counters.completed, counters.enqueued),
        (1, 1, 0),
        "ran once, never written: {counters:?}"
    );
    let stats = db.job_stats().await.unwrap();
    assert!(stats.counts.values().all(|n| *n == 0), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_pre_hook_still_running_is_stored_with_its_run_and_settled_after() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    // The hook waits at the probe's gate; the model answers at once.
    let (probe, mut seen) = Probe::new(false);
    let model_gate = Arc::new(Semaphore::new(1));
    let agent = early_agent(&db, probe.clone(), model_gate);
    agent.run("slow").await.unwrap();
    // Stored with its run, as a job under way here (attempt 1).
    let (running, _) = db
        .list_jobs(JobQuery::of_status(JobStatus::Running))
        .await
        .unwrap();
    assert_eq!(running.len(), 1, "{running:?}");
    let job_id = running[0].id.clone();
    probe.open.add_permits(1);
    let (what, ran_as, attempt, _) = seen.recv().await.unwrap();
    assert_eq!(
        (what.as_str(), ran_as.as_str(), attempt),
        ("early", job_id.as_str(), 1)
    );
    agent.jobs().shutdown(Duration::from_secs(10)).await;
    assert_eq!(db.get_job(&job_id).await.unwrap(), None, "settled: deleted");
    assert_eq!(agent.jobs().counters().enqueued, 1);
}

/// A downstream outage longer than a few attempts (here five failed
/// attempts, the outage compressed: a second between attempts) fails no
/// hook with the default attempts (20): the job completes when the mail
/// server is back, with one job id throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_longer_than_a_few_attempts_fails_no_hook() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, mut seen) = Probe::new(true);
    *probe.failures.lock().unwrap() = 5;
    let options = JobOptions {
        retry_delay: Duration::from_secs(1),
        max_retry_delay: Duration::from_secs(1),
        poll_interval: Duration::from_millis(50),
        ..JobOptions::default()
    };
    assert_eq!(options.max_attempts, 20);
    let agent = agent(&db, probe.clone(), options);
    agent.start_jobs();
    agent.run("hi").await.unwrap();
    let attempts: Vec<_> = futures_collect(&mut seen, 6).await;
    assert_eq!(
        attempts.iter().map(|a| a.2).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    assert!(attempts.iter().all(|a| a.1 == attempts[0].1));
    until("the job done", || async {
        db.get_job(&attempts[0].1)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let counters = agent.jobs().counters();
    assert_eq!(
        (counters.retried, counters.failed, counters.completed),
        (5, 0, 1),
        "{counters:?}"
    );
    agent.jobs().shutdown(Duration::from_secs(10)).await;
}

async fn futures_collect<T>(rx: &mut mpsc::UnboundedReceiver<T>, n: usize) -> Vec<T> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        let next = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("within 30 s")
            .expect("open");
        all.push(next);
    }
    all
}

/// Hangs on its first attempt (its gate stays shut), returns at once on
/// the next: `timeout` frees the place of the hung one, which counts as a
/// failed attempt and is retried.
#[hook(
    run_in_background = true,
    durable = true,
    timeout = "200ms",
    max_attempts = 4
)]
async fn hangs_once(job: &Job, probe: &Probe) -> Result<(), String> {
    let _ = probe
        .seen
        .send(("hang".into(), job.id.clone(), job.attempt, String::new()));
    if job.attempt == 1 {
        let _never = probe.open.acquire().await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_attempt_times_out_and_is_retried_with_the_hooks_own_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, mut seen) = Probe::new(false);
    let agent = Agent::builder()
        .id("durable")
        .model(Echo::new())
        .db(db.clone())
        .post_hooks(hangs_once)
        .extension(probe)
        .job_options(fast_retries())
        .build()
        .unwrap();
    agent.start_jobs();
    agent.run("hi").await.unwrap();
    let attempts = futures_collect(&mut seen, 2).await;
    assert_eq!(attempts.iter().map(|a| a.2).collect::<Vec<_>>(), [1, 2]);
    let job_id = attempts[0].1.clone();
    until("the job done", || async {
        db.get_job(&job_id).await.unwrap().is_none().then_some(())
    })
    .await;
    let counters = agent.jobs().counters();
    assert_eq!((counters.retried, counters.failed), (1, 0), "{counters:?}");
    assert_eq!(hangs_once::META.max_attempts, Some(4));
    assert_eq!(hangs_once::META.timeout, Some(Duration::from_millis(200)));
    agent.jobs().shutdown(Duration::from_secs(10)).await;
}

/// A backlog past its bound (here 3 jobs waiting in the store behind one
/// place held by a hung notification): new runs are refused, over HTTP
/// with 503 and `Retry-After`, until it drains; then they run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_past_its_bound_refuses_new_runs_until_it_drains() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let (probe, _seen) = Probe::new(false);
    let options = JobOptions {
        max_concurrent: 1,
        max_backlog: 3,
        ..fast_retries()
    };
    let agent = agent(&db, probe.clone(), options);
    agent.start_jobs();
    // One notification runs (and hangs), the next ones wait in the store:
    // once 3 wait, the next run is refused (counted as they are queued,
    // not only at the once-a-second look).
    let mut accepted = 0;
    let refused = loop {
        match agent.run(format!("run {accepted}")).await {
            Ok(_) => {
                accepted += 1;
            }
            Err(error) => break error,
        }
        assert!(accepted <= 10, "never refused");
    };
    assert!(
        matches!(refused, AgentError::Backlogged { .. }),
        "{refused}"
    );
    assert!(accepted >= 3, "refused after {accepted} runs");
    until("the backlog is over its bound", || async {
        agent.jobs().backlog().over.then_some(())
    })
    .await;
    let os = agno_server::AgentOS::builder()
        .agent(agent.clone())
        .ignore_env_security_key()
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/agents/durable/runs",
        listener.local_addr().unwrap()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        os.serve_with_shutdown(listener, async {
            let _ = stopped.await;
        })
        .await
    });
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("message=over&stream=false")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    // The mail server is back: the backlog drains, runs are taken again.
    probe.open.add_permits(Semaphore::MAX_PERMITS / 2);
    until("the backlog drained", || async {
        (!agent.jobs().backlog().over).then_some(())
    })
    .await;
    agent.run("after").await.unwrap();
    // (The server shares the agent's worker: stopped last.)
    let _ = stop.send(());
    served.await.unwrap().unwrap();
}
