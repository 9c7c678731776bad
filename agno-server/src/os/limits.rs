//! Size limits on what a client may send.

/// Limits on request bodies and form fields. Past a limit the request gets
/// a 413 with a JSON `detail`; nothing is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes. Default 10 MiB.
    pub max_body_bytes: usize,
    /// Largest single form field, in bytes. Default 1 MiB.
    pub max_field_bytes: usize,
    /// Most form fields in one request. Default 256.
    pub max_fields: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 * 1024 * 1024,
            max_field_bytes: 1024 * 1024,
            max_fields: 256,
        }
    }
}
