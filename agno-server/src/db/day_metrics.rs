//! Agno's daily metrics (`agno_metrics`): one row per day per owner,
//! counting the sessions created that day, their runs (whenever they
//! ran), their tokens and the models that answered them, as Agno 3.1.10
//! computes them (`agno/db/sqlite/utils.py`, `calculate_date_metrics`).
//! The stores aggregate in SQL (a `GROUP BY` per day, owner and session
//! type, not every session loaded as Agno does); the days to compute, the
//! rows made from the groups and the read-side merges are here, once for
//! both stores.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{DbError, DbFuture};

/// Agno's daily metrics table.
pub const METRICS_TABLE: &str = "agno_metrics";

/// The token counts of a day's sessions (`session_metrics`), Agno's nine
/// keys, in its order.
pub const TOKEN_KEYS: [&str; 9] = [
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "audio_total_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
];

/// Seconds in a day.
const DAY: i64 = 86_400;

/// A day, as days since 1970-01-01 (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// The day `epoch_secs` falls on (UTC).
    pub fn of(epoch_secs: i64) -> Day {
        Day(epoch_secs.div_euclid(DAY))
    }

    /// Its first second.
    pub fn start(self) -> i64 {
        self.0 * DAY
    }

    /// `YYYY-MM-DD`, as Agno stores a `DATE`.
    pub fn iso(self) -> String {
        match time::OffsetDateTime::from_unix_timestamp(self.start()) {
            Ok(t) => {
                let d = t.date();
                format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
            }
            Err(_) => String::from("0000-01-01"),
        }
    }

    /// A `YYYY-MM-DD` date (a query's, or a stored `DATE`).
    pub fn parse(text: &str) -> Option<Day> {
        let mut parts = text.trim().splitn(3, '-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
        let date = time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
        let secs = date.midnight().assume_utc().unix_timestamp();
        Some(Day::of(secs))
    }
}

/// One row of `agno_metrics`, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRow {
    /// Its id (a UUID; kept by an upsert).
    pub id: String,
    /// The seven counts, Agno's names.
    pub agent_runs_count: i64,
    /// Team runs (none here: we serve agents).
    pub team_runs_count: i64,
    /// Workflow runs.
    pub workflow_runs_count: i64,
    /// Agent sessions created that day.
    pub agent_sessions_count: i64,
    /// Team sessions.
    pub team_sessions_count: i64,
    /// Workflow sessions.
    pub workflow_sessions_count: i64,
    /// 1 for an owner's row, 0 for the unowned bucket (rows sum to the
    /// distinct users).
    pub users_count: i64,
    /// The nine token counts ([`TOKEN_KEYS`]).
    pub token_metrics: Value,
    /// `[{"model_id", "model_provider", "count"}]`: runs per model.
    pub model_metrics: Value,
    /// The day.
    pub date: Day,
    /// `daily`.
    pub aggregation_period: String,
    /// The owner; `""` for sessions without one.
    pub user_id: String,
    /// Epoch seconds when first written (kept by an upsert).
    pub created_at: i64,
    /// Epoch seconds when last written.
    pub updated_at: Option<i64>,
    /// Whether the day had ended when it was computed.
    pub completed: bool,
}

/// Sessions of one day, owner and session type, summed by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionGroup {
    /// The day the sessions were created.
    pub day: Day,
    /// Their owner (`""`: none).
    pub owner: String,
    /// `agent`, `team` or `workflow`.
    pub session_type: String,
    /// How many.
    pub sessions: i64,
    /// Their `session_metrics` summed, per [`TOKEN_KEYS`].
    pub tokens: [i64; 9],
}

/// Runs of those sessions, by model, summed by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct RunGroup {
    /// The day their session was created.
    pub day: Day,
    /// The session's owner (`""`: none).
    pub owner: String,
    /// The session's type.
    pub session_type: String,
    /// `run_data.model` (`None`: not said).
    pub model: Option<String>,
    /// `run_data.model_provider`.
    pub model_provider: Option<String>,
    /// How many.
    pub runs: i64,
}

/// Where a recomputation resumes, read from the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsProgress {
    /// The latest day with a completed row.
    pub latest_completed: Option<Day>,
    /// The earliest day after it with an incomplete row.
    pub earliest_incomplete: Option<Day>,
    /// When the first session was created (epoch seconds).
    pub first_session: Option<i64>,
}

/// Which rows to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsQuery {
    /// From this day, inclusive.
    pub from: Option<Day>,
    /// To this day, inclusive.
    pub to: Option<Day>,
    /// One owner's rows (`""`: the unowned bucket); `None`: every row.
    pub user_id: Option<String>,
}

/// Where Agno's daily metrics are kept. Object-safe.
pub trait MetricsStore: Send + Sync + 'static {
    /// What the table says of the days computed, and the first session.
    fn metrics_progress(&self) -> DbFuture<'_, MetricsProgress>;

    /// The sessions created in `[from, to)` (epoch seconds) and their
    /// runs, summed per day, owner and type (and model, for runs).
    fn metrics_groups(
        &self,
        from: i64,
        to: i64,
    ) -> DbFuture<'_, (Vec<SessionGroup>, Vec<RunGroup>)>;

    /// Upserts `rows` on (owner, day, period), keeping a stored row's `id`
    /// and `created_at`; returns the rows as stored.
    fn upsert_metrics(&self, rows: Vec<MetricsRow>) -> DbFuture<'_, Vec<MetricsRow>>;

    /// The rows `query` asks for, and the latest `updated_at` of the
    /// owner's (or every) row, whatever the dates.
    fn read_metrics(&self, query: MetricsQuery) -> DbFuture<'_, (Vec<MetricsRow>, Option<i64>)>;
}

/// Recomputes every day Agno would (the earliest incomplete day after the
/// latest completed one, else the day after it, else the first session's
/// day; through today) and upserts their rows; returns them as stored
/// (empty when there was nothing to compute).
pub async fn refresh(store: &dyn MetricsStore, now: i64) -> Result<Vec<MetricsRow>, DbError> {
    let today = Day::of(now);
    let progress = store.metrics_progress().await?;
    let Some(start) = starting_day(progress, today) else {
        return Ok(Vec::new());
    };
    let (from, to) = (start.start(), Day(today.0 + 1).start());
    let (sessions, runs) = store.metrics_groups(from, to).await?;
    let rows = rows_from_groups(&sessions, &runs, now);
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    store.upsert_metrics(rows).await
}

/// The first day to recompute (Agno's `metrics_starting_date_from_days`,
/// capped at today, or the first session's day).
fn starting_day(progress: MetricsProgress, today: Day) -> Option<Day> {
    let resume = match (progress.earliest_incomplete, progress.latest_completed) {
        (Some(day), _) => Some(day),
        (None, Some(done)) => Some(Day(done.0 + 1)),
        (None, None) => None,
    };
    match resume {
        Some(day) => Some(day.min(today)),
        None => progress.first_session.map(Day::of),
    }
}

/// The rows of the groups: one per day and owner.
fn rows_from_groups(sessions: &[SessionGroup], runs: &[RunGroup], now: i64) -> Vec<MetricsRow> {
    let today = Day::of(now);
    struct Bucket {
        counts: [i64; 6],
        tokens: [i64; 9],
        /// (model, provider) → runs, in first-seen order.
        models: Vec<((String, String), i64)>,
    }
    let index = |session_type: &str| match session_type {
        "team" => 1,
        "workflow" => 2,
        _ => 0,
    };
    // A session group makes its bucket; a run group adds to the bucket of
    // its session's day (runs of sessions created before the first day
    // computed are not counted, as in Agno).
    let mut buckets: BTreeMap<(Day, String), Bucket> = BTreeMap::new();
    for group in sessions {
        let b = buckets
            .entry((group.day, group.owner.clone()))
            .or_insert_with(|| Bucket {
                counts: [0; 6],
                tokens: [0; 9],
                models: Vec::new(),
            });
        b.counts[3 + index(&group.session_type)] += group.sessions;
        for (sum, add) in b.tokens.iter_mut().zip(group.tokens) {
            *sum += add;
        }
    }
    for group in runs {
        let Some(b) = buckets.get_mut(&(group.day, group.owner.clone())) else {
            continue;
        };
        b.counts[index(&group.session_type)] += group.runs;
        if let Some(model) = group.model.as_deref().filter(|m| !m.is_empty()) {
            let key = (
                model.to_owned(),
                group.model_provider.clone().unwrap_or_default(),
            );
            match b.models.iter_mut().find(|(k, _)| *k == key) {
                Some((_, count)) => *count += group.runs,
                None => b.models.push((key, group.runs)),
            }
        }
    }
    buckets
        .into_iter()
        .map(|((day, owner), b)| MetricsRow {
            id: uuid::Uuid::new_v4().to_string(),
            agent_runs_count: b.counts[0],
            team_runs_count: b.counts[1],
            workflow_runs_count: b.counts[2],
            agent_sessions_count: b.counts[3],
            team_sessions_count: b.counts[4],
            workflow_sessions_count: b.counts[5],
            users_count: i64::from(!owner.is_empty()),
            token_metrics: tokens_json(&b.tokens),
            model_metrics: Value::Array(
                b.models
                    .into_iter()
                    .map(|((model_id, model_provider), count)| {
                        json!({"model_id": model_id, "model_provider": model_provider, "count": count})
                    })
                    .collect(),
            ),
            date: day,
            aggregation_period: "daily".into(),
            user_id: owner,
            created_at: now,
            updated_at: Some(now),
            completed: day < today,
        })
        .collect()
}

/// The nine token counts as Agno's object.
fn tokens_json(tokens: &[i64; 9]) -> Value {
    let mut map = Map::new();
    for (key, value) in TOKEN_KEYS.iter().zip(tokens) {
        map.insert((*key).to_owned(), json!(value));
    }
    Value::Object(map)
}

/// Agno's `aggregate_metrics_by_date`: the owners' rows of each day summed
/// into one, its id `"{date}_{period}"`.
pub fn aggregate_by_date(rows: Vec<MetricsRow>) -> Vec<MetricsRow> {
    let mut days: Vec<MetricsRow> = Vec::new();
    for row in rows {
        let found = days
            .iter_mut()
            .find(|d| d.date == row.date && d.aggregation_period == row.aggregation_period);
        let Some(day) = found else {
            days.push(MetricsRow {
                id: format!("{}_{}", row.date.iso(), row.aggregation_period),
                ..row
            });
            continue;
        };
        day.agent_runs_count += row.agent_runs_count;
        day.team_runs_count += row.team_runs_count;
        day.workflow_runs_count += row.workflow_runs_count;
        day.agent_sessions_count += row.agent_sessions_count;
        day.team_sessions_count += row.team_sessions_count;
        day.workflow_sessions_count += row.workflow_sessions_count;
        day.users_count += row.users_count;
        add_tokens(&mut day.token_metrics, &row.token_metrics);
        merge_models(&mut day.model_metrics, &row.model_metrics);
        day.created_at = day.created_at.min(row.created_at);
        day.updated_at = day.updated_at.max(row.updated_at);
    }
    days
}

/// Agno's `identify_metrics_by_owner`: an owner's rows get the id
/// `"{date}_{user}_{period}"`.
pub fn identify_by_owner(rows: Vec<MetricsRow>, user_id: &str) -> Vec<MetricsRow> {
    rows.into_iter()
        .map(|row| MetricsRow {
            id: format!("{}_{user_id}_{}", row.date.iso(), row.aggregation_period),
            ..row
        })
        .collect()
}

fn add_tokens(sum: &mut Value, add: &Value) {
    let (Some(sum), Some(add)) = (sum.as_object_mut(), add.as_object()) else {
        return;
    };
    for (key, value) in add {
        let total = sum.get(key).and_then(Value::as_i64).unwrap_or(0) + value.as_i64().unwrap_or(0);
        sum.insert(key.clone(), json!(total));
    }
}

fn merge_models(sum: &mut Value, add: &Value) {
    let (Some(sum), Some(add)) = (sum.as_array_mut(), add.as_array()) else {
        return;
    };
    for model in add {
        let same = |m: &&mut Value| {
            m.get("model_id") == model.get("model_id")
                && m.get("model_provider") == model.get("model_provider")
        };
        let count = model.get("count").and_then(Value::as_i64).unwrap_or(0);
        match sum.iter_mut().find(same) {
            Some(found) => {
                let total = found.get("count").and_then(Value::as_i64).unwrap_or(0) + count;
                found["count"] = json!(total);
            }
            None => sum.push(model.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(day: i64, owner: &str, sessions: i64, input: i64) -> SessionGroup {
        let mut tokens = [0; 9];
        tokens[0] = input;
        tokens[2] = input;
        SessionGroup {
            day: Day(day),
            owner: owner.into(),
            session_type: "agent".into(),
            sessions,
            tokens,
        }
    }

    fn run(day: i64, owner: &str, model: Option<&str>, runs: i64) -> RunGroup {
        RunGroup {
            day: Day(day),
            owner: owner.into(),
            session_type: "agent".into(),
            model: model.map(str::to_owned),
            model_provider: model.map(|_| "OpenAI".to_owned()),
            runs,
        }
    }

    #[test]
    fn days_parse_and_print() {
        let day = Day::parse("2026-12-06").unwrap();
        assert_eq!(day.iso(), "2026-12-06");
        assert_eq!(Day::of(day.start() + 86_399), day);
        assert_eq!(Day::parse("2026-02-30"), None);
        assert_eq!(Day::parse("26-12-06"), None);
        assert_eq!(Day::parse("yesterday"), None);
        assert_eq!(Day::parse("1970-01-01"), Some(Day(0)));
    }

    #[test]
    fn the_start_is_agnos() {
        let today = Day(100);
        let p = |latest_completed, earliest_incomplete, first_session| MetricsProgress {
            latest_completed,
            earliest_incomplete,
            first_session,
        };
        assert_eq!(starting_day(p(None, None, None), today), None);
        assert_eq!(
            starting_day(p(None, None, Some(Day(90).start() + 5)), today),
            Some(Day(90))
        );
        assert_eq!(
            starting_day(p(Some(Day(95)), None, Some(0)), today),
            Some(Day(96))
        );
        assert_eq!(
            starting_day(p(Some(Day(95)), Some(Day(97)), Some(0)), today),
            Some(Day(97))
        );
        // A row dated in the future: capped at today.
        assert_eq!(
            starting_day(p(Some(Day(120)), None, Some(0)), today),
            Some(today)
        );
    }

    #[test]
    fn rows_are_per_day_and_owner() {
        let now = Day(10).start() + 3_600;
        let rows = rows_from_groups(
            &[
                session(9, "alice", 2, 10),
                session(10, "alice", 1, 5),
                session(10, "", 3, 1),
            ],
            &[
                run(9, "alice", Some("gpt"), 3),
                run(9, "alice", None, 1),
                run(10, "", Some("gpt"), 3),
                // A run of a session outside the groups: not counted.
                run(8, "bob", Some("gpt"), 9),
            ],
            now,
        );
        assert_eq!(rows.len(), 3);
        let alice9 = &rows[0];
        assert_eq!((alice9.date, alice9.user_id.as_str()), (Day(9), "alice"));
        assert_eq!(alice9.agent_sessions_count, 2);
        assert_eq!(alice9.agent_runs_count, 4, "runs without a model count too");
        assert_eq!(alice9.users_count, 1);
        assert!(alice9.completed);
        assert_eq!(alice9.token_metrics["input_tokens"], 10);
        assert_eq!(
            alice9.model_metrics,
            json!([{"model_id": "gpt", "model_provider": "OpenAI", "count": 3}])
        );
        let unowned = &rows[1];
        assert_eq!(
            (unowned.date, unowned.user_id.as_str(), unowned.users_count),
            (Day(10), "", 0)
        );
        assert!(!unowned.completed, "today is not complete");
        let day10 = aggregate_by_date(rows.clone())
            .into_iter()
            .find(|r| r.date == Day(10))
            .unwrap();
        assert_eq!(day10.id, format!("{}_daily", Day(10).iso()));
        assert_eq!(day10.agent_sessions_count, 4);
        assert_eq!(day10.users_count, 1);
        assert_eq!(day10.token_metrics["input_tokens"], 6);
        assert_eq!(day10.model_metrics[0]["count"], 3);
        let owned = identify_by_owner(vec![rows[0].clone()], "alice");
        assert_eq!(owned[0].id, format!("{}_alice_daily", Day(9).iso()));
    }
}
