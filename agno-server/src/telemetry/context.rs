//! A run's trace context kept with its durable jobs, so that a hook's
//! attempt, in whatever process and however late it runs, links its span
//! to the run that started it.
//!
//! The context is the W3C `traceparent` of the run's span (written by
//! OpenTelemetry's own [`TraceContextPropagator`], read back by it), kept
//! in the job's payload. Without the `otlp` feature there is no
//! OpenTelemetry context to keep: [`current`] is `None` and [`link`] does
//! nothing (an attempt started in the run's own process still follows
//! from the run's span, which any subscriber sees).
//!
//! [`TraceContextPropagator`]: https://docs.rs/opentelemetry_sdk/latest/opentelemetry_sdk/propagation/struct.TraceContextPropagator.html

/// The `traceparent` of the current span, when it is in an OpenTelemetry
/// trace (the `otlp` feature, its layer installed).
#[cfg(feature = "otlp")]
pub(crate) fn current() -> Option<String> {
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = std::collections::HashMap::new();
    opentelemetry_sdk::propagation::TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Without the `otlp` feature: no OpenTelemetry context.
#[cfg(not(feature = "otlp"))]
pub(crate) fn current() -> Option<String> {
    None
}

/// Links `span` to the span `traceparent` names (a run's, kept with its
/// job). A value that is not a valid `traceparent` links nothing.
#[cfg(feature = "otlp")]
pub(crate) fn link(span: &tracing::Span, traceparent: &str) {
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    let carrier =
        std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let cx = opentelemetry_sdk::propagation::TraceContextPropagator::new().extract(&carrier);
    let run = cx.span().span_context().clone();
    if run.is_valid() {
        span.add_link(run);
    }
}

/// Without the `otlp` feature: nothing to link.
#[cfg(not(feature = "otlp"))]
pub(crate) fn link(_span: &tracing::Span, _traceparent: &str) {}

#[cfg(all(test, feature = "otlp"))]
mod tests {
    #[test]
    fn outside_a_trace_there_is_no_context() {
        assert_eq!(super::current(), None);
        // A malformed value links nothing, and does not panic.
        super::link(&tracing::Span::none(), "not a traceparent");
    }
}
