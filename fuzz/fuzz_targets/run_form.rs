//! Any bytes as an urlencoded run form: never a panic, always a form with
//! a message or a 4xx.
#![no_main]

use agno_server::os::Limits;
use agno_server::os::fuzzing::{RunForm, parse_urlencoded};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let limits = Limits::default();
    match parse_urlencoded(body, &limits).and_then(RunForm::from_fields) {
        Ok(form) => assert!(!form.request.message.is_empty()),
        Err(error) => assert!(error.status.is_client_error()),
    }
});
