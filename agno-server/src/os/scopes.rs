//! Which scopes a route needs, and whether a token's scopes hold them:
//! Agno 3.1.10's model (`agno/os/scopes.py`).
//!
//! A scope is `resource:action` (every resource of the kind),
//! `resource:<id>:action` (one; `*` for all), or the admin scope, which
//! holds every other. A route on one agent (`/agents/{id}/...`) needs
//! the scope for that agent: `agents:run` or `agents:<id>:run` or
//! `agents:*:run`. Other resources (sessions, config) have no ids. A
//! route this table does not name needs a valid token and no scope.

use std::collections::HashSet;

use axum::http::Method;

/// One scope a route needs (or a token holds, parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    resource: String,
    /// `None`: every resource of the kind (`agents:read`); `Some("*")`:
    /// the same, written per resource.
    id: Option<String>,
    action: String,
}

impl Scope {
    fn new(resource: &str, id: Option<&str>, action: &str) -> Self {
        Self {
            resource: resource.to_owned(),
            id: id.map(str::to_owned),
            action: action.to_owned(),
        }
    }

    /// A token's scope, as Agno parses it: case-sensitive, `system:` read
    /// as `config:`; anything else (`admin`, `a:b:c:d`) holds nothing.
    fn parse(text: &str) -> Option<Self> {
        let parts: Vec<&str> = text.split(':').collect();
        let resource = |r: &str| if r == "system" { "config" } else { r }.to_owned();
        match parts.as_slice() {
            [r, a] if !r.is_empty() && !a.is_empty() => Some(Self {
                resource: resource(r),
                id: None,
                action: (*a).to_owned(),
            }),
            [r, id, a] if !r.is_empty() && !id.is_empty() && !a.is_empty() => Some(Self {
                resource: resource(r),
                id: Some((*id).to_owned()),
                action: (*a).to_owned(),
            }),
            _ => None,
        }
    }

    /// Whether a held scope (`self`) covers `needed`.
    fn covers(&self, needed: &Scope) -> bool {
        if self.resource != needed.resource || self.action != needed.action {
            return false;
        }
        match (&needed.id, self.id.as_deref()) {
            // One resource: a scope for all, or for that one.
            (Some(id), held) => held.is_none_or(|held| held == "*" || held == id),
            // Every resource of the kind: a scope for all only.
            (None, held) => held.is_none_or(|held| held == "*"),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}:{}:{}", self.resource, id, self.action),
            None => write!(f, "{}:{}", self.resource, self.action),
        }
    }
}

/// What a route needs of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Needs {
    /// A valid token only.
    Token,
    /// Every one of these scopes.
    All(Vec<Scope>),
    /// `GET /agents`: the agents the token may read (filtered by the
    /// route), at least one.
    AgentListing,
    /// The job queue: the admin scope.
    Admin,
}

/// What `method path` needs (the path as the router sees it).
pub(crate) fn needs(method: &Method, path: &str) -> Needs {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let get = *method == Method::GET;
    let one = |r: &str, id: Option<&str>, a: &str| Needs::All(vec![Scope::new(r, id, a)]);
    match segments.as_slice() {
        ["queue", ..] => Needs::Admin,
        ["agents"] if get => Needs::AgentListing,
        ["agents"] => one("agents", None, "write"),
        ["agents", id] if get => one("agents", Some(id), "read"),
        ["agents", id] if *method == Method::PATCH => one("agents", Some(id), "write"),
        ["agents", id] if *method == Method::DELETE => one("agents", Some(id), "delete"),
        ["agents", id, "runs"] if *method == Method::POST => one("agents", Some(id), "run"),
        // Agno's route needs `agents:read`, its handler `agents:run` too.
        ["agents", id, "runs", _] if get => Needs::All(vec![
            Scope::new("agents", Some(id), "read"),
            Scope::new("agents", Some(id), "run"),
        ]),
        ["agents", id, "runs", _, "cancel"] => one("agents", Some(id), "run"),
        ["agents", id, ..] if get => one("agents", Some(id), "read"),
        ["agents", id, ..] => one("agents", Some(id), "run"),
        ["sessions", ..] if get => one("sessions", None, "read"),
        ["sessions", ..] if *method == Method::DELETE => one("sessions", None, "delete"),
        ["sessions", ..] => one("sessions", None, "write"),
        ["config"] | ["models"] | ["hooks"] => one("config", None, "read"),
        ["metrics", ..] if get => one("metrics", None, "read"),
        ["metrics", ..] => one("metrics", None, "write"),
        ["traces", ..] | ["trace_session_stats"] => one("traces", None, "read"),
        _ => Needs::Token,
    }
}

/// A token's scopes, parsed once per request.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    admin: bool,
    scopes: Vec<Scope>,
}

impl Held {
    /// `scopes` as a token holds them; `admin_scope` holds every other.
    pub(crate) fn new(scopes: &[String], admin_scope: &str) -> Self {
        Self {
            admin: scopes.iter().any(|s| s == admin_scope),
            scopes: scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        }
    }

    /// Whether the admin scope is held.
    pub(crate) fn is_admin(&self) -> bool {
        self.admin
    }

    /// The scopes of `needed` not held (none: allowed).
    pub(crate) fn missing<'a>(&self, needed: &'a [Scope]) -> Vec<&'a Scope> {
        if self.admin {
            return Vec::new();
        }
        needed
            .iter()
            .filter(|n| !self.scopes.iter().any(|held| held.covers(n)))
            .collect()
    }

    /// The agents the token may read: `None` for every one.
    pub(crate) fn readable_agents(&self) -> Option<HashSet<String>> {
        if self.admin {
            return None;
        }
        let mut ids = HashSet::new();
        for scope in &self.scopes {
            if scope.resource != "agents" || scope.action != "read" {
                continue;
            }
            match scope.id.as_deref() {
                None | Some("*") => return None,
                Some(id) => {
                    ids.insert(id.to_owned());
                }
            }
        }
        Some(ids)
    }
}

/// Agno's 403 text for `missing`.
pub(crate) fn insufficient(missing: &[&Scope]) -> String {
    let names: Vec<String> = missing.iter().map(ToString::to_string).collect();
    format!(
        "Insufficient permissions. Required scope(s): {}",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(scopes: &[&str]) -> Held {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        Held::new(&scopes, "agent_os:admin")
    }

    fn allowed(scopes: &[&str], method: Method, path: &str) -> bool {
        match needs(&method, path) {
            Needs::All(needed) => held(scopes).missing(&needed).is_empty(),
            Needs::Token => true,
            Needs::AgentListing => held(scopes)
                .readable_agents()
                .is_none_or(|ids| !ids.is_empty()),
            Needs::Admin => held(scopes).is_admin(),
        }
    }

    #[test]
    fn a_route_on_one_agent_needs_a_scope_for_it_or_for_all() {
        let run = |scopes: &[&str]| allowed(scopes, Method::POST, "/agents/a/runs");
        assert!(run(&["agents:run"]));
        assert!(run(&["agents:a:run"]));
        assert!(run(&["agents:*:run"]));
        assert!(run(&["agent_os:admin"]));
        assert!(!run(&["agents:b:run"]));
        assert!(!run(&["agents:read"]));
        assert!(!run(&["admin"]), "a bare `admin` is no admin (as Agno)");
        assert!(!run(&["Agents:run"]), "case counts");
        assert!(!run(&[]));
    }

    #[test]
    fn reading_a_run_needs_read_and_run() {
        let get = |scopes: &[&str]| allowed(scopes, Method::GET, "/agents/a/runs/r");
        assert!(get(&["agents:read", "agents:a:run"]));
        assert!(!get(&["agents:read"]));
        assert!(!get(&["agents:run"]));
        let Needs::All(needed) = needs(&Method::GET, "/agents/a/runs/r") else {
            panic!("scopes");
        };
        assert_eq!(
            insufficient(&held(&["agents:read"]).missing(&needed)),
            "Insufficient permissions. Required scope(s): agents:a:run"
        );
    }

    #[test]
    fn a_scope_for_one_agent_does_not_cover_every_agent() {
        let write = |scopes: &[&str]| allowed(scopes, Method::POST, "/agents");
        assert!(write(&["agents:write"]));
        assert!(write(&["agents:*:write"]));
        assert!(!write(&["agents:a:write"]));
    }

    #[test]
    fn the_listing_shows_what_the_token_may_read() {
        assert_eq!(held(&["agents:read"]).readable_agents(), None);
        assert_eq!(held(&["agents:*:read"]).readable_agents(), None);
        assert_eq!(
            held(&["agents:a:read", "agents:b:run"]).readable_agents(),
            Some(HashSet::from(["a".to_owned()]))
        );
        assert!(!allowed(&["agents:b:run"], Method::GET, "/agents"));
    }

    #[test]
    fn sessions_config_and_the_queue() {
        assert!(allowed(&["sessions:read"], Method::GET, "/sessions/s/runs"));
        assert!(allowed(&["sessions:*:read"], Method::GET, "/sessions"));
        assert!(!allowed(&["sessions:read"], Method::DELETE, "/sessions/s"));
        assert!(allowed(&["sessions:delete"], Method::DELETE, "/sessions"));
        assert!(allowed(
            &["sessions:write"],
            Method::POST,
            "/sessions/s/rename"
        ));
        assert!(allowed(&["config:read"], Method::GET, "/config"));
        assert!(
            allowed(&["system:read"], Method::GET, "/config"),
            "Agno's alias"
        );
        assert!(!allowed(&["agents:read"], Method::GET, "/queue/jobs"));
        assert!(allowed(
            &["agent_os:admin"],
            Method::POST,
            "/queue/jobs/j/requeue"
        ));
        assert!(
            allowed(&[], Method::GET, "/nowhere"),
            "unmapped: a token only"
        );
    }
}
