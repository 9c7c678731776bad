//! A list of sessions: the filters, paging and sorting a caller asks
//! for ([`SessionQuery`]) and the page it gets ([`SessionPage`]).

use serde::{Deserialize, Serialize};

use super::records::SessionType;
use super::{DbError, SessionRecord, SortOrder};

/// The sort keys [`SessionQuery::sort_by`] accepts.
pub const SORT_KEYS: [&str; 3] = ["created_at", "updated_at", "session_name"];

/// Filters, paging and sorting for [`SessionStore::list_sessions`](super::SessionStore::list_sessions).
///
/// Every field is optional; `SessionQuery::default()` lists the 20 most
/// recently updated sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionQuery {
    /// Only sessions of this type (`type` in Agno's HTTP query).
    #[serde(alias = "type")]
    pub session_type: Option<SessionType>,
    /// Only sessions of this component (agent, team or workflow id).
    pub component_id: Option<String>,
    /// Only sessions of this user.
    pub user_id: Option<String>,
    /// Only sessions whose name contains this text (ASCII case-insensitive).
    pub session_name: Option<String>,
    /// Sessions per page (default 20, at least 1).
    pub limit: Option<u32>,
    /// The page, 1-based (default 1).
    pub page: Option<u32>,
    /// `"created_at"`, `"updated_at"` (default) or `"session_name"`.
    pub sort_by: Option<String>,
    /// Ascending or descending (default).
    pub sort_order: Option<SortOrder>,
}

impl SessionQuery {
    /// The page size used when [`limit`](Self::limit) is `None`.
    pub const DEFAULT_LIMIT: u32 = 20;
    /// The largest page: a page of every session at once (Agno has no
    /// bound: `limit=4294967295` answered 116 116 sessions, 16 MB, in one
    /// body) is refused.
    pub const MAX_LIMIT: u32 = 1000;

    /// The effective `(limit, page)`, or [`DbError::InvalidQuery`] when one
    /// of them is 0 or `limit` is above [`MAX_LIMIT`](Self::MAX_LIMIT).
    pub fn paging(&self) -> Result<(u32, u32), DbError> {
        let limit = self.limit.unwrap_or(Self::DEFAULT_LIMIT);
        let page = self.page.unwrap_or(1);
        if limit == 0 {
            return Err(DbError::InvalidQuery("limit must be at least 1".into()));
        }
        if limit > Self::MAX_LIMIT {
            return Err(DbError::InvalidQuery(format!(
                "limit must be at most {} (ask for the next page instead)",
                Self::MAX_LIMIT
            )));
        }
        if page == 0 {
            return Err(DbError::InvalidQuery(
                "page must be at least 1 (pages are 1-based)".into(),
            ));
        }
        Ok((limit, page))
    }

    /// The effective sort key, or [`DbError::InvalidQuery`] for a key not in
    /// [`SORT_KEYS`].
    pub fn sort_key(&self) -> Result<&str, DbError> {
        match self.sort_by.as_deref() {
            None => Ok("updated_at"),
            Some(key) if SORT_KEYS.contains(&key) => Ok(key),
            Some(other) => Err(DbError::InvalidQuery(format!(
                "cannot sort by {other:?} (expected one of {})",
                SORT_KEYS.join(", ")
            ))),
        }
    }
}

/// One page of [`SessionStore::list_sessions`](super::SessionStore::list_sessions).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionPage {
    /// The sessions of this page, in the requested order.
    pub sessions: Vec<SessionRecord>,
    /// The ids of this page's rows that could not be read (damaged JSON,
    /// for example): left out of `sessions` and logged, never failing the
    /// whole list.
    pub unreadable: Vec<String>,
    /// How many sessions match the filters, over all pages.
    pub total_count: u64,
    /// This page's number (1-based).
    pub page: u32,
    /// The page size.
    pub limit: u32,
    /// How many pages the matching sessions fill (0 when none match).
    pub total_pages: u32,
}

impl SessionPage {
    /// The page `page` of `limit` sessions out of `total_count`.
    pub(crate) fn new(
        sessions: Vec<SessionRecord>,
        unreadable: Vec<String>,
        total_count: u64,
        page: u32,
        limit: u32,
    ) -> Self {
        let total_pages = u32::try_from(total_count.div_ceil(u64::from(limit))).unwrap_or(u32::MAX);
        Self {
            sessions,
            unreadable,
            total_count,
            page,
            limit,
            total_pages,
        }
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE` pattern whose escape character
/// is `\` (both stores).
pub(crate) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_defaults_and_validation() {
        let q = SessionQuery::default();
        assert_eq!(q.paging().unwrap(), (20, 1));
        assert_eq!(q.sort_key().unwrap(), "updated_at");

        let bad_sort = SessionQuery {
            sort_by: Some("run_id; DROP TABLE agno_sessions".into()),
            ..Default::default()
        };
        assert!(matches!(bad_sort.sort_key(), Err(DbError::InvalidQuery(_))));

        let zero = SessionQuery {
            limit: Some(0),
            ..Default::default()
        };
        assert!(matches!(zero.paging(), Err(DbError::InvalidQuery(_))));
        let page0 = SessionQuery {
            page: Some(0),
            ..Default::default()
        };
        assert!(matches!(page0.paging(), Err(DbError::InvalidQuery(_))));
    }

    #[test]
    fn query_accepts_agno_type_alias() {
        let q: SessionQuery =
            serde_json::from_str(r#"{"type":"agent","limit":5,"sort_order":"asc"}"#).unwrap();
        assert_eq!(q.session_type, Some(SessionType::Agent));
        assert_eq!(q.limit, Some(5));
        assert_eq!(q.sort_order, Some(SortOrder::Asc));
    }
}
