//! What Agno's guardrails cost per run: the PII check (which types occur,
//! one pass of a `RegexSet`), PII masking, and the prompt-injection check
//! (one Aho-Corasick pass over the lower-cased text), on a clean 1 KB and
//! 100 KB input (a clean input is read to its end: the worst case) and one
//! with PII near its end. Patterns are compiled once, outside the loop, as
//! a guardrail does when it is made.
//!
//! `cargo bench -p agno-server --bench guardrails -- --warm-up-time 1 --measurement-time 3`

use agno_server::guardrails::{PIIDetectionGuardrail, PiiOptions, PromptInjectionGuardrail};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Prose of `bytes` bytes, no PII, no injection phrase.
fn prose(bytes: usize) -> String {
    let sentence = "The quarterly report covers sales in 42 regions and the plans for next year. ";
    sentence.repeat(bytes / sentence.len() + 1)[..bytes].to_owned()
}

fn bench(c: &mut Criterion) {
    let detect = PIIDetectionGuardrail::new();
    let mask = PIIDetectionGuardrail::with_options(PiiOptions {
        mask_pii: true,
        ..PiiOptions::default()
    })
    .unwrap();
    let injection = PromptInjectionGuardrail::new();
    let mut group = c.benchmark_group("guardrails");
    for size in [1024, 100 * 1024] {
        let clean = prose(size);
        let mut dirty = prose(size - 40);
        dirty.push_str(" mail ada@example.com, 555-123-4567");
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::new("pii_detect_clean", size),
            &clean,
            |b, t| b.iter(|| detect.detect(t)),
        );
        group.bench_with_input(
            BenchmarkId::new("pii_detect_found", size),
            &dirty,
            |b, t| b.iter(|| detect.detect(t)),
        );
        group.bench_with_input(BenchmarkId::new("pii_mask_found", size), &dirty, |b, t| {
            b.iter(|| mask.mask(t))
        });
        group.bench_with_input(BenchmarkId::new("injection_clean", size), &clean, |b, t| {
            b.iter(|| injection.detects(t))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
