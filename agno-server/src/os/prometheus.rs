//! The Prometheus exposition: the series the server keeps as it goes
//! ([`Metrics`](crate::telemetry::Metrics)), each store's own, and the
//! levels read now from what each part counts anyway (hooks in flight,
//! each agent's durable jobs, the backlog's last look, the WAL's size, the
//! pool). Nothing here queries the database: a scrape costs the same on a
//! store with a million queued jobs as on an empty one.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::state::AppState;
use crate::jobs::{BacklogState, JobCounters};
use prometheus_client::metrics::histogram::Histogram;

use crate::telemetry::{AgentOnly, PoolLevels, StoreLabels, StoreLevels, StoreMetrics};

/// The two text formats of the exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text (what Prometheus asks for first).
    OpenMetrics,
    /// Prometheus's text format 0.0.4 (`text/plain`).
    Text,
}

impl Format {
    /// The `Content-Type` of an answer in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// The format an `Accept` header asks for, if it asks for one of them
    /// rather than JSON: `application/openmetrics-text` (Prometheus sends
    /// it first), else `text/plain` (older scrapers, and `curl -H 'Accept:
    /// text/plain'`). `None`: Agno's JSON (Agno's client sends `*/*` or
    /// `application/json`). A range with `q=0` is not asked for.
    pub fn wanted(accept: Option<&http::HeaderValue>) -> Option<Format> {
        let accept = accept.and_then(|v| v.to_str().ok())?;
        let mut text = false;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            if media.eq_ignore_ascii_case("application/openmetrics-text") {
                return Some(Format::OpenMetrics);
            }
            text |= media.eq_ignore_ascii_case("text/plain");
        }
        text.then_some(Format::Text)
    }
}

/// The whole exposition, now, in `format`.
pub fn render(state: &AppState, format: Format) -> String {
    let mut registry = Registry::default();
    if let Some(metrics) = &state.metrics {
        metrics.register(&mut registry);
    }
    registry.register_collector(Box::new(Levels::read(state)));
    let mut text = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail.
    let _ = match format {
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut text, &registry),
        Format::Text => prometheus_client::encoding::prometheus_text::encode(&mut text, &registry),
    };
    text
}

/// What the parts of the server count, read once per scrape.
#[derive(Debug)]
struct Levels {
    hooks: hooks_core::DispatcherStats,
    agents: Vec<(String, JobCounters, BacklogState)>,
    stores: Vec<Store>,
}

/// One store: its `db_id`, kind, what it measured, its levels.
#[derive(Debug)]
struct Store {
    id: String,
    kind: &'static str,
    metrics: Option<StoreMetrics>,
    levels: StoreLevels,
}

impl Store {
    fn label(&self) -> StoreLabels {
        StoreLabels {
            store: self.id.clone(),
        }
    }
}

impl Levels {
    fn read(state: &AppState) -> Self {
        Self {
            hooks: state.dispatcher.stats(),
            agents: state
                .agents
                .iter()
                .filter(|agent| agent.db().is_some())
                .map(|agent| {
                    let jobs = agent.jobs();
                    (agent.id().to_owned(), jobs.counters(), jobs.backlog())
                })
                .collect(),
            stores: state
                .dbs
                .iter()
                .map(|(id, db)| Store {
                    id: id.clone(),
                    kind: db.kind(),
                    metrics: db.metrics().cloned(),
                    levels: db.levels(),
                })
                .collect(),
        }
    }
}

/// A gauge with no labels.
fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: i64,
) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// One series per item of `rows` (labels, value), under one name.
fn per<L, M>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (L, M)>,
) -> std::fmt::Result
where
    L: prometheus_client::encoding::EncodeLabelSet,
    M: EncodeMetric,
{
    let mut rows = rows.into_iter().peekable();
    let Some((_, first)) = rows.peek() else {
        return Ok(());
    };
    let mut family = encoder.encode_descriptor(name, help, None, first.metric_type())?;
    for (labels, metric) in rows {
        metric.encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Levels {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let hooks = &self.hooks;
        let e = &mut encoder;
        gauge(
            e,
            "agno_background_hooks_in_flight",
            "In-memory background hooks accepted and not finished (running or waiting for a place)",
            hooks.in_flight as i64,
        )?;
        gauge(
            e,
            "agno_background_hooks_running",
            "In-memory background hooks running now",
            hooks.running as i64,
        )?;
        gauge(
            e,
            "agno_background_hooks_pending_bytes",
            "Estimated bytes of the runs held for in-memory background hooks",
            hooks.pending_bytes as i64,
        )?;
        let agents = &self.agents;
        let label = |agent: &String| AgentOnly {
            agent: agent.clone(),
        };
        let counter = |pick: fn(&JobCounters) -> u64| {
            move |(agent, counters, _): &(String, JobCounters, BacklogState)| {
                (label(agent), ConstCounter::new(pick(counters)))
            }
        };
        per(
            e,
            "agno_jobs_enqueued",
            "Durable jobs written with their runs by this instance",
            agents.iter().map(counter(|c| c.enqueued)),
        )?;
        per(
            e,
            "agno_jobs_started",
            "Durable job attempts started by this instance",
            agents.iter().map(counter(|c| c.started)),
        )?;
        per(
            e,
            "agno_jobs_completed",
            "Durable jobs completed by this instance",
            agents.iter().map(counter(|c| c.completed)),
        )?;
        per(
            e,
            "agno_jobs_retried",
            "Durable job attempts that failed with attempts left (queued again for a retry)",
            agents.iter().map(counter(|c| c.retried)),
        )?;
        per(
            e,
            "agno_jobs_failed",
            "Durable jobs failed for good (their attempts spent)",
            agents.iter().map(counter(|c| c.failed)),
        )?;
        per(
            e,
            "agno_jobs_released",
            "Durable job attempts cut by a shutdown and left queued for the next start",
            agents.iter().map(counter(|c| c.released)),
        )?;
        per(
            e,
            "agno_jobs_lease_takeovers",
            "Durable jobs this instance queued again because the instance running them stopped (its lease ran out)",
            agents.iter().map(counter(|c| c.recovered)),
        )?;
        per(
            e,
            "agno_jobs_unsettled",
            "Durable job attempts whose outcome could not be written",
            agents.iter().map(counter(|c| c.unsettled)),
        )?;
        per(
            e,
            "agno_jobs_running",
            "Durable job attempts running on this instance now",
            agents
                .iter()
                .map(|(agent, c, _)| (label(agent), ConstGauge::new(c.running as i64))),
        )?;
        per(
            e,
            "agno_jobs_queued",
            "Durable jobs queued in the store for the agent (all instances), as the last look saw them (about once a second), counted up to max_backlog",
            agents
                .iter()
                .map(|(agent, _, b)| (label(agent), ConstGauge::new(b.queued as i64))),
        )?;
        per(
            e,
            "agno_jobs_oldest_queued_age_seconds",
            "How long the oldest due durable job of the agent has waited, in seconds (0: none waits)",
            agents
                .iter()
                .map(|(agent, _, b)| (label(agent), ConstGauge::new(b.oldest_secs.unwrap_or(0)))),
        )?;
        per(
            e,
            "agno_jobs_backlogged",
            "1 while the agent's durable backlog is past max_backlog or max_backlog_age (new runs get when_backlogged)",
            agents
                .iter()
                .map(|(agent, _, b)| (label(agent), ConstGauge::new(i64::from(b.over)))),
        )?;
        let stores = &self.stores;
        let histograms = |kind: &'static str, pick: fn(&StoreMetrics) -> &Histogram| {
            stores
                .iter()
                .filter(move |s| s.kind == kind)
                .filter_map(move |s| Some((s.label(), pick(s.metrics.as_ref()?).clone())))
        };
        for kind in ["sqlite", "postgres"] {
            per(
                e,
                &format!("agno_{kind}_commit_duration_seconds"),
                "Store write transactions, from begin to commit (SQLite: a group commit), in seconds",
                histograms(kind, StoreMetrics::commits),
            )?;
        }
        per(
            e,
            "agno_sqlite_commit_batch_writes",
            "Writes committed together by one SQLite group commit",
            histograms("sqlite", StoreMetrics::batches),
        )?;
        per(
            e,
            "agno_sqlite_checkpoint_pause_seconds",
            "SQLite WAL checkpoints that held the writer back (the WAL starting over), in seconds",
            histograms("sqlite", StoreMetrics::checkpoints),
        )?;
        per(
            e,
            "agno_postgres_pool_wait_seconds",
            "Waits for a pooled Postgres connection, in seconds",
            histograms("postgres", StoreMetrics::pool_waits),
        )?;
        per(
            e,
            "agno_sqlite_wal_bytes",
            "The SQLite WAL file's size in bytes",
            stores
                .iter()
                .filter_map(|s| Some((s.label(), ConstGauge::new(s.levels.wal_bytes? as i64)))),
        )?;
        let pool = |pick: fn(&PoolLevels) -> u64| {
            move |s: &Store| {
                s.levels
                    .pool
                    .map(|p| (s.label(), ConstGauge::new(pick(&p) as i64)))
            }
        };
        per(
            e,
            "agno_postgres_pool_connections",
            "Postgres connections open",
            stores.iter().filter_map(pool(|p| p.size)),
        )?;
        per(
            e,
            "agno_postgres_pool_idle",
            "Postgres connections idle",
            stores.iter().filter_map(pool(|p| p.available)),
        )?;
        per(
            e,
            "agno_postgres_pool_waiting",
            "Callers waiting for a Postgres connection",
            stores.iter().filter_map(pool(|p| p.waiting)),
        )?;
        per(
            e,
            "agno_postgres_pool_max",
            "The most Postgres connections the pool opens",
            stores.iter().filter_map(pool(|p| p.max_size)),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    fn wanted(accept: &str) -> Option<Format> {
        Format::wanted(Some(&http::HeaderValue::from_str(accept).unwrap()))
    }

    #[test]
    fn accept_picks_the_format() {
        // Prometheus 2.42's header.
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(wanted(prometheus), Some(Format::OpenMetrics));
        assert_eq!(wanted("text/plain;version=0.0.4"), Some(Format::Text));
        assert_eq!(wanted("Text/Plain"), Some(Format::Text));
        assert_eq!(
            wanted("text/plain, application/openmetrics-text"),
            Some(Format::OpenMetrics)
        );
        // Agno's client (httpx) and browsers: JSON.
        assert_eq!(wanted("*/*"), None);
        assert_eq!(wanted("application/json"), None);
        assert_eq!(wanted("text/html,application/xhtml+xml,*/*;q=0.8"), None);
        assert_eq!(wanted("text/plain;q=0, application/json"), None);
        assert_eq!(Format::wanted(None), None);
    }
}
