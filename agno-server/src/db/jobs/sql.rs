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
//! The forms a template may use are listed in `render.rs`.

use std::sync::OnceLock;

pub(crate) use super::render::{Dialect, Rendered};
use super::render::{NOW, render};

use super::super::DbError;

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
    /// Nothing, and only where several writers meet (Postgres): rows
    /// locked in a set order before they are written.
    Lock,
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

    /// A step that locks rows in order, on a store several writers share.
    pub(crate) fn lock(statement: &'static Statement, args: Vec<(&'static str, Arg)>) -> Self {
        Self {
            statement,
            args,
            want: Want::Lock,
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

    /// The arguments in the order of `rendered`'s parameters, borrowed
    /// (a plan may run twice, and nothing is copied to bind it); `now` is
    /// the store's clock (SQLite's `{now}`).
    pub(crate) fn ordered<'s>(
        &'s self,
        rendered: &Rendered,
        now: &'s Arg,
    ) -> Result<Vec<&'s Arg>, DbError> {
        rendered
            .params
            .iter()
            .map(|name| {
                if name == NOW {
                    return Ok(now);
                }
                self.args
                    .iter()
                    .find(|(given, _)| given == name)
                    .map(|(_, arg)| arg)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_ordered_by_name_and_a_missing_one_is_an_error() {
        static S: Statement = Statement::new("SELECT :b, :a, {now}, :b");
        let rendered = S.render(Dialect::Sqlite);
        let step = Step::count(&S, vec![("a", Arg::from(1i64)), ("b", Arg::from("x"))]);
        let now = Arg::from(7i64);
        assert_eq!(
            step.ordered(rendered, &now).unwrap(),
            [&Arg::from("x"), &Arg::from(1i64), &Arg::from(7i64)]
        );
        let short = Step::count(&S, vec![("a", Arg::from(1i64))]);
        assert!(matches!(
            short.ordered(rendered, &now),
            Err(DbError::Internal(_))
        ));
    }
}
