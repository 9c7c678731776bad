//! How an AgentOS authenticates requests: not at all, one security key,
//! or JWTs. The builder chooses it, the state holds it, the middleware
//! (`auth.rs`) applies it.

use std::sync::Arc;

use super::jwt::JwtVerifier;
use super::security_key::SecurityKey;

/// How requests are authenticated.
#[derive(Clone, Default)]
pub(crate) enum Auth {
    /// Not at all.
    #[default]
    Open,
    /// One bearer key for every caller.
    Key(SecurityKey),
    /// JWTs: a user and scopes per caller.
    Jwt(Arc<JwtVerifier>),
}

impl Auth {
    /// What the log and `Debug` call it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Auth::Open => "off",
            Auth::Key(_) => "security key",
            Auth::Jwt(_) => "jwt",
        }
    }
}
