//! Parsing the arguments of `#[hook(...)]`, remembering each value's span
//! so that duplicates and bad values are reported on the right token.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned as _;
use syn::{LitBool, LitStr, Path};

/// The arguments `#[hook(...)]` accepts.
const VALID: &str =
    "`run_in_background`, `durable`, `max_attempts`, `timeout`, `blocking`, `name` and `crate`";

/// One argument's value and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// What `#[hook(...)]` said.
#[derive(Debug, Default)]
pub(crate) struct HookAttr {
    pub run_in_background: Option<Spanned<bool>>,
    pub blocking: Option<Spanned<bool>>,
    pub durable: Option<Spanned<bool>>,
    pub max_attempts: Option<Spanned<u32>>,
    /// In milliseconds.
    pub timeout: Option<Spanned<u64>>,
    pub name: Option<Spanned<String>>,
    pub krate: Option<Spanned<Path>>,
}

impl HookAttr {
    /// Whether `run_in_background = true` was given.
    pub fn background(&self) -> bool {
        self.run_in_background.as_ref().is_some_and(|s| s.value)
    }

    /// Whether `blocking = true` was given.
    pub fn blocking(&self) -> bool {
        self.blocking.as_ref().is_some_and(|s| s.value)
    }
}

pub(crate) fn set_once<T>(
    slot: &mut Option<Spanned<T>>,
    value: Spanned<T>,
    key: &str,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            value.span,
            format!("duplicate `{key}` argument: give it once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// A bool argument: `key = true`, `key = false`, or a bare `key` (true).
pub(crate) fn parse_bool(
    meta: &syn::meta::ParseNestedMeta<'_>,
    key: &str,
) -> syn::Result<Spanned<bool>> {
    let span = meta.path.span();
    if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
        return Ok(Spanned { value: true, span });
    }
    let value = meta.value()?;
    let expr: syn::Expr = value.parse()?;
    match &expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(LitBool { value, .. }),
            ..
        }) => Ok(Spanned {
            value: *value,
            span: expr.span(),
        }),
        _ => Err(syn::Error::new(
            expr.span(),
            format!("`{key}` takes `true` or `false`"),
        )),
    }
}

pub(crate) fn parse_str(meta: &syn::meta::ParseNestedMeta<'_>, key: &str) -> syn::Result<LitStr> {
    let value = meta.value()?;
    let expr: syn::Expr = value.parse()?;
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Ok(s),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{key}` takes a string literal, as in `{key} = \"...\"`"),
        )),
    }
}

/// The argument's name; `crate` is a keyword, so it is not an ident.
pub(crate) fn meta_key(meta: &syn::meta::ParseNestedMeta<'_>) -> String {
    match meta.path.get_ident() {
        Some(ident) => ident.to_string(),
        None if meta.path.is_ident("crate") => "crate".to_owned(),
        None => String::new(),
    }
}

/// A non-empty string argument: `key = "..."`.
pub(crate) fn parse_text(
    meta: &syn::meta::ParseNestedMeta<'_>,
    key: &str,
) -> syn::Result<Spanned<String>> {
    let s = parse_str(meta, key)?;
    let value = s.value();
    if value.trim().is_empty() {
        return Err(syn::Error::new(
            s.span(),
            format!("`{key}` cannot be empty"),
        ));
    }
    Ok(Spanned {
        value,
        span: s.span(),
    })
}

/// `crate = "path::to::runtime"`.
pub(crate) fn parse_crate(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Spanned<Path>> {
    let s = parse_str(meta, "crate")?;
    let path: Path = s.parse().map_err(|_| {
        syn::Error::new(
            s.span(),
            "`crate` takes a path to the runtime, as in `crate = \"my_app::hooks\"`",
        )
    })?;
    Ok(Spanned {
        value: path,
        span: s.span(),
    })
}

/// The error for an argument `#[attribute]` does not know; its value is
/// skipped so the next argument is still parsed.
pub(crate) fn unknown_argument(
    meta: &syn::meta::ParseNestedMeta<'_>,
    attribute: &str,
    hint: &str,
    valid: &str,
) -> syn::Error {
    let shown = quote::ToTokens::to_token_stream(&meta.path).to_string();
    if meta.input.peek(syn::Token![=]) {
        let _ = meta.value().and_then(|v| v.parse::<syn::Expr>());
    }
    syn::Error::new(
        meta.path.span(),
        format!(
            "unknown `#[{attribute}]` argument `{}`{hint}; the valid arguments are {valid}",
            shown.replace(' ', "")
        ),
    )
}

/// `max_attempts = n`, a whole number from 1.
fn parse_attempts(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Spanned<u32>> {
    let value = meta.value()?;
    let expr: syn::Expr = value.parse()?;
    let bad = |span| {
        syn::Error::new(
            span,
            "`max_attempts` takes a whole number from 1, as in `max_attempts = 10`",
        )
    };
    match &expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(n),
            ..
        }) => match n.base10_parse::<u32>() {
            Ok(n) if n >= 1 => Ok(Spanned {
                value: n,
                span: expr.span(),
            }),
            _ => Err(bad(expr.span())),
        },
        _ => Err(bad(expr.span())),
    }
}

/// `timeout = "30s"`: a whole number and a unit (`ms`, `s`, `m` or `h`),
/// more than zero; in milliseconds.
fn parse_timeout(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Spanned<u64>> {
    let s = parse_str(meta, "timeout")?;
    let text = s.value();
    let bad = || {
        syn::Error::new(
            s.span(),
            format!(
                "`timeout` takes a duration such as \"500ms\", \"30s\", \"5m\" or \"1h\", not {text:?}"
            ),
        )
    };
    let digits = text
        .trim()
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(bad)?;
    let (number, unit) = text.trim().split_at(digits);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad()),
    };
    match number.checked_mul(scale) {
        Some(ms) if ms > 0 => Ok(Spanned {
            value: ms,
            span: s.span(),
        }),
        _ => Err(bad()),
    }
}

fn suggestion(key: &str) -> &'static str {
    match key {
        "background" | "in_background" | "run_background" | "bg" | "run_in_bg" => {
            " (did you mean `run_in_background`?)"
        }
        "block" | "spawn_blocking" => " (did you mean `blocking`?)",
        "persistent" | "persist" | "durable_job" => " (did you mean `durable`?)",
        "retries" | "retry" | "attempts" | "max_retries" => " (did you mean `max_attempts`?)",
        "deadline" | "timeout_secs" | "time_limit" => " (did you mean `timeout`?)",
        "rename" | "id" => " (did you mean `name`?)",
        "krate" | "path" | "runtime" => " (did you mean `crate`?)",
        _ => "",
    }
}

/// Parses the attribute's arguments, collecting every error.
pub(crate) fn parse(args: TokenStream) -> Result<HookAttr, syn::Error> {
    let mut attr = HookAttr::default();
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let parser = syn::meta::parser(|meta| {
        let key = meta_key(&meta);
        let result = match key.as_str() {
            "run_in_background" => parse_bool(&meta, "run_in_background")
                .and_then(|v| set_once(&mut attr.run_in_background, v, "run_in_background")),
            "blocking" => parse_bool(&meta, "blocking")
                .and_then(|v| set_once(&mut attr.blocking, v, "blocking")),
            "durable" => {
                parse_bool(&meta, "durable").and_then(|v| set_once(&mut attr.durable, v, "durable"))
            }
            "max_attempts" => parse_attempts(&meta)
                .and_then(|v| set_once(&mut attr.max_attempts, v, "max_attempts")),
            "timeout" => {
                parse_timeout(&meta).and_then(|v| set_once(&mut attr.timeout, v, "timeout"))
            }
            "name" => parse_text(&meta, "name").and_then(|v| set_once(&mut attr.name, v, "name")),
            "crate" => parse_crate(&meta).and_then(|v| set_once(&mut attr.krate, v, "crate")),
            _ => Err(unknown_argument(&meta, "hook", suggestion(&key), VALID)),
        };
        if let Err(e) = result {
            push(e);
        }
        Ok(())
    });
    parser.parse2(args)?;
    match errors {
        Some(e) => Err(e),
        None => Ok(attr),
    }
}
