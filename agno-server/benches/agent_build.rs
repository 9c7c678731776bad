//! Building an agent with hooks (the seed's three), once per request in
//! programs that build agents on the fly.
//!
//! `cargo bench -p agno-server --bench agent_build -- --warm-up-time 1 --measurement-time 3`

use agno_server::{Agent, AgentInfo, Echo, RunInput, RunOutput, Session, hook};
use criterion::{Criterion, criterion_group, criterion_main};

#[hook(run_in_background = true)]
fn log_request(run_input: &RunInput, agent: &AgentInfo) {
    std::hint::black_box((run_input, agent));
}

#[hook]
async fn log_analytics(run_output: &RunOutput, agent: &AgentInfo, session: &Session) {
    std::hint::black_box((run_output, agent, session));
}

#[hook(run_in_background = true)]
async fn send_notification(run_output: &RunOutput, agent: &AgentInfo) {
    std::hint::black_box((run_output, agent));
}

fn build(c: &mut Criterion) {
    c.bench_function("agent_build_with_3_hooks", |b| {
        b.iter(|| {
            Agent::builder()
                .id("background-task-agent")
                .name("BackgroundTaskAgent")
                .model(Echo::new())
                .instructions("You are a helpful assistant")
                .pre_hooks([log_request])
                .post_hooks((log_analytics, send_notification))
                .markdown(true)
                .build()
                .unwrap()
        })
    });
}

criterion_group!(benches, build);
criterion_main!(benches);
