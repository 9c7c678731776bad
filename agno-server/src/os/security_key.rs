//! The bearer key of an AgentOS, apart from the middleware that checks it
//! (the state holds a key; the middleware reads the state).

use subtle::ConstantTimeEq;

/// The security key, kept out of `Debug` output and logs.
#[derive(Clone)]
pub struct SecurityKey(Box<[u8]>);

impl SecurityKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into().into_bytes().into_boxed_slice())
    }

    /// Whether `presented` is the key, in time that does not depend on
    /// where the two differ.
    pub fn matches(&self, presented: &[u8]) -> bool {
        bool::from(self.0.as_ref().ct_eq(presented))
    }
}

impl std::fmt::Debug for SecurityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecurityKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::SecurityKey;

    #[test]
    fn matches_only_the_exact_key() {
        let key = SecurityKey::new("s3cret");
        assert!(key.matches(b"s3cret"));
        assert!(!key.matches(b"s3cre"));
        assert!(!key.matches(b"s3cret2"));
        assert!(!key.matches(b""));
        assert_eq!(format!("{key:?}"), "SecurityKey(<redacted>)");
    }
}
