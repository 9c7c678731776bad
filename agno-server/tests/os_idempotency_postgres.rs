//! 50 background runs POSTed at once with one `Idempotency-Key`, across
//! two instances on one Postgres database: one run id for all, one run
//! row, one job.

mod os_support;
mod store_support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use agno_server::db::{Db, JobQuery};
use agno_server::{Agent, Echo};
use os_support::{Server, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_one_key_across_two_instances_makes_one_run() {
    let schema = store_support::schema_name();
    let lease = Duration::from_secs(30);
    let mut servers = Vec::new();
    let mut dbs: Vec<Arc<dyn Db>> = Vec::new();
    for _ in 0..2 {
        let db: Arc<dyn Db> = Arc::new(store_support::postgres_on(&schema, lease).await);
        let agent = Agent::builder()
            .id("a")
            .model(Echo::new())
            .db_arc(db.clone())
            .build()
            .unwrap();
        servers.push(Server::agent(agent).await);
        dbs.push(db);
    }
    let mut tasks = Vec::new();
    for i in 0..50 {
        let server = &servers[i % 2];
        let (url, client) = (server.url("/agents/a/runs"), server.client.clone());
        tasks.push(tokio::spawn(async move {
            let form = reqwest::multipart::Form::new()
                .text("message", "once")
                .text("stream", "false")
                .text("background", "true")
                .text("user_id", "u");
            let response = client
                .post(url)
                .header("idempotency-key", "the-one-key")
                .multipart(form)
                .send()
                .await
                .unwrap();
            json(response).await
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 202, "{body}");
        ids.insert(body["run_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let (jobs, total) = dbs[0].list_jobs(JobQuery::default()).await.unwrap();
    assert_eq!(total, 1, "{jobs:?}");
    let run_id = ids.into_iter().next().unwrap();
    let run = dbs[1].get_run(&run_id).await.unwrap().unwrap();
    let session = run.session_id.unwrap();
    assert_eq!(dbs[1].get_runs(&session).await.unwrap().len(), 1);
    for server in servers {
        server.shutdown().await;
    }
}
