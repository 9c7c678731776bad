//! Checking the function `#[hook]` is applied to, and classifying its
//! arguments. (What its return type allows is read from the type by the
//! compiler: see `hooks_core::IntoHookResult` and `CheckFree`.)

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, ItemFn, Pat, Type};

use crate::attr::HookAttr;

/// One argument of the hook function. Which types are allowed, and in
/// which phases, is the compiler's to decide from the traits each kind is
/// taken through; the macro only tells the two kinds apart by their form.
pub(crate) enum Arg {
    /// `&mut T`, taken through `FromHookArgsMut` (`&mut RunInput`,
    /// `&mut RunOutput`): the hook changes the run.
    Mut(Box<Type>),
    /// Anything else, extracted through `FromHookArgs`.
    Extract(Box<Type>),
}

/// What the expansion needs to know about the function.
pub(crate) struct Signature {
    pub args: Vec<Arg>,
    pub is_async: bool,
}

impl Signature {
    /// Whether it takes the run by mutable reference.
    pub fn mutates(&self) -> bool {
        self.args.iter().any(|a| matches!(a, Arg::Mut(_)))
    }
}

/// Whether `ty` has an `impl Trait` anywhere in its syntax tree.
fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.add(syn::Error::new(span, msg));
    }

    /// An error covering all of `tokens` (first to last token), so the
    /// compiler underlines the whole type or pattern, not its first token.
    fn push_spanned(&mut self, tokens: &dyn ToTokens, msg: impl std::fmt::Display) {
        self.add(syn::Error::new_spanned(tokens, msg));
    }

    fn add(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
}

/// Checks `func` and classifies its arguments; every problem found is
/// reported, each on its own token.
pub(crate) fn analyse(func: &ItemFn, attr: &HookAttr) -> Result<Signature, syn::Error> {
    let sig = &func.sig;
    let mut errors = Errors(None);
    if let Some(c) = &sig.constness {
        errors.push(c.span, "a hook cannot be a `const fn`: remove `const`");
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        errors.push(
            u.span,
            "a hook cannot be an `unsafe fn`: the runtime calls it like any safe function",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.push(
            abi.span(),
            "a hook cannot be an `extern` function: remove the ABI",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(
            sig.generics.span(),
            "a hook cannot be generic: the runtime must know the type of every argument; use concrete types (elided lifetimes such as `&RunInput` are fine)",
        );
    }
    if let Some(v) = &sig.variadic {
        errors.push_spanned(v, "a hook cannot be variadic");
    }
    // The job settings are for durable jobs: refused on a hook that says
    // it is not one.
    if let Some(durable) = &attr.durable
        && !durable.value
    {
        for (given, key) in [
            (attr.max_attempts.as_ref().map(|s| s.span), "max_attempts"),
            (attr.timeout.as_ref().map(|s| s.span), "timeout"),
        ] {
            if let Some(span) = given {
                errors.push(
                    span,
                    format!("`{key}` is for durable jobs, and this hook says `durable = false`: drop one of the two"),
                );
            }
        }
    }
    let is_async = sig.asyncness.is_some();
    if let (true, Some(b)) = (is_async, &attr.blocking)
        && b.value
    {
        errors.push(
            b.span,
            "`blocking` is for sync functions; an `async fn` hook already runs on the async runtime",
        );
    }

    let mut args = Vec::new();
    for input in &sig.inputs {
        let pat_type = match input {
            FnArg::Receiver(r) => {
                errors.push_spanned(
                    r,
                    "#[hook] applies to free functions, not methods: a hook cannot take `self`",
                );
                continue;
            }
            FnArg::Typed(t) => t,
        };
        match &*pat_type.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {}
            Pat::Wild(_) => {}
            other => {
                errors.push_spanned(
                    other,
                    "hook arguments must be plain names, as in `run_input: &RunInput`; destructure inside the body",
                );
                continue;
            }
        }
        let ty = &*pat_type.ty;
        if contains_impl_trait(ty) {
            errors.push_spanned(
                ty,
                "a hook cannot take `impl Trait` arguments: it would be generic; use a concrete type",
            );
            continue;
        }
        let arg = match ty {
            Type::Reference(r) if r.mutability.is_some() => Arg::Mut(Box::new(ty.clone())),
            _ => Arg::Extract(Box::new(ty.clone())),
        };
        if let Arg::Mut(_) = arg {
            let shared = match ty {
                Type::Reference(r) => r.elem.to_token_stream().to_string().replace(' ', ""),
                _ => String::new(),
            };
            if args.iter().any(|a| matches!(a, Arg::Mut(_))) {
                errors.push_spanned(
                    ty,
                    "a hook takes at most one argument by mutable reference: it changes either the input (`&mut RunInput`, a pre-hook) or the output (`&mut RunOutput`, a post-hook)",
                );
                continue;
            }
            if let Some(bg) = &attr.run_in_background
                && bg.value
            {
                errors.push_spanned(
                    ty,
                    format!(
                        "a background hook works on a copy and cannot change the run; take `&{shared}` instead of `&mut {shared}`, or drop `run_in_background = true`"
                    ),
                );
            }
            if let Some(durable) = &attr.durable
                && durable.value
                && !attr.background()
            {
                errors.push(
                    durable.span,
                    format!(
                        "`durable = true` is for background hooks, and a hook that takes `&mut {shared}` changes the run, so it always runs inline; drop `durable`"
                    ),
                );
            }
        }
        args.push(arg);
    }

    match errors.0 {
        Some(e) => Err(e),
        None => Ok(Signature { args, is_async }),
    }
}
