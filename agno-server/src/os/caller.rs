//! Who sent a request, as the auth middleware verified it: routes take
//! it by type (`Caller`) and ask it whose data they may touch.
//!
//! Without a JWT (no auth, or the security key) a caller is anonymous and
//! the request's `user_id` fields are taken as given, as before. With a
//! verified token:
//! - a run is the token's user's (`sub`); a form `user_id` naming someone
//!   else is refused (403; Agno replaces it silently, which hides a
//!   client's mistake or an attempt); an admin may run for any user;
//! - with user isolation, every session and run route is scoped to the
//!   token's user (a `?user_id=` naming another is refused the same way),
//!   and an admin sees everyone's.

use std::collections::HashSet;
use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use hooks_core::Identity;

use super::error::ApiError;
use super::scopes::{Held, Scope};

/// The verified caller of a request (anonymous when no token was).
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    /// The token's user claim.
    user_id: Option<String>,
    /// Whether a token was verified.
    verified: bool,
    /// The token's scopes, as written.
    scopes: Vec<String>,
    /// Them parsed, when routes check scopes.
    held: Option<Held>,
    admin: bool,
    /// User isolation is on and the caller is no admin.
    isolated: bool,
}

impl Caller {
    /// A caller whose token was verified.
    pub(crate) fn verified(
        user_id: Option<String>,
        scopes: Vec<String>,
        admin_scope: &str,
        check_scopes: bool,
        isolation: bool,
    ) -> Self {
        let held = Held::new(&scopes, admin_scope);
        let admin = held.is_admin();
        Self {
            user_id,
            verified: true,
            scopes,
            held: check_scopes.then_some(held),
            admin,
            isolated: isolation && !admin,
        }
    }

    /// Whether the caller holds the admin scope.
    pub(crate) fn is_admin(&self) -> bool {
        self.admin
    }

    /// The user a run is for, the form having said `asked`: the token's
    /// user when there is one (an admin may name another); another user
    /// named is refused.
    pub(crate) fn run_user(&self, asked: Option<String>) -> Result<Option<String>, ApiError> {
        if !self.verified {
            return Ok(asked);
        }
        if self.admin {
            return Ok(asked.or_else(|| self.user_id.clone()));
        }
        match &self.user_id {
            Some(user) => same_user(user, asked),
            None if self.isolated => Err(missing_identity()),
            None => Ok(asked),
        }
    }

    /// The identity a run of `user_id` carries to its hooks: a verified
    /// one with a token, else none (the run's `user_id` alone says).
    pub(crate) fn identity(&self, user_id: Option<String>) -> Option<Identity> {
        self.verified.then(|| Identity {
            user_id,
            verified: true,
            scopes: self.scopes.clone(),
            admin: self.admin,
        })
    }

    /// The user whose data a read or a change is scoped to, the query
    /// having asked for `asked`: under isolation, the token's user
    /// (another named is refused); else `asked` (a filter anyone may set).
    pub(crate) fn scope(&self, asked: Option<String>) -> Result<Option<String>, ApiError> {
        if !self.isolated {
            return Ok(asked);
        }
        match &self.user_id {
            Some(user) => same_user(user, asked),
            None => Err(missing_identity()),
        }
    }

    /// The scopes of `needed` the caller does not hold (none when scopes
    /// are not checked).
    pub(crate) fn missing<'a>(&self, needed: &'a [Scope]) -> Vec<&'a Scope> {
        self.held
            .as_ref()
            .map_or_else(Vec::new, |held| held.missing(needed))
    }

    /// The agents this caller may see listed: `None` for all.
    pub(crate) fn readable_agents(&self) -> Option<HashSet<String>> {
        self.held.as_ref().and_then(Held::readable_agents)
    }
}

/// `user`, unless `asked` names another (403).
fn same_user(user: &str, asked: Option<String>) -> Result<Option<String>, ApiError> {
    match asked {
        Some(asked) if asked != user => {
            tracing::warn!("a request named a user_id that is not its token's user: refused");
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "user_id does not match the authenticated user",
            ))
        }
        _ => Ok(Some(user.to_owned())),
    }
}

fn missing_identity() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "Authenticated request is missing a user identity",
    )
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(user: Option<&str>, scopes: &[&str], isolation: bool) -> Caller {
        Caller::verified(
            user.map(str::to_owned),
            scopes.iter().map(|s| (*s).to_owned()).collect(),
            "agent_os:admin",
            true,
            isolation,
        )
    }

    #[test]
    fn a_run_is_the_tokens_user_and_naming_another_is_refused() {
        let alice = token(Some("alice"), &["agents:run"], false);
        let refused = alice.run_user(Some("bob".into())).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(
            refused.detail,
            "user_id does not match the authenticated user"
        );
        assert_eq!(
            alice.run_user(Some("alice".into())).unwrap().as_deref(),
            Some("alice")
        );
        assert_eq!(alice.run_user(None).unwrap().as_deref(), Some("alice"));
        let admin = token(Some("ops"), &["agent_os:admin"], true);
        assert_eq!(
            admin.run_user(Some("bob".into())).unwrap().as_deref(),
            Some("bob")
        );
        let anonymous = Caller::default();
        assert_eq!(
            anonymous.run_user(Some("bob".into())).unwrap().as_deref(),
            Some("bob")
        );
        assert!(anonymous.identity(Some("bob".into())).is_none());
    }

    #[test]
    fn isolation_scopes_reads_to_the_tokens_user() {
        let alice = token(Some("alice"), &["sessions:read"], true);
        assert_eq!(
            alice.scope(Some("bob".into())).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            alice.scope(Some("alice".into())).unwrap().as_deref(),
            Some("alice")
        );
        assert_eq!(alice.scope(None).unwrap().as_deref(), Some("alice"));
        let open = token(Some("alice"), &["sessions:read"], false);
        assert_eq!(
            open.scope(Some("bob".into())).unwrap().as_deref(),
            Some("bob")
        );
        let admin = token(Some("ops"), &["agent_os:admin"], true);
        assert_eq!(admin.scope(None).unwrap(), None);
        let nobody = token(None, &["sessions:read"], true);
        assert_eq!(
            nobody.scope(None).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            nobody.run_user(Some("x".into())).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
    }
}
