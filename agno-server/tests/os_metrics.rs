//! Agno's daily metrics over real HTTP, on both stores: `GET /metrics`
//! (summed per day, one owner's, the unowned bucket, a date range),
//! `POST /metrics/refresh` (at once and in the background, one at a time)
//! and `GET /metrics/refresh/status`, with Agno's refusals; a session
//! counts on its creation day, yesterday's day completed and kept.

mod os_support;
mod store_support;

use std::sync::Arc;

use agno_server::db::{Db, SessionRecord, SessionType};
use agno_server::{Agent, AgentOS, Echo};
use os_support::{Server, json};
use serde_json::Value;

fn agent(db: Arc<dyn Db>) -> Agent {
    Agent::builder()
        .id("a")
        .model(Echo::new())
        .db_arc(db)
        .build()
        .unwrap()
}

async fn run(server: &Server, session: &str, user: Option<&str>) {
    let mut fields = vec![
        ("message", "hello"),
        ("stream", "false"),
        ("session_id", session),
    ];
    if let Some(user) = user {
        fields.push(("user_id", user));
    }
    let (status, body) = server.post_json("/agents/a/runs", &fields).await;
    assert_eq!(status, 200, "{body}");
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    json(server.get(path).await).await
}

async fn post(server: &Server, path: &str) -> (u16, Value) {
    json(server.client.post(server.url(path)).send().await.unwrap()).await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn iso_day(epoch: i64) -> String {
    agno_server::db::Day::of(epoch).iso()
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::store_support::sqlite();
                    super::$name(store.db.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::store_support::postgres().await;
                    super::$name(store.db.clone()).await;
                }
            )*
        }
    };
}

on_both_stores!(
    days_owners_and_ranges_as_agno,
    refreshes_one_at_a_time_with_a_status,
    refusals_as_agno,
);

async fn days_owners_and_ranges_as_agno(db: Arc<dyn Db>) {
    // Yesterday's session, written directly with its creation time, and
    // a run into it today: it counts on yesterday.
    let yesterday = now() - 86_400;
    let mut old = SessionRecord::new("old", SessionType::Agent);
    old.agent_id = Some("a".into());
    old.user_id = Some("alice".into());
    old.created_at = yesterday;
    old.updated_at = yesterday;
    db.upsert_session(old).await.unwrap();
    let server = Server::agent(agent(db.clone())).await;
    run(&server, "old", Some("alice")).await;
    run(&server, "a1", Some("alice")).await;
    run(&server, "a1", Some("alice")).await;
    run(&server, "b1", Some("bob")).await;
    run(&server, "nobody", None).await;

    let (status, all) = get(&server, "/metrics").await;
    assert_eq!(status, 200, "{all}");
    let days = all["metrics"].as_array().unwrap();
    assert_eq!(days.len(), 2, "{all}");
    let (before, today) = (&days[0], &days[1]);
    assert_eq!(before["id"], format!("{}_daily", iso_day(yesterday)));
    assert_eq!(before["date"], format!("{}T00:00:00Z", iso_day(yesterday)));
    assert_eq!(before["agent_sessions_count"], 1);
    assert_eq!(
        before["agent_runs_count"], 1,
        "the run counts on its session's day"
    );
    assert_eq!(before["users_count"], 1);
    assert_eq!(today["id"], format!("{}_daily", iso_day(now())));
    assert_eq!(today["agent_sessions_count"], 3);
    assert_eq!(today["agent_runs_count"], 4);
    assert_eq!(today["users_count"], 2, "the unowned bucket counts no user");
    assert_eq!(
        today["model_metrics"],
        serde_json::json!([{"model_id": "echo", "model_provider": "Echo", "count": 4}])
    );
    assert!(today["token_metrics"]["input_tokens"].as_i64().unwrap() > 0);
    assert_eq!(today["token_metrics"].as_object().unwrap().len(), 9);
    assert!(all["updated_at"].as_str().unwrap().ends_with('Z'));

    // One owner's rows, with owner-named ids; the unowned bucket.
    let (_, alice) = get(&server, "/metrics?user_id=alice").await;
    let alice = alice["metrics"].as_array().unwrap().clone();
    assert_eq!(alice.len(), 2);
    assert_eq!(alice[1]["id"], format!("{}_alice_daily", iso_day(now())));
    assert_eq!(alice[1]["agent_runs_count"], 2);
    let (_, unowned) = get(&server, "/metrics?user_id=").await;
    let unowned = unowned["metrics"].as_array().unwrap().clone();
    assert_eq!(unowned.len(), 1);
    assert_eq!(unowned[0]["id"], format!("{}__daily", iso_day(now())));
    assert_eq!(unowned[0]["users_count"], 0);
    let (_, nobody) = get(&server, "/metrics?user_id=carol").await;
    assert_eq!(
        nobody,
        serde_json::json!({"metrics": [], "updated_at": null})
    );

    // Date ranges are inclusive, on the day.
    let (_, only_today) = get(
        &server,
        &format!("/metrics?starting_date={}", iso_day(now())),
    )
    .await;
    assert_eq!(only_today["metrics"].as_array().unwrap().len(), 1);
    let (_, only_yesterday) = get(
        &server,
        &format!("/metrics?ending_date={}", iso_day(yesterday)),
    )
    .await;
    assert_eq!(only_yesterday["metrics"].as_array().unwrap().len(), 1);

    // A refresh recomputes today only: yesterday's day is complete (a run
    // added to its session now is not counted, as in Agno).
    run(&server, "old", Some("alice")).await;
    run(&server, "a2", Some("alice")).await;
    let (status, written) = post(&server, "/metrics/refresh").await;
    assert_eq!(status, 200, "{written}");
    let written = written.as_array().unwrap();
    assert_eq!(written.len(), 1, "only today: {written:?}");
    assert_eq!(written[0]["agent_sessions_count"], 4);
    let (_, after) = get(&server, "/metrics").await;
    assert_eq!(
        after["metrics"][0]["agent_runs_count"], 1,
        "a completed day is kept"
    );
    assert_eq!(after["metrics"][1]["agent_runs_count"], 5);
    // The stored row's id and created_at are kept by the upsert.
    let (_, again) = post(&server, "/metrics/refresh?user_id=alice").await;
    assert_eq!(again[0]["id"], format!("{}_alice_daily", iso_day(now())));
    assert_eq!(again[0]["created_at"], alice[1]["created_at"]);
    server.shutdown().await;
}

async fn refreshes_one_at_a_time_with_a_status(db: Arc<dyn Db>) {
    let server = Server::agent(agent(db)).await;
    let (status, idle) = get(&server, "/metrics/refresh/status").await;
    assert_eq!((status, idle["status"].as_str()), (200, Some("idle")));
    assert_eq!(idle["started_at"], Value::Null);
    // Nothing stored yet: nothing to compute.
    let (status, empty) = post(&server, "/metrics/refresh").await;
    assert_eq!((status, empty), (200, serde_json::json!([])));
    run(&server, "s", Some("u")).await;
    let (status, started) = post(&server, "/metrics/refresh?background=true").await;
    assert_eq!(status, 202);
    assert!(
        started
            == serde_json::json!({"status": "started", "message": "Metrics refresh started in background"})
            || started["status"] == "already_running",
        "{started}"
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let done = loop {
        let (_, status) = get(&server, "/metrics/refresh/status").await;
        if status["status"] != "running" {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still running: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["finished_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(done["error"], Value::Null);
    let (_, all) = get(&server, "/metrics").await;
    assert_eq!(all["metrics"][0]["agent_runs_count"], 1);
    server.shutdown().await;
}

async fn refusals_as_agno(db: Arc<dyn Db>) {
    let server = Server::agent(agent(db)).await;
    let cases = [
        (
            "/metrics?table=agno_metrics",
            400,
            "The db_id query parameter is required when passing a table",
        ),
        (
            "/metrics?db_id=nope",
            404,
            "No database found with id 'nope'",
        ),
        (
            "/metrics?db_id=db-0&table=agno_sessions",
            404,
            "No database with id 'db-0' has table 'agno_sessions'",
        ),
        (
            "/metrics/refresh/status?db_id=nope",
            404,
            "No database found with id 'nope'",
        ),
    ];
    for (path, want, detail) in cases {
        let (status, body) = get(&server, path).await;
        assert_eq!(
            (status, body["detail"].as_str()),
            (want, Some(detail)),
            "{path}"
        );
    }
    let (status, body) = get(&server, "/metrics?starting_date=2026-02-30").await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = get(&server, "/metrics?db_id=db-0&table=agno_metrics").await;
    assert_eq!(status, 200);
    server.shutdown().await;

    // No store at all.
    let bare = Agent::builder().id("b").model(Echo::new()).build().unwrap();
    let os = AgentOS::builder()
        .agent(bare)
        .ignore_env_security_key()
        .build()
        .unwrap();
    let server = Server::start(os).await;
    let (status, body) = get(&server, "/metrics").await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (400, Some("No database is configured on this AgentOS"))
    );
    server.shutdown().await;
}
