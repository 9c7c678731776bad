//! The job queue's statements, written once for both stores.
//!
//! A statement is a template in portable SQL with named parameters
//! (`:name`) and a few forms the two dialects spell differently
//! (`{in :ids}`, `{json :payload}`, ...); each store renders it once for
//! its dialect ([`Statement::render`]) and binds the neutral [`Arg`]s by
//! name. A transition ([`super::transitions`]) is a [`Plan`]: the
//! statements one transaction runs, in order, and how their outputs make
//! the transition's answer. The stores supply only an executor for plans
//! (`sqlite/jobs.rs`, `postgres/jobs.rs`): the guards and the sequence
//! live here, once.
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
//! | `{abandoned}` | held by another owner than `:owner` (one process per file) | lease older than `:lease` s, not one of `:held_ids`/`:held_attempts` |

use std::collections::HashMap;
use std::sync::OnceLock;

use super::super::DbError;

/// The SQL a store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Dialect {
    /// SQLite (`?N`, JSON as text, lists as JSON arrays).
    Sqlite,
    /// PostgreSQL (`$N`, JSONB, lists as arrays).
    Postgres,
}

/// A parameter's value, neutral: each store binds it as its driver wants.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// Text, or NULL.
    Text(Option<String>),
    /// An integer, or NULL.
    Int(Option<i64>),
    /// A list of texts (`{in}`, `{opt_in}`, `{pairs}`), or NULL.
    Texts(Option<Vec<String>>),
    /// A list of integers (`{pairs}`).
    Ints(Vec<i64>),
}

impl From<&str> for Arg {
    fn from(text: &str) -> Self {
        Arg::Text(Some(text.to_owned()))
    }
}

impl From<String> for Arg {
    fn from(text: String) -> Self {
        Arg::Text(Some(text))
    }
}

impl From<Option<String>> for Arg {
    fn from(text: Option<String>) -> Self {
        Arg::Text(text)
    }
}

impl From<Option<&str>> for Arg {
    fn from(text: Option<&str>) -> Self {
        Arg::Text(text.map(str::to_owned))
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Int(Some(n))
    }
}

impl From<u32> for Arg {
    fn from(n: u32) -> Self {
        Arg::Int(Some(i64::from(n)))
    }
}

impl From<Option<i64>> for Arg {
    fn from(n: Option<i64>) -> Self {
        Arg::Int(n)
    }
}

impl From<Vec<String>> for Arg {
    fn from(list: Vec<String>) -> Self {
        Arg::Texts(Some(list))
    }
}

impl From<Vec<i64>> for Arg {
    fn from(list: Vec<i64>) -> Self {
        Arg::Ints(list)
    }
}

/// A column's value as read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Text (a JSON column is read as its text).
    Text(String),
    /// An integer.
    Int(i64),
    /// NULL.
    Null,
}

impl Cell {
    /// The text, or `None` for NULL (an integer is written out).
    pub(crate) fn text(&self) -> Option<String> {
        match self {
            Cell::Text(t) => Some(t.clone()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Null => None,
        }
    }

    /// The integer, or `None` for NULL or text that is not one.
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            Cell::Text(t) => t.trim().parse().ok(),
            Cell::Null => None,
        }
    }
}

/// What a store reads from each result column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    /// A text column (or a JSON one read with `{text col}`).
    Text,
    /// A `BIGINT` column.
    Int,
}

/// One statement of the queue: its template, rendered once per dialect.
pub(crate) struct Statement {
    /// The portable SQL.
    template: &'static str,
    sqlite: OnceLock<Rendered>,
    postgres: OnceLock<Rendered>,
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

impl Statement {
    /// A statement from its template (rendered when first used).
    pub(crate) const fn new(template: &'static str) -> Self {
        Self {
            template,
            sqlite: OnceLock::new(),
            postgres: OnceLock::new(),
        }
    }

    /// The statement in `dialect`.
    pub(crate) fn render(&self, dialect: Dialect) -> &Rendered {
        let cell = match dialect {
            Dialect::Sqlite => &self.sqlite,
            Dialect::Postgres => &self.postgres,
        };
        cell.get_or_init(|| render(self.template, dialect))
    }
}

/// What a step wants back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Want {
    /// How many rows it changed.
    Count,
    /// The rows it returned, read as these columns.
    Rows(&'static [Col]),
    /// Nothing (a statement whose count is not part of the answer).
    Discard,
}

/// What a step gave back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    /// Rows changed.
    Count(u64),
    /// Rows returned.
    Rows(Vec<Vec<Cell>>),
}

impl Output {
    /// The count (0 for rows).
    pub(crate) fn count(&self) -> u64 {
        match self {
            Output::Count(n) => *n,
            Output::Rows(rows) => rows.len() as u64,
        }
    }

    /// The rows (none for a count).
    pub(crate) fn rows(self) -> Vec<Vec<Cell>> {
        match self {
            Output::Rows(rows) => rows,
            Output::Count(_) => Vec::new(),
        }
    }
}

/// One statement of a plan, with its arguments by name.
pub(crate) struct Step {
    /// The statement.
    pub(crate) statement: &'static Statement,
    /// Its arguments.
    pub(crate) args: Vec<(&'static str, Arg)>,
    /// What comes back.
    pub(crate) want: Want,
}

impl Step {
    /// A step that counts the rows `statement` changes.
    pub(crate) fn count(statement: &'static Statement, args: Vec<(&'static str, Arg)>) -> Self {
        Self {
            statement,
            args,
            want: Want::Count,
        }
    }

    /// A step whose output the answer does not use.
    pub(crate) fn discard(statement: &'static Statement, args: Vec<(&'static str, Arg)>) -> Self {
        Self {
            statement,
            args,
            want: Want::Discard,
        }
    }

    /// A step that reads the rows `statement` returns as `columns`.
    pub(crate) fn rows(
        statement: &'static Statement,
        args: Vec<(&'static str, Arg)>,
        columns: &'static [Col],
    ) -> Self {
        Self {
            statement,
            args,
            want: Want::Rows(columns),
        }
    }

    /// The arguments in the order of `rendered`'s parameters; `now` is
    /// the store's clock (SQLite's `{now}`).
    pub(crate) fn ordered(&self, rendered: &Rendered, now: i64) -> Result<Vec<Arg>, DbError> {
        rendered
            .params
            .iter()
            .map(|name| {
                if name == NOW {
                    return Ok(Arg::from(now));
                }
                self.args
                    .iter()
                    .find(|(given, _)| given == name)
                    .map(|(_, arg)| arg.clone())
                    .ok_or_else(|| {
                        DbError::Internal(format!(
                            "a job statement's parameter :{name} is not given"
                        ))
                    })
            })
            .collect()
    }
}

/// How a plan's outputs make its answer.
type Finish<T> = Box<dyn Fn(Vec<Output>) -> Result<T, DbError> + Send + Sync>;

/// The statements a transition runs in one transaction, in order, and
/// how their outputs make its answer. A store may run a plan twice (its
/// group commit retries a write alone): the answer is made anew each time.
pub(crate) struct Plan<T> {
    /// The statements (none: the answer needs no store).
    pub(crate) steps: Vec<Step>,
    /// The answer from every step's output, in order.
    pub(crate) finish: Finish<T>,
}

impl<T> Plan<T> {
    /// A plan of `steps` answered by `finish`.
    pub(crate) fn new(
        steps: Vec<Step>,
        finish: impl Fn(Vec<Output>) -> Result<T, DbError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            steps,
            finish: Box::new(finish),
        }
    }

    /// Whether it runs nothing (a guard decided without the store).
    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// The parameter name `{now}` binds on SQLite.
const NOW: &str = "__now";

/// Renders `template` for `dialect`.
fn render(template: &str, dialect: Dialect) -> Rendered {
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
                // lease ran out, and it is not one of the live attempts of
                // the instance asking (which never takes over its own).
                if pg {
                    let now = "CAST(EXTRACT(EPOCH FROM now()) AS bigint)";
                    let lease = self.param("lease", false);
                    let (ids, attempts) = (
                        self.param("held_ids", true),
                        self.param("held_attempts", true),
                    );
                    format!(
                        "locked_at < {now} - {lease} AND (id, attempt) NOT IN \
                         (SELECT * FROM unnest({ids}::text[], {attempts}::bigint[]))"
                    )
                } else {
                    let owner = self.param("owner", false);
                    format!("coalesce(locked_by, '') <> {owner}")
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

    #[test]
    fn arguments_are_ordered_by_name_and_a_missing_one_is_an_error() {
        static S: Statement = Statement::new("SELECT :b, :a, {now}, :b");
        let rendered = S.render(Dialect::Sqlite);
        let step = Step::count(&S, vec![("a", Arg::from(1i64)), ("b", Arg::from("x"))]);
        assert_eq!(
            step.ordered(rendered, 7).unwrap(),
            [Arg::from("x"), Arg::from(1i64), Arg::from(7i64)]
        );
        let short = Step::count(&S, vec![("a", Arg::from(1i64))]);
        assert!(matches!(
            short.ordered(rendered, 7),
            Err(DbError::Internal(_))
        ));
    }
}
