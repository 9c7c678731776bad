//! Sessions and runs through the `Db` interface on a real SQLite file:
//! save, read back, list (paging, sorting, filters), rename, delete.

use agno_server::db::prelude::*;
use agno_server::db::{Db, DbError, SessionQuery, SessionRecord, SessionType, SortOrder, SqliteDb};
use agno_server::{Message, Metrics, RunInput, RunOutput, RunStatus};
use rusqlite::Connection;
use serde_json::{Value, json};
use tempfile::TempDir;

fn open() -> (TempDir, SqliteDb) {
    let dir = TempDir::new().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    (dir, db)
}

fn raw(dir: &TempDir) -> Connection {
    Connection::open(dir.path().join("agent.db")).unwrap()
}

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
        agent_name: Some("Agent".into()),
        user_id: Some("user-1".into()),
        input: Some(RunInput::new("hello")),
        content: Some(format!("answer {id}")),
        content_type: Some("str".into()),
        model: Some("echo".into()),
        model_provider: Some("Echo".into()),
        messages: vec![
            Message::new("user", "hello"),
            Message::new("assistant", "hi"),
        ],
        metrics: Some(Metrics {
            input_tokens: 2,
            output_tokens: 3,
            total_tokens: 5,
            duration: Some(0.5),
            time_to_first_token: None,
        }),
        status: RunStatus::Completed,
        created_at: at,
        ..Default::default()
    }
}

#[tokio::test]
async fn save_run_then_read_back_session_and_run() {
    let (dir, db) = open();
    let mut s = session("s1", 1_000);
    s.session_name = Some("First chat".into());
    s.session_state.insert("counter".into(), json!(2));
    s.agent_data = Some(json!({"name": "Agent", "agent_id": "agent-1", "model": {"id": "echo"}}));
    s.metadata = Some(json!({"source": "test"}).as_object().unwrap().clone());
    s.summary = Some(json!({"summary": "greetings"}));
    let r = run("r1", 1_000);
    db.save_run(s.clone(), &r).await.unwrap();

    // The store keeps the session's token total as runs are written.
    s.total_tokens = 5;
    assert_eq!(db.get_session("s1").await.unwrap(), Some(s.clone()));
    let mut expected = r.clone();
    expected.session_id = Some("s1".into());
    assert_eq!(db.get_runs("s1").await.unwrap(), vec![expected.clone()]);
    assert_eq!(db.get_run("r1").await.unwrap(), Some(expected.clone()));
    assert_eq!(db.get_run("nope").await.unwrap(), None);
    assert_eq!(db.get_session("nope").await.unwrap(), None);
    assert!(db.get_runs("nope").await.unwrap().is_empty());

    // On disk: Agno's shapes.
    let conn = raw(&dir);
    let (session_type, agent_id, user_id, data, agent_data): (
        String,
        String,
        String,
        String,
        String,
    ) = conn
        .query_row(
            "SELECT session_type, agent_id, user_id, session_data, agent_data FROM agno_sessions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        (session_type.as_str(), agent_id.as_str(), user_id.as_str()),
        ("agent", "agent-1", "user-1")
    );
    let data: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["session_state"], json!({"counter": 2}));
    assert_eq!(data["session_name"], "First chat");
    assert_eq!(data["session_metrics"]["total_tokens"], 5);
    assert_eq!(
        serde_json::from_str::<Value>(&agent_data).unwrap()["name"],
        "Agent"
    );

    let (run_type, status, run_index, run_data, session_id): (String, String, i64, String, String) = conn
        .query_row(
            "SELECT run_type, status, run_index, run_data, session_id FROM agno_runs WHERE run_id = 'r1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        (
            run_type.as_str(),
            status.as_str(),
            run_index,
            session_id.as_str()
        ),
        ("agent", "COMPLETED", 0, "s1")
    );
    let run_data: Value = serde_json::from_str(&run_data).unwrap();
    assert_eq!(run_data, serde_json::to_value(&expected).unwrap());
    assert_eq!(run_data["input"]["input_content"], "hello");
}

#[tokio::test]
async fn run_index_is_assigned_and_kept_on_replace() {
    let (dir, db) = open();
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        db.save_run(session("s", 10), &run(id, 10 + i as i64))
            .await
            .unwrap();
    }
    // Replace "b": same position, new content.
    let mut b = run("b", 11);
    b.content = Some("edited".into());
    b.status = RunStatus::Error;
    db.save_run(session("s", 10), &b).await.unwrap();

    let runs = db.get_runs("s").await.unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(runs[1].content.as_deref(), Some("edited"));
    assert_eq!(runs[1].status, RunStatus::Error);

    let conn = raw(&dir);
    let rows: Vec<(String, i64, String)> = conn
        .prepare("SELECT run_id, run_index, status FROM agno_runs ORDER BY run_index")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            ("a".to_string(), 0, "COMPLETED".to_string()),
            ("b".to_string(), 1, "ERROR".to_string()),
            ("c".to_string(), 2, "COMPLETED".to_string())
        ]
    );

    let recent: Vec<String> = db
        .recent_runs("s", 2)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(recent, ["b", "c"]);
    assert_eq!(db.recent_runs("s", 10).await.unwrap().len(), 3);
    assert!(db.recent_runs("s", 0).await.unwrap().is_empty());

    // Indexes are per session.
    db.save_run(session("other", 10), &run("z", 12))
        .await
        .unwrap();
    let z: i64 = conn
        .query_row(
            "SELECT run_index FROM agno_runs WHERE run_id = 'z'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(z, 0);
}

#[tokio::test]
async fn a_run_of_another_session_is_refused() {
    let (_dir, db) = open();
    let mut r = run("r", 1);
    r.session_id = Some("elsewhere".into());
    let err = db.save_run(session("s", 1), &r).await.unwrap_err();
    assert!(matches!(err, DbError::InvalidInput(_)), "{err:?}");
    assert_eq!(db.get_session("s").await.unwrap(), None);
}

#[tokio::test]
async fn upsert_replaces_values_but_keeps_created_at_and_metrics() {
    let (dir, db) = open();
    db.save_run(session("s", 100), &run("r", 100))
        .await
        .unwrap();
    let mut later = session("s", 999);
    later.updated_at = 500;
    later.session_state.insert("k".into(), json!("v"));
    // The owner never changes: an upsert naming no user, or another one,
    // is refused and writes nothing.
    for other in [None, Some("someone-else".to_owned())] {
        let mut taken = later.clone();
        taken.user_id = other;
        let err = db.upsert_session(taken).await.unwrap_err();
        assert!(matches!(err, DbError::NotOwner { .. }), "{err:?}");
    }
    let owner = later.user_id.clone();
    db.upsert_session(later).await.unwrap();

    let got = db.get_session("s").await.unwrap().unwrap();
    assert_eq!((got.created_at, got.updated_at), (100, 500));
    assert_eq!(got.user_id, owner);
    assert_eq!(got.session_state["k"], "v");
    let data: String = raw(&dir)
        .query_row("SELECT session_data FROM agno_sessions", [], |r| r.get(0))
        .unwrap();
    let data: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["session_metrics"]["input_tokens"], 2);
    assert_eq!(db.get_runs("s").await.unwrap().len(), 1);
}

/// 25 sessions: `s00`..`s24`, created at 1000+i, updated at 5000-i, names
/// `Chat 00`.. (every third one named in lower case), users and agents
/// alternating.
async fn seed(db: &SqliteDb) {
    for i in 0..25i64 {
        let mut s = session(&format!("s{i:02}"), 1_000 + i);
        s.updated_at = 5_000 - i;
        s.session_name = Some(if i % 3 == 0 {
            format!("chat {i:02}")
        } else {
            format!("Chat {i:02}")
        });
        s.user_id = Some(if i % 2 == 0 {
            "even".into()
        } else {
            "odd".into()
        });
        s.agent_id = Some(if i < 5 {
            "agent-a".into()
        } else {
            "agent-b".into()
        });
        db.upsert_session(s).await.unwrap();
    }
}

fn ids(page: &agno_server::db::SessionPage) -> Vec<&str> {
    page.sessions
        .iter()
        .map(|s| s.session_id.as_str())
        .collect()
}

#[tokio::test]
async fn list_pages_and_sorts() {
    let (_dir, db) = open();
    seed(&db).await;

    let first = db.list_sessions(SessionQuery::default()).await.unwrap();
    assert_eq!(
        (
            first.total_count,
            first.page,
            first.limit,
            first.total_pages
        ),
        (25, 1, 20, 2)
    );
    assert_eq!(first.sessions.len(), 20);
    // updated_at descending by default: s00 was updated last.
    assert_eq!(ids(&first)[..3], ["s00", "s01", "s02"]);

    let second = db
        .list_sessions(SessionQuery {
            page: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&second), ["s20", "s21", "s22", "s23", "s24"]);
    assert_eq!(second.page, 2);

    let beyond = db
        .list_sessions(SessionQuery {
            page: Some(9),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(beyond.sessions.is_empty());
    assert_eq!(beyond.total_count, 25);

    let by_created = db
        .list_sessions(SessionQuery {
            sort_by: Some("created_at".into()),
            sort_order: Some(SortOrder::Asc),
            limit: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&by_created), ["s00", "s01", "s02"]);
    assert_eq!(by_created.total_pages, 9);

    let by_created_desc = db
        .list_sessions(SessionQuery {
            sort_by: Some("created_at".into()),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&by_created_desc), ["s24", "s23"]);

    // Names sort without regard to case ("chat 00" < "Chat 01" < ...).
    let by_name = db
        .list_sessions(SessionQuery {
            sort_by: Some("session_name".into()),
            sort_order: Some(SortOrder::Asc),
            limit: Some(4),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&by_name), ["s00", "s01", "s02", "s03"]);

    for bad in [
        SessionQuery {
            sort_by: Some("run_id".into()),
            ..Default::default()
        },
        SessionQuery {
            limit: Some(0),
            ..Default::default()
        },
        SessionQuery {
            page: Some(0),
            ..Default::default()
        },
    ] {
        let err = db.list_sessions(bad).await.unwrap_err();
        assert!(matches!(err, DbError::InvalidQuery(_)), "{err:?}");
    }
}

#[tokio::test]
async fn list_filters() {
    let (_dir, db) = open();
    seed(&db).await;
    let mut team = session("team-session", 1);
    team.session_type = SessionType::Team;
    team.agent_id = Some("team-1".into());
    db.upsert_session(team).await.unwrap();

    let count = |q: SessionQuery| {
        let db = db.clone();
        async move { db.list_sessions(q).await.unwrap().total_count }
    };
    assert_eq!(count(SessionQuery::default()).await, 26);
    assert_eq!(
        count(SessionQuery {
            user_id: Some("even".into()),
            ..Default::default()
        })
        .await,
        13
    );
    assert_eq!(
        count(SessionQuery {
            component_id: Some("agent-a".into()),
            ..Default::default()
        })
        .await,
        5
    );
    assert_eq!(
        count(SessionQuery {
            session_type: Some(SessionType::Agent),
            ..Default::default()
        })
        .await,
        25
    );
    assert_eq!(
        count(SessionQuery {
            session_type: Some(SessionType::Team),
            ..Default::default()
        })
        .await,
        1
    );
    // A team's id is its component id.
    assert_eq!(
        count(SessionQuery {
            component_id: Some("team-1".into()),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(SessionQuery {
            session_type: Some(SessionType::Team),
            component_id: Some("team-1".into()),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(SessionQuery {
            session_type: Some(SessionType::Agent),
            component_id: Some("team-1".into()),
            ..Default::default()
        })
        .await,
        0
    );
    let team = db.get_session("team-session").await.unwrap().unwrap();
    assert_eq!(team.agent_id.as_deref(), Some("team-1"));

    // Substring, case-insensitive: "CHAT 1" matches "Chat 10".."Chat 19" and "chat 12"...
    assert_eq!(
        count(SessionQuery {
            session_name: Some("CHAT 1".into()),
            ..Default::default()
        })
        .await,
        10
    );
    assert_eq!(
        count(SessionQuery {
            session_name: Some("at 2".into()),
            ..Default::default()
        })
        .await,
        5
    );
    // LIKE wildcards are taken literally.
    assert_eq!(
        count(SessionQuery {
            session_name: Some("%".into()),
            ..Default::default()
        })
        .await,
        0
    );
    assert_eq!(
        count(SessionQuery {
            session_name: Some("chat_1".into()),
            ..Default::default()
        })
        .await,
        0
    );

    let combined = db
        .list_sessions(SessionQuery {
            user_id: Some("odd".into()),
            component_id: Some("agent-a".into()),
            sort_by: Some("created_at".into()),
            sort_order: Some(SortOrder::Asc),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&combined), ["s01", "s03"]);
}

#[tokio::test]
async fn delete_cascades_to_runs() {
    let (dir, db) = open();
    for s in ["a", "b", "c"] {
        for r in 0..3 {
            db.save_run(session(s, 1), &run(&format!("{s}-{r}"), 1))
                .await
                .unwrap();
        }
    }
    assert!(db.delete_session("a", None).await.unwrap());
    assert!(!db.delete_session("a", None).await.unwrap());
    assert_eq!(db.get_session("a").await.unwrap(), None);
    assert!(db.get_runs("a").await.unwrap().is_empty());
    assert_eq!(db.get_run("a-0").await.unwrap(), None);

    let conn = raw(&dir);
    let left: i64 = conn
        .query_row("SELECT count(*) FROM agno_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 6);

    let deleted = db
        .delete_sessions(
            vec!["b".into(), "missing".into(), "c".into(), "b".into()],
            None,
        )
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(db.delete_sessions(Vec::new(), None).await.unwrap(), 0);
    let left: i64 = conn
        .query_row("SELECT count(*) FROM agno_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        db.list_sessions(SessionQuery::default())
            .await
            .unwrap()
            .total_count,
        0
    );
}

#[tokio::test]
async fn rename_sets_the_name_only() {
    let (_dir, db) = open();
    let mut s = session("s", 1);
    s.session_state.insert("keep".into(), json!(true));
    db.save_run(s.clone(), &run("r", 1)).await.unwrap();

    let renamed = db
        .rename_session("s", "Trip planning", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.session_name.as_deref(), Some("Trip planning"));
    assert_eq!(renamed.session_state["keep"], true);
    assert_eq!(db.get_session("s").await.unwrap(), Some(renamed));
    assert_eq!(db.get_runs("s").await.unwrap().len(), 1);
    assert_eq!(db.rename_session("missing", "x", None).await.unwrap(), None);

    let found = db
        .list_sessions(SessionQuery {
            session_name: Some("trip".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&found), ["s"]);
}

#[tokio::test]
async fn damaged_json_is_an_error_naming_the_row() {
    let (dir, db) = open();
    db.save_run(session("good", 1), &run("good-run", 1))
        .await
        .unwrap();
    db.save_run(session("bad", 2), &run("bad-run", 2))
        .await
        .unwrap();
    let conn = raw(&dir);
    conn.execute(
        "UPDATE agno_sessions SET session_data = '{oops' WHERE session_id = 'bad'",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE agno_runs SET run_data = '[1, 2' WHERE run_id = 'bad-run'",
        [],
    )
    .unwrap();

    match db.get_session("bad").await {
        Err(DbError::Corrupt {
            table, key, column, ..
        }) => {
            assert_eq!(
                (table, key.as_str(), column),
                ("agno_sessions", "bad", "session_data")
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    match db.get_run("bad-run").await {
        Err(DbError::Corrupt {
            table, key, column, ..
        }) => {
            assert_eq!(
                (table, key.as_str(), column),
                ("agno_runs", "bad-run", "run_data")
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let err = db.get_runs("bad").await.unwrap_err();
    assert!(err.to_string().contains("bad-run"), "{err}");
    // The list serves the readable rows and names the other.
    let page = db.list_sessions(SessionQuery::default()).await.unwrap();
    assert_eq!(page.unreadable, ["bad"]);
    assert!(page.sessions.iter().all(|s| s.session_id != "bad"));

    // The good rows still read, and the bad session can still be written.
    assert!(db.get_session("good").await.unwrap().is_some());
    db.save_run(session("bad", 3), &run("bad-run-2", 3))
        .await
        .unwrap();
    assert!(db.get_session("bad").await.unwrap().is_some());
    assert_eq!(
        db.get_run("bad-run-2").await.unwrap().unwrap().run_id,
        "bad-run-2"
    );
}

#[tokio::test]
async fn session_works_as_a_trait_object() {
    let (_dir, db) = open();
    let db: std::sync::Arc<dyn Db> = std::sync::Arc::new(db);
    db.save_run(session("s", 1), &run("r", 1)).await.unwrap();
    assert_eq!(db.get_runs("s").await.unwrap().len(), 1);
}

#[tokio::test]
async fn session_token_totals_follow_new_replaced_and_moved_runs() {
    let (dir, db) = open();
    let totals = |session: &str| {
        let data: String = raw(&dir)
            .query_row(
                "SELECT session_data FROM agno_sessions WHERE session_id = ?1",
                [session],
                |r| r.get(0),
            )
            .unwrap();
        let data: Value = serde_json::from_str(&data).unwrap();
        data["session_metrics"]["input_tokens"].as_i64().unwrap()
    };
    db.save_run(session("s", 100), &run("a", 100))
        .await
        .unwrap();
    db.save_run(session("s", 100), &run("b", 101))
        .await
        .unwrap();
    assert_eq!(totals("s"), 4, "two runs of 2 input tokens");

    // Saving a run again replaces its tokens; it does not add them twice.
    let mut bigger = run("b", 101);
    bigger.metrics.as_mut().unwrap().input_tokens = 10;
    db.save_run(session("s", 100), &bigger).await.unwrap();
    assert_eq!(totals("s"), 12);

    // A run saved under another session leaves the first one's totals.
    let mut moved = run("a", 102);
    moved.session_id = None;
    db.save_run(session("t", 102), &moved).await.unwrap();
    assert_eq!((totals("s"), totals("t")), (10, 2));
}

/// A run's write sets its keys on the state as stored when it is saved,
/// and keeps the stored name: a record read before a rename and before
/// another run's write undoes neither.
#[tokio::test]
async fn a_runs_write_keeps_what_others_wrote_in_between() {
    let (_dir, db) = open();
    let mut first = SessionRecord::new("s", SessionType::Agent);
    first.session_state.insert("a".into(), json!(1));
    let run = |id: &str| RunOutput {
        run_id: id.into(),
        ..Default::default()
    };
    db.save_run(first, &run("r1")).await.unwrap();

    // Two runs read the session, then it is renamed, then both save.
    let read = db.get_session("s").await.unwrap().unwrap();
    let mut one = read.clone();
    one.session_state = serde_json::Map::from_iter([("b".to_string(), json!(2))]);
    let mut two = read;
    two.session_state = serde_json::Map::from_iter([("a".to_string(), json!(10))]);
    db.rename_session("s", "Named", None)
        .await
        .unwrap()
        .unwrap();
    db.save_run(one, &run("r2")).await.unwrap();
    db.save_run(two, &run("r3")).await.unwrap();

    let stored = db.get_session("s").await.unwrap().unwrap();
    assert_eq!(stored.session_name.as_deref(), Some("Named"));
    assert_eq!(
        Value::Object(stored.session_state),
        json!({"a": 10, "b": 2})
    );

    // A run that changes no key leaves the state as it is.
    let mut none = db.get_session("s").await.unwrap().unwrap();
    none.session_state.clear();
    db.save_run(none, &run("r4")).await.unwrap();
    let stored = db.get_session("s").await.unwrap().unwrap();
    assert_eq!(
        Value::Object(stored.session_state),
        json!({"a": 10, "b": 2})
    );

    // `upsert_session` still replaces the session as given.
    let mut replaced = SessionRecord::new("s", SessionType::Agent);
    replaced.session_state.insert("only".into(), json!(true));
    db.upsert_session(replaced).await.unwrap();
    let stored = db.get_session("s").await.unwrap().unwrap();
    assert_eq!(Value::Object(stored.session_state), json!({"only": true}));
    assert_eq!(stored.session_name, None);
}

/// One row that cannot be read never takes a list down: the rest is
/// served and the row is named.
#[tokio::test]
async fn an_unreadable_row_is_left_out_of_the_list_not_fatal() {
    let (dir, db) = open();
    for id in ["good-1", "bad", "good-2"] {
        db.upsert_session(session(id, 10)).await.unwrap();
    }
    raw(&dir)
        .execute(
            "UPDATE agno_sessions SET session_data = '{\"session_state\": 5' WHERE session_id = 'bad'",
            [],
        )
        .unwrap();
    let page = db.list_sessions(SessionQuery::default()).await.unwrap();
    let mut ids: Vec<_> = page
        .sessions
        .iter()
        .map(|s| s.session_id.as_str())
        .collect();
    ids.sort();
    assert_eq!(ids, ["good-1", "good-2"]);
    assert_eq!(page.unreadable, ["bad"]);
    assert_eq!(page.total_count, 3);
}

/// The store refuses what it could not read back.
#[tokio::test]
async fn json_nested_past_the_limit_is_refused_and_the_limit_reads_back() {
    use agno_server::db::MAX_JSON_DEPTH;
    let (_dir, db) = open();
    let nested = |levels: usize| {
        let mut value = json!(1);
        for _ in 1..levels {
            value = json!({ "n": value });
        }
        value.as_object().cloned().unwrap_or_default()
    };
    let mut deep = session("deep", 1);
    deep.session_state = nested(MAX_JSON_DEPTH + 2);
    let err = db.upsert_session(deep.clone()).await.unwrap_err();
    assert!(matches!(err, DbError::InvalidInput(_)), "{err:?}");
    let run = RunOutput {
        run_id: "r".into(),
        ..Default::default()
    };
    assert!(matches!(
        db.save_run(deep, &run).await.unwrap_err(),
        DbError::InvalidInput(_)
    ));

    let mut at_limit = session("at-limit", 1);
    at_limit.session_state = nested(MAX_JSON_DEPTH + 1);
    assert_eq!(
        agno_server::db::json_depth(&Value::Object(at_limit.session_state.clone())),
        MAX_JSON_DEPTH
    );
    db.upsert_session(at_limit.clone()).await.unwrap();
    let back = db.get_session("at-limit").await.unwrap().unwrap();
    assert_eq!(back.session_state, at_limit.session_state);
    assert_eq!(
        db.list_sessions(SessionQuery::default())
            .await
            .unwrap()
            .sessions
            .len(),
        1
    );
}
