//! Hooks as series: [`Metrics`](super::Metrics) is the dispatcher's
//! [`HookObserver`]. Every hook's end is counted here, inline ones
//! included, so the path is lock-free: each registered hook has its cells
//! (phase × mode: outcome counts, duration buckets, the sum) made once,
//! found by the name's address in a table nobody writes after it is
//! built; a hook made by hand (not registered) is found under a mutex.
//! Encoded when scraped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use hooks_core::{HookMode, HookObserver, HookOutcome, HookRun, Phase};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;

use super::labels::{HookLabels, HookTimeLabels};

/// Buckets of a hook, in seconds (5 µs, for an inline check, to 5 min, for
/// a durable job's attempt).
const BUCKETS: [f64; 15] = [
    0.000_005, 0.000_025, 0.000_1, 0.000_5, 0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0,
    120.0, 300.0,
];

/// The same bounds in nanoseconds, compared with a duration as it is.
const BUCKETS_NS: [u64; 15] = [
    5_000,
    25_000,
    100_000,
    500_000,
    1_000_000,
    5_000_000,
    25_000_000,
    100_000_000,
    500_000_000,
    1_000_000_000,
    5_000_000_000,
    30_000_000_000,
    60_000_000_000,
    120_000_000_000,
    300_000_000_000,
];

const OUTCOMES: [HookOutcome; 7] = [
    HookOutcome::Ok,
    HookOutcome::Failed,
    HookOutcome::Blocked,
    HookOutcome::Panicked,
    HookOutcome::TimedOut,
    HookOutcome::Cut,
    HookOutcome::Refused,
];
const PHASES: [Phase; 4] = [Phase::Pre, Phase::Post, Phase::Tool, Phase::ToolPost];
const MODES: [HookMode; 3] = [HookMode::Inline, HookMode::Background, HookMode::Durable];

fn outcome_index(outcome: HookOutcome) -> usize {
    OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(0)
}

/// One hook in one phase and mode.
#[derive(Default)]
struct Cell {
    outcomes: [AtomicU64; 7],
    /// Per bucket (the last: past every bound), not cumulative.
    buckets: [AtomicU64; 16],
    sum_ns: AtomicU64,
}

impl Cell {
    fn record(&self, outcome: HookOutcome, elapsed_ns: u64) {
        self.outcomes[outcome_index(outcome)].fetch_add(1, Relaxed);
        if matches!(outcome, HookOutcome::Refused | HookOutcome::Cut) {
            return;
        }
        let bucket = BUCKETS_NS
            .iter()
            .position(|b| elapsed_ns <= *b)
            .unwrap_or(15);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(elapsed_ns, Relaxed);
    }

    fn ran(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }
}

/// A hook's cells: [phase][mode].
#[derive(Default)]
struct HookCells {
    cells: [[Cell; 3]; 4],
}

impl HookCells {
    fn cell(&self, phase: Phase, mode: HookMode) -> &Cell {
        let p = PHASES.iter().position(|x| *x == phase).unwrap_or(0);
        let m = MODES.iter().position(|x| *x == mode).unwrap_or(0);
        &self.cells[p][m]
    }
}

/// The registered hooks by the address of their name: an open-addressed
/// table (a multiply and a shift to find a slot, no hashing of text),
/// written once.
struct ByAddress {
    slots: Vec<Option<(&'static str, Arc<HookCells>)>>,
    shift: u32,
}

impl ByAddress {
    fn new(hooks: impl ExactSizeIterator<Item = &'static str>) -> Self {
        let size = (hooks.len() * 2).next_power_of_two().max(8);
        let mut table = ByAddress {
            slots: vec![None; size],
            shift: 64 - size.trailing_zeros(),
        };
        for name in hooks {
            let mut i = table.slot(name);
            while let Some((known, _)) = &table.slots[i] {
                if known.as_ptr() == name.as_ptr() {
                    break;
                }
                i = (i + 1) & (size - 1);
            }
            if table.slots[i].is_none() {
                table.slots[i] = Some((name, Arc::new(HookCells::default())));
            }
        }
        table
    }

    fn slot(&self, name: &str) -> usize {
        ((name.as_ptr() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The cells of the hook whose name is at `name`'s address.
    fn get(&self, name: &'static str) -> Option<&Arc<HookCells>> {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(name);
        loop {
            match &self.slots[i] {
                None => return None,
                Some((known, cells))
                    if known.as_ptr() == name.as_ptr() && known.len() == name.len() =>
                {
                    return Some(cells);
                }
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    fn values(&self) -> impl Iterator<Item = &(&'static str, Arc<HookCells>)> {
        self.slots.iter().flatten()
    }
}

/// Every hook's cells.
#[derive(Default)]
pub(super) struct HookTable {
    /// The registered hooks (made once, at the first hook's end).
    registered: OnceLock<ByAddress>,
    /// Hooks made by hand, or a name at another address, by name.
    others: Mutex<HashMap<&'static str, Arc<HookCells>>>,
}

impl HookTable {
    fn registered(&self) -> &ByAddress {
        self.registered.get_or_init(|| {
            let all = hooks_core::registry::all();
            ByAddress::new(
                all.iter()
                    .map(|r| r.meta().name)
                    .collect::<Vec<_>>()
                    .into_iter(),
            )
        })
    }

    fn record(&self, run: HookRun<'_>) {
        let name = run.meta.name;
        let elapsed = u64::try_from(run.elapsed.as_nanos()).unwrap_or(u64::MAX);
        if let Some(cells) = self.registered().get(name) {
            cells.cell(run.phase, run.mode).record(run.outcome, elapsed);
            return;
        }
        let cells = {
            let mut others = self.others.lock().unwrap_or_else(|e| e.into_inner());
            let by_name = self
                .registered()
                .values()
                .find(|(known, _)| *known == name)
                .map(|(_, cells)| cells.clone());
            others
                .entry(name)
                .or_insert_with(|| by_name.unwrap_or_default())
                .clone()
        };
        cells.cell(run.phase, run.mode).record(run.outcome, elapsed);
    }

    /// Every hook's cells, one entry per name.
    fn all(&self) -> Vec<(&'static str, Arc<HookCells>)> {
        let mut all: Vec<(&'static str, Arc<HookCells>)> =
            self.registered().values().cloned().collect();
        let others = self.others.lock().unwrap_or_else(|e| e.into_inner());
        for (name, cells) in others.iter() {
            if !all.iter().any(|(known, _)| known == name) {
                all.push((name, cells.clone()));
            }
        }
        all.sort_by_key(|(name, _)| *name);
        all
    }

    /// `agno_hooks_total` and `agno_hook_duration_seconds`, with a series
    /// for each (hook, phase, mode) that has run.
    pub(super) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let all = self.all();
        let cells: Vec<(&'static str, Phase, HookMode, &Cell)> = all
            .iter()
            .flat_map(|(name, hook)| {
                PHASES.iter().flat_map(move |phase| {
                    MODES
                        .iter()
                        .map(move |mode| (*name, *phase, *mode, hook.cell(*phase, *mode)))
                })
            })
            .filter(|(.., cell)| cell.outcomes.iter().any(|o| o.load(Relaxed) > 0))
            .collect();
        // A family with no series is left out (an empty one is not valid
        // OpenMetrics for every parser).
        if cells.is_empty() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            "agno_hooks",
            "Hook runs by hook, phase, mode (inline, background, durable) and outcome (ok, failed, blocked, panicked, timed_out, cut, refused)",
            None,
            MetricType::Counter,
        )?;
        for (hook, phase, mode, cell) in &cells {
            for (i, outcome) in OUTCOMES.iter().enumerate() {
                let n = cell.outcomes[i].load(Relaxed);
                // `ok` always, so a rate over it exists once the hook ran.
                if n == 0 && *outcome != HookOutcome::Ok {
                    continue;
                }
                let labels = HookLabels {
                    hook,
                    phase: phase.as_str(),
                    mode: mode.as_str(),
                    outcome: outcome.as_str(),
                };
                ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
            }
        }
        let ran: Vec<_> = cells.iter().filter(|(.., cell)| cell.ran() > 0).collect();
        if ran.is_empty() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            "agno_hook_duration_seconds",
            "How long hooks ran, by hook, phase and mode, in seconds (a durable hook: one attempt)",
            None,
            MetricType::Histogram,
        )?;
        for (hook, phase, mode, cell) in ran {
            let labels = HookTimeLabels {
                hook,
                phase: phase.as_str(),
                mode: mode.as_str(),
            };
            Durations(cell).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// A cell's durations as a histogram.
struct Durations<'a>(&'a Cell);

impl EncodeMetric for Durations<'_> {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> std::fmt::Result {
        let cell = self.0;
        let mut buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .zip(&cell.buckets)
            .map(|(bound, n)| (*bound, n.load(Relaxed)))
            .collect();
        buckets.push((f64::INFINITY, cell.buckets[15].load(Relaxed)));
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = cell.sum_ns.load(Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

impl HookObserver for super::Metrics {
    fn finished(&self, run: HookRun<'_>) {
        self.inner.hooks.record(run);
    }
}
