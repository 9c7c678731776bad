//! A session belongs to the user whose run first wrote it: another user
//! (or a caller naming no user) cannot write into it, rename or delete it
//! when scoped, or read it with `user_id`. Over real HTTP, on both stores
//! (`sqlite::` and `postgres::`), and two instances racing on one
//! Postgres.

mod os_support;
mod store_support;

use std::sync::Arc;

use agno_server::db::Db;
use agno_server::{Agent, Echo};
use os_support::{Server, json};

fn agent(db: Arc<dyn Db>) -> Agent {
    Agent::builder()
        .id("a")
        .model(Echo::new())
        .db_arc(db)
        .build()
        .unwrap()
}

async fn run(
    server: &Server,
    session: &str,
    user: Option<&str>,
    message: &str,
) -> (u16, serde_json::Value) {
    let mut fields = vec![
        ("message", message),
        ("stream", "false"),
        ("session_id", session),
    ];
    if let Some(user) = user {
        fields.push(("user_id", user));
    }
    server.post_json("/agents/a/runs", &fields).await
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
    another_users_run_is_refused_and_reads_are_scoped,
    two_users_racing_on_one_new_session_leave_one_owner,
);

async fn another_users_run_is_refused_and_reads_are_scoped(db: Arc<dyn Db>) {
    let server = Server::agent(agent(db.clone())).await;
    let (status, first) = run(&server, "s-own", Some("alice"), "alice-secret").await;
    assert_eq!(status, 200, "{first}");
    let alice_run = first["run_id"].as_str().unwrap().to_owned();

    // The takeover the issue found: refused as Agno refuses it.
    let (status, body) = run(&server, "s-own", Some("bob"), "give me the history").await;
    assert_eq!(
        (status, body),
        (404, serde_json::json!({"detail": "Session not found"}))
    );
    // A caller naming no user cannot write into an owned session either.
    let (status, body) = run(&server, "s-own", None, "anonymous").await;
    assert_eq!(
        (status, body),
        (404, serde_json::json!({"detail": "Session not found"}))
    );
    // Nor can a background run.
    let (status, body) = server
        .post_json(
            "/agents/a/runs",
            &[
                ("message", "bg"),
                ("stream", "false"),
                ("background", "true"),
                ("session_id", "s-own"),
                ("user_id", "bob"),
            ],
        )
        .await;
    assert_eq!(
        (status, body),
        (404, serde_json::json!({"detail": "Session not found"}))
    );
    // Nor a streamed one (refused before the stream starts).
    let response = server
        .post_form(
            "/agents/a/runs",
            &[
                ("message", "s"),
                ("session_id", "s-own"),
                ("user_id", "bob"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 404);

    // The owner never changed, and nothing of the refused runs is stored.
    let session = db.get_session("s-own").await.unwrap().unwrap();
    assert_eq!(session.user_id.as_deref(), Some("alice"));
    let runs = db.get_runs("s-own").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run_id, alice_run);
    assert!(db.list_jobs(Default::default()).await.unwrap().0.is_empty());

    // Reads with bob's user_id see nothing of alice's.
    let (status, body) = json(
        server
            .get("/sessions/s-own/runs?type=agent&user_id=bob")
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            404,
            serde_json::json!({"detail": "Session with ID s-own not found"})
        )
    );
    let (status, _) = json(server.get("/sessions/s-own?user_id=bob").await).await;
    assert_eq!(status, 404);
    let (status, _) = json(
        server
            .get(&format!("/sessions/s-own/runs/{alice_run}?user_id=bob"))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = json(
        server
            .get(&format!("/agents/a/runs/{alice_run}?user_id=bob"))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    let (_, page) = json(server.get("/sessions?user_id=bob").await).await;
    assert_eq!(page["meta"]["total_count"], 0);
    // ... and alice's see it.
    let (status, runs) = json(server.get("/sessions/s-own/runs?user_id=alice").await).await;
    assert_eq!(status, 200);
    assert_eq!(runs[0]["content"], "Echo: alice-secret");
    let (status, _) = json(
        server
            .get(&format!("/agents/a/runs/{alice_run}?user_id=alice"))
            .await,
    )
    .await;
    assert_eq!(status, 200);

    // Scoped writes of another user's session are refused as if it did not
    // exist; the session is untouched.
    let rename = server
        .client
        .post(server.url("/sessions/s-own/rename?user_id=bob"))
        .json(&serde_json::json!({"session_name": "mine now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rename.status().as_u16(), 404);
    let delete = server
        .client
        .delete(server.url("/sessions/s-own?user_id=bob"))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status().as_u16(), 404);
    let delete_many = server
        .client
        .delete(server.url("/sessions?user_id=bob"))
        .json(&serde_json::json!({"session_ids": ["s-own"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(delete_many.status().as_u16(), 204);
    let session = db.get_session("s-own").await.unwrap().unwrap();
    assert_eq!(session.session_name, None);
    assert_eq!(db.get_runs("s-own").await.unwrap().len(), 1);

    // The owner continues the session, with its history.
    let (status, body) = run(&server, "s-own", Some("alice"), "again").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(db.get_runs("s-own").await.unwrap().len(), 2);

    // A session without an owner is shared until a user writes into it.
    let (status, _) = run(&server, "s-shared", None, "one").await;
    assert_eq!(status, 200);
    let (status, _) = run(&server, "s-shared", None, "two").await;
    assert_eq!(status, 200);
    let (status, _) = run(&server, "s-shared", Some("carol"), "three").await;
    assert_eq!(status, 200);
    let shared = db.get_session("s-shared").await.unwrap().unwrap();
    assert_eq!(shared.user_id.as_deref(), Some("carol"));
    let (status, _) = run(&server, "s-shared", Some("dave"), "four").await;
    assert_eq!(status, 404);
    server.shutdown().await;
}

/// 200 runs of two users at once on one session id that does not exist
/// yet: whoever commits first owns it; every run of the other user is
/// refused, and none of theirs is stored.
async fn race(servers: &[&Server], db: &Arc<dyn Db>) {
    let mut tasks = Vec::new();
    for i in 0..200 {
        let server = servers[i % servers.len()];
        let (base, client) = (server.base.clone(), server.client.clone());
        let user = if i % 2 == 0 { "alice" } else { "bob" };
        tasks.push(tokio::spawn(async move {
            let form = reqwest::multipart::Form::new()
                .text("message", format!("{user} {i}"))
                .text("stream", "false")
                .text("session_id", "s-race")
                .text("user_id", user);
            let response = client
                .post(format!("{base}/agents/a/runs"))
                .multipart(form)
                .send()
                .await
                .unwrap();
            (user, json(response).await)
        }));
    }
    let mut answered = std::collections::HashMap::<(&str, u16), usize>::new();
    let mut stored_ids = std::collections::HashSet::new();
    for task in tasks {
        let (user, (status, body)) = task.await.unwrap();
        *answered.entry((user, status)).or_default() += 1;
        if status == 200 {
            stored_ids.insert(body["run_id"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(body, serde_json::json!({"detail": "Session not found"}));
        }
    }
    let owner = db
        .get_session("s-race")
        .await
        .unwrap()
        .unwrap()
        .user_id
        .unwrap();
    let loser = if owner == "alice" { "bob" } else { "alice" };
    assert_eq!(
        answered.get(&(owner.as_str(), 200)),
        Some(&100),
        "{answered:?}"
    );
    assert_eq!(answered.get(&(loser, 404)), Some(&100), "{answered:?}");
    let runs = db.get_runs("s-race").await.unwrap();
    assert_eq!(runs.len(), 100);
    assert!(
        runs.iter()
            .all(|r| r.user_id.as_deref() == Some(owner.as_str()))
    );
    let ids: std::collections::HashSet<String> = runs.into_iter().map(|r| r.run_id).collect();
    assert_eq!(ids, stored_ids);
}

async fn two_users_racing_on_one_new_session_leave_one_owner(db: Arc<dyn Db>) {
    let server = Server::agent(agent(db.clone())).await;
    race(&[&server], &db).await;
    server.shutdown().await;
}

/// The same race across two instances, each with a pool of its own, on
/// one Postgres schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_racing_on_one_session_leave_one_owner() {
    let schema = store_support::schema_name();
    let lease = std::time::Duration::from_secs(30);
    let first: Arc<dyn Db> = Arc::new(store_support::postgres_on(&schema, lease).await);
    let second: Arc<dyn Db> = Arc::new(store_support::postgres_on(&schema, lease).await);
    let one = Server::agent(agent(first.clone())).await;
    let two = Server::agent(agent(second)).await;
    race(&[&one, &two], &first).await;
    one.shutdown().await;
    two.shutdown().await;
}
