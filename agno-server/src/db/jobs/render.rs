//! Renders a job statement's portable template for one dialect.
//!
//! The forms:
//!
//! | template | SQLite | Postgres |
//! |---|---|---|
//! | `:name` | `?N` | `$N` |
//! | `{in :list}` | `IN (SELECT value FROM json_each(?N))` | `= ANY($N)` |
//! | `{not_in :list}` | `NOT IN (SELECT value FROM json_each(?N))` | `<> ALL($N)` |
//! | `{opt_in col :list}` | `(?N IS NULL OR col IN (...))` | `($N::text[] IS NULL OR col = ANY($N))` |
//! | `{opt_eq col :text}` | `(?N IS NULL OR col = ?N)` | `($N::text IS NULL OR col = $N)` |
//! | `{is col :text}` | `col IS ?N` | `col IS NOT DISTINCT FROM $N::text` |
//! | `{pairs :ids :attempts}` | `(id, attempt) IN (zip of two json_each)` | `(id, attempt) IN (SELECT * FROM unnest(..))` |
//! | `{json :text}` | `?N` | `$N::text::jsonb` |
//! | `{text col}` | `col` | `col::text` |
//! | `{object col}` | `json_valid(col)` | `jsonb_typeof(col) = 'object'` |
//! | `{set col; key = expr; ...}` | `json_set(col, '$.key', expr, ...)` | `col \|\| jsonb_build_object('key', expr, ...)` |
//! | `{now}` | `?N` (the store's clock) | `CAST(EXTRACT(EPOCH FROM now()) AS bigint)` (the database's) |
//! | `{skip_locked}` | (nothing) | `FOR UPDATE SKIP LOCKED` |
//! | `{for_update}` | (nothing) | `FOR UPDATE` |
//! | `{abandoned}` | held by another owner than `:owner` (one process per file) | `lease_until` past on the database's clock, not one of `:held_ids`/`:held_attempts` |
//! | `{lease_until}` | `NULL` (no leases) | the database's clock in ms plus `:lease_ms` |

use std::collections::HashMap;

/// The SQL a store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Dialect {
    /// SQLite (`?N`, JSON as text, lists as JSON arrays).
    Sqlite,
    /// PostgreSQL (`$N`, JSONB, lists as arrays).
    Postgres,
}

/// A statement in one dialect: its text, and the parameter names in the
/// order of their numbers (`?1`/`$1` first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// The SQL.
    pub(crate) sql: String,
    /// Parameter names by number.
    pub(crate) params: Vec<String>,
    /// Which parameters are lists (bound as JSON arrays on SQLite).
    pub(crate) lists: Vec<bool>,
}

/// The database's clock in milliseconds, at the statement (Postgres).
const NOW_MS: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS bigint)";

/// The parameter name `{now}` binds on SQLite.
pub(super) const NOW: &str = "__now";

/// Renders `template` for `dialect`.
pub(super) fn render(template: &str, dialect: Dialect) -> Rendered {
    let mut out = Renderer {
        dialect,
        sql: String::with_capacity(template.len() + 64),
        numbers: HashMap::new(),
        params: Vec::new(),
        lists: Vec::new(),
    };
    let mut rest = template;
    while let Some(at) = rest.find(['{', ':', '\'']) {
        let (before, from) = rest.split_at(at);
        out.sql.push_str(before);
        if let Some(literal) = from.strip_prefix('\'') {
            // A string literal, copied as it is.
            let end = literal
                .find('\'')
                .unwrap_or_else(|| panic!("unclosed string in a job statement: {template}"));
            out.sql.push_str(&from[..end + 2]);
            rest = &from[end + 2..];
        } else if let Some(after) = from.strip_prefix("::") {
            // A cast, copied as it is.
            out.sql.push_str("::");
            rest = after;
        } else if from.starts_with('{') {
            let end = from
                .find('}')
                .unwrap_or_else(|| panic!("unclosed form in a job statement: {template}"));
            out.form(&from[1..end]);
            rest = &from[end + 1..];
        } else {
            let name_len = from[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(from.len() - 1);
            let name = &from[1..1 + name_len];
            assert!(
                !name.is_empty(),
                "a lone ':' in a job statement: {template}"
            );
            let param = out.param(name, false);
            out.sql.push_str(&param);
            rest = &from[1 + name_len..];
        }
    }
    out.sql.push_str(rest);
    Rendered {
        sql: out.sql,
        params: out.params,
        lists: out.lists,
    }
}

struct Renderer {
    dialect: Dialect,
    sql: String,
    numbers: HashMap<String, usize>,
    params: Vec<String>,
    lists: Vec<bool>,
}

impl Renderer {
    /// The placeholder of parameter `name` (numbered at its first use).
    fn param(&mut self, name: &str, list: bool) -> String {
        let n = match self.numbers.get(name) {
            Some(n) => *n,
            None => {
                self.params.push(name.to_owned());
                self.lists.push(list);
                let n = self.params.len();
                self.numbers.insert(name.to_owned(), n);
                n
            }
        };
        match self.dialect {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// The placeholder named by `word` (`:name`).
    fn named(&mut self, word: &str, list: bool) -> String {
        let name = word
            .strip_prefix(':')
            .unwrap_or_else(|| panic!("expected a :parameter in a job statement, found {word:?}"));
        self.param(name, list)
    }

    fn form(&mut self, body: &str) {
        let body = body.trim();
        let (head, tail) = body.split_once(' ').unwrap_or((body, ""));
        let words: Vec<&str> = tail.split_whitespace().collect();
        let pg = self.dialect == Dialect::Postgres;
        let text = match (head, words.as_slice()) {
            ("in", [list]) => {
                let p = self.named(list, true);
                if pg {
                    format!("= ANY({p})")
                } else {
                    format!("IN (SELECT value FROM json_each({p}))")
                }
            }
            ("not_in", [list]) => {
                let p = self.named(list, true);
                if pg {
                    format!("<> ALL({p})")
                } else {
                    format!("NOT IN (SELECT value FROM json_each({p}))")
                }
            }
            ("opt_in", [column, list]) => {
                let p = self.named(list, true);
                if pg {
                    format!("({p}::text[] IS NULL OR {column} = ANY({p}))")
                } else {
                    format!("({p} IS NULL OR {column} IN (SELECT value FROM json_each({p})))")
                }
            }
            ("opt_eq", [column, value]) => {
                let p = self.named(value, false);
                if pg {
                    format!("({p}::text IS NULL OR {column} = {p})")
                } else {
                    format!("({p} IS NULL OR {column} = {p})")
                }
            }
            ("is", [column, value]) => {
                let p = self.named(value, false);
                if pg {
                    format!("{column} IS NOT DISTINCT FROM {p}::text")
                } else {
                    format!("{column} IS {p}")
                }
            }
            ("pairs", [ids, attempts]) => {
                let (a, b) = (self.named(ids, true), self.named(attempts, true));
                if pg {
                    format!("(id, attempt) IN (SELECT * FROM unnest({a}::text[], {b}::bigint[]))")
                } else {
                    format!(
                        "(id, attempt) IN (SELECT i.value, n.value FROM json_each({a}) AS i \
                         JOIN json_each({b}) AS n ON n.key = i.key)"
                    )
                }
            }
            ("json", [value]) => {
                let p = self.named(value, false);
                if pg { format!("{p}::text::jsonb") } else { p }
            }
            ("text", [column]) => {
                if pg {
                    format!("{column}::text")
                } else {
                    (*column).to_owned()
                }
            }
            ("object", [column]) => {
                if pg {
                    format!("jsonb_typeof({column}) = 'object'")
                } else {
                    format!("json_valid({column})")
                }
            }
            ("now", []) => {
                if pg {
                    "CAST(EXTRACT(EPOCH FROM now()) AS bigint)".to_owned()
                } else {
                    self.param(NOW, false)
                }
            }
            ("abandoned", []) => {
                // How a store tells that a `running` job's instance is
                // gone. SQLite: one process owns the file, so a job held
                // by any other owner is a dead process's. Postgres: its
                // lease ran out on the database's clock (a row from before
                // leases were kept in milliseconds: `locked_at` plus the
                // lease), and it is not one of the live attempts of the
                // instance asking (which never takes over its own).
                if pg {
                    let lease = self.param("lease_ms", false);
                    let (ids, attempts) = (
                        self.param("held_ids", true),
                        self.param("held_attempts", true),
                    );
                    format!(
                        "coalesce(lease_until, locked_at * 1000 + {lease}) < {NOW_MS} \
                         AND (id, attempt) NOT IN \
                         (SELECT * FROM unnest({ids}::text[], {attempts}::bigint[]))"
                    )
                } else {
                    let owner = self.param("owner", false);
                    format!("coalesce(locked_by, '') <> {owner}")
                }
            }
            ("lease_until", []) => {
                // When a lease taken or renewed now runs out: on the
                // database's clock, in milliseconds (Postgres); SQLite has
                // no leases.
                if pg {
                    let lease = self.param("lease_ms", false);
                    format!("{NOW_MS} + {lease}")
                } else {
                    "NULL".to_owned()
                }
            }
            ("for_update", []) => {
                if pg {
                    "FOR UPDATE".to_owned()
                } else {
                    String::new()
                }
            }
            ("skip_locked", []) => {
                if pg {
                    "FOR UPDATE SKIP LOCKED".to_owned()
                } else {
                    String::new()
                }
            }
            ("set", _) => self.set(tail),
            _ => panic!("unknown form {{{body}}} in a job statement"),
        };
        self.sql.push_str(&text);
    }

    /// `{set col; key = expr; ...}`: `col` with each key set.
    fn set(&mut self, tail: &str) -> String {
        let mut parts = tail.split(';').map(str::trim);
        let column = parts.next().unwrap_or_default().to_owned();
        let mut pairs = Vec::new();
        for part in parts {
            let (key, expr) = part
                .split_once('=')
                .unwrap_or_else(|| panic!("{{set}} needs key = value, found {part:?}"));
            let (key, expr) = (key.trim(), expr.trim());
            let value = match expr.strip_prefix(':') {
                Some(_) => {
                    let p = self.named(expr, false);
                    if self.dialect == Dialect::Postgres {
                        format!("{p}::text")
                    } else {
                        p
                    }
                }
                None => expr.to_owned(),
            };
            pairs.push((key.to_owned(), value));
        }
        match self.dialect {
            Dialect::Sqlite => {
                let sets: Vec<String> =
                    pairs.iter().map(|(k, v)| format!("'$.{k}', {v}")).collect();
                format!("json_set({column}, {})", sets.join(", "))
            }
            Dialect::Postgres => {
                let sets: Vec<String> = pairs.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
                format!("{column} || jsonb_build_object({})", sets.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_for_each_dialect() {
        let t = "UPDATE agno_jobs SET run_data = {set run_data; status = 'ERROR'; content = :why}, \
                 at = {now} WHERE id {in :ids} AND {opt_eq user_id :user} AND attempt = :n \
                 AND {object run_data} AND user_id = :user {skip_locked}";
        let lite = render(t, Dialect::Sqlite);
        assert_eq!(
            lite.sql,
            "UPDATE agno_jobs SET run_data = json_set(run_data, '$.status', 'ERROR', '$.content', ?1), \
             at = ?2 WHERE id IN (SELECT value FROM json_each(?3)) AND (?4 IS NULL OR user_id = ?4) \
             AND attempt = ?5 AND json_valid(run_data) AND user_id = ?4 "
        );
        assert_eq!(lite.params, ["why", NOW, "ids", "user", "n"]);
        assert_eq!(lite.lists, [false, false, true, false, false]);
        let pg = render(t, Dialect::Postgres);
        assert_eq!(
            pg.sql,
            "UPDATE agno_jobs SET run_data = run_data || jsonb_build_object('status', 'ERROR', 'content', $1::text), \
             at = CAST(EXTRACT(EPOCH FROM now()) AS bigint) WHERE id = ANY($2) AND ($3::text IS NULL OR user_id = $3) \
             AND attempt = $4 AND jsonb_typeof(run_data) = 'object' AND user_id = $3 FOR UPDATE SKIP LOCKED"
        );
        assert_eq!(pg.params, ["why", "ids", "user", "n"]);
    }

    #[test]
    fn strings_and_casts_are_left_alone() {
        let t = "SELECT 'at: {x}' || :a, b::text FROM t";
        assert_eq!(
            render(t, Dialect::Sqlite).sql,
            "SELECT 'at: {x}' || ?1, b::text FROM t"
        );
        assert_eq!(render(t, Dialect::Postgres).params, ["a"]);
    }
}
