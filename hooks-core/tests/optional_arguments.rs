//! `Option<T>` arguments: absent is `None`, failed is an error (axum 0.8's
//! split between "absent" and "failed").

use std::sync::{Arc, Mutex};

use hooks_core::{
    AnyPhase, Extensions, FromHookArgs, Hook, HookArgs, HookContext, HookError,
    OptionalFromHookArgs, RunInput, RunOutput, RunShared, hook,
};

/// What the hooks saw.
#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl<'a> FromHookArgs<'a> for &'a Seen {
    type Available = AnyPhase;
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.extension::<Seen>()
            .ok_or_else(|| HookError::msg("no Seen"))
    }
}

/// A tenant read from a header-like extra field; a malformed one fails.
struct Tenant(String);

impl<'a> OptionalFromHookArgs<'a> for Tenant {
    type Available = AnyPhase;
    fn from_hook_args_opt(args: &HookArgs<'a>) -> Result<Option<Self>, HookError> {
        match args.shared().extra.get("tenant") {
            None => Ok(None),
            Some(serde_json::Value::String(t)) => Ok(Some(Tenant(t.clone()))),
            Some(other) => Err(HookError::msg(format!("tenant must be text, not {other}"))),
        }
    }
}

#[hook]
fn observe(output: Option<&RunOutput>, tenant: Option<Tenant>, seen: &Seen) {
    seen.0.lock().unwrap().push(format!(
        "output: {}, tenant: {}",
        output.is_some(),
        tenant.map_or("none".to_owned(), |t| t.0)
    ));
}

fn context(extra: serde_json::Value) -> (HookContext, Arc<Extensions>) {
    let mut extensions = Extensions::default();
    extensions.insert(Seen::default());
    let extensions = Arc::new(extensions);
    let shared = RunShared {
        extra: hooks_core::ExtraFields(extra.as_object().unwrap().clone()),
        extensions: extensions.clone(),
        ..RunShared::default()
    };
    (HookContext::new(RunInput::new("hi"), shared), extensions)
}

fn seen(extensions: &Extensions) -> Vec<String> {
    extensions.get::<Seen>().unwrap().0.lock().unwrap().clone()
}

#[tokio::test]
async fn absent_is_none_and_failed_is_an_error() {
    // Pre-phase: no output (absent), no tenant (absent).
    let (mut cx, extensions) = context(serde_json::json!({}));
    observe.call(&mut cx).finish().await.unwrap();
    // Post-phase, with a tenant.
    let (mut cx, more) = context(serde_json::json!({"tenant": "acme"}));
    cx.enter_post(RunOutput::default());
    observe.call(&mut cx).finish().await.unwrap();
    assert_eq!(seen(&extensions), ["output: false, tenant: none"]);
    assert_eq!(seen(&more), ["output: true, tenant: acme"]);

    // A tenant that is there but malformed: an error, not a silent None.
    let (mut cx, extensions) = context(serde_json::json!({"tenant": 42}));
    let error = observe.call(&mut cx).finish().await.unwrap_err();
    assert!(error.to_string().contains("tenant must be text"), "{error}");
    assert!(seen(&extensions).is_empty(), "the hook did not run");
}
