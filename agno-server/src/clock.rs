//! The one clock the crate reads for timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

/// Epoch seconds now (Agno's timestamps: `created_at`, `updated_at`, ...);
/// 0 on a clock set before 1970.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
