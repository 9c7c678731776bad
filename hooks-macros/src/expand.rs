//! Writing the code `#[hook]` generates: a unit struct named like the
//! function, its `META`, the `Hook` impl with the function nested inside,
//! and the `inventory` registration.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, Path, Type};

use crate::attr::{self, HookAttr};
use crate::signature::{self, Arg, Signature};

/// The entry point: on error, the original item plus the errors, so the
/// rest of the program (and IDEs) still see the function.
pub(crate) fn hook(args: TokenStream, item: TokenStream) -> TokenStream {
    let attr = attr::parse(args);
    let func = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(func)) => func,
        Ok(other) => {
            let error = syn::Error::new(
                item_span(&other),
                "#[hook] can only be applied to a free function (`fn` or `async fn`)",
            );
            let mut errors = error;
            if let Err(e) = attr {
                errors.combine(e);
            }
            let compile_errors = errors.to_compile_error();
            return quote!(#item #compile_errors);
        }
        Err(e) => {
            let compile_errors = e.to_compile_error();
            return quote!(#item #compile_errors);
        }
    };
    let attr = match attr {
        Ok(attr) => attr,
        Err(mut e) => {
            // Report the function's problems too, all at once.
            if let Err(more) = signature::analyse(&func, &HookAttr::default()) {
                e.combine(more);
            }
            let compile_errors = e.to_compile_error();
            return quote!(#item #compile_errors);
        }
    };
    match signature::analyse(&func, &attr) {
        Ok(sig) => generate(&func, &attr, &sig),
        Err(e) => {
            let compile_errors = e.to_compile_error();
            quote!(#item #compile_errors)
        }
    }
}

pub(crate) fn item_span(item: &syn::Item) -> Span {
    match item {
        syn::Item::Struct(s) => s
            .struct_token
            .span
            .join(s.ident.span())
            .unwrap_or(s.ident.span()),
        syn::Item::Enum(e) => e.ident.span(),
        syn::Item::Impl(i) => i.impl_token.span,
        syn::Item::Trait(t) => t.ident.span(),
        syn::Item::Const(c) => c.ident.span(),
        syn::Item::Static(s) => s.ident.span(),
        syn::Item::Mod(m) => m.ident.span(),
        syn::Item::Type(t) => t.ident.span(),
        other => other.span(),
    }
}

/// The path generated code uses to reach the runtime: `crate = "..."`, or
/// whichever of `hooks-core` / `agno-server` the calling crate depends on.
pub(crate) fn runtime_path(krate: Option<&attr::Spanned<Path>>) -> Path {
    if let Some(krate) = krate {
        return krate.value.clone();
    }
    use proc_macro_crate::{FoundCrate, crate_name};
    let found = ["hooks-core", "agno-server"]
        .into_iter()
        .find_map(|name| crate_name(name).ok().map(|found| (name, found)));
    let ident = match found {
        Some((name, FoundCrate::Itself)) => format_ident!("{}", name.replace('-', "_")),
        Some((_, FoundCrate::Name(renamed))) => format_ident!("{}", renamed),
        None => format_ident!("hooks_core"),
    };
    syn::parse_quote!(::#ident)
}

/// A function turned into a unit struct: the docs and cfgs that go on the
/// struct, the cfgs every generated item repeats, and the function itself,
/// private and without its docs, to nest inside the impl.
pub(crate) struct Split<'a> {
    pub(crate) struct_attrs: Vec<&'a syn::Attribute>,
    pub(crate) cfg_attrs: Vec<&'a syn::Attribute>,
    pub(crate) inner: ItemFn,
}

impl Split<'_> {
    /// The unit struct the function becomes, with its docs and cfgs.
    pub(crate) fn unit_struct(&self, vis: &syn::Visibility, ident: &syn::Ident) -> TokenStream {
        let struct_attrs = &self.struct_attrs;
        quote! {
            #(#struct_attrs)*
            #[allow(non_camel_case_types)]
            #[derive(Debug, Clone, Copy, Default)]
            #vis struct #ident;
        }
    }
}

pub(crate) fn split(func: &ItemFn) -> Split<'_> {
    let is = |a: &syn::Attribute, name: &str| a.path().is_ident(name);
    let mut inner = func.clone();
    inner.vis = syn::Visibility::Inherited;
    inner.attrs.retain(|a| !is(a, "doc"));
    Split {
        struct_attrs: func
            .attrs
            .iter()
            .filter(|a| is(a, "doc") || is(a, "cfg"))
            .collect(),
        cfg_attrs: func.attrs.iter().filter(|a| is(a, "cfg")).collect(),
        inner,
    }
}

fn generate(func: &ItemFn, attr: &HookAttr, sig: &Signature) -> TokenStream {
    let krate = runtime_path(attr.krate.as_ref());
    let p = quote!(#krate::__private);
    let ident = &func.sig.ident;
    let vis = &func.vis;
    let name = attr
        .name
        .as_ref()
        .map(|n| n.value.clone())
        .unwrap_or_else(|| ident.to_string());

    let split = split(func);
    let unit_struct = split.unit_struct(vis, ident);
    let Split {
        cfg_attrs, inner, ..
    } = split;

    let is_async = sig.is_async;
    let background = attr.background();
    let blocking = attr.blocking();
    let mutates = sig.mutates();

    let durable = match &attr.durable {
        Some(d) => {
            let value = d.value;
            quote_spanned!(d.span=> ::core::option::Option::Some(#value))
        }
        None => quote!(::core::option::Option::None),
    };
    let max_attempts = match &attr.max_attempts {
        Some(n) => {
            let value = n.value;
            quote_spanned!(n.span=> ::core::option::Option::Some(#value))
        }
        None => quote!(::core::option::Option::None),
    };
    let timeout = match &attr.timeout {
        Some(ms) => {
            let value = ms.value;
            quote_spanned!(ms.span=> ::core::option::Option::Some(::core::time::Duration::from_millis(#value)))
        }
        None => quote!(::core::option::Option::None),
    };
    let takes_job = sig.args.iter().filter_map(|arg| match arg {
        Arg::Extract(ty) => {
            Some(quote_spanned!(ty.span()=> || <#ty as #p::FromHookArgs<'_>>::NEEDS_JOB))
        }
        _ => None,
    });

    let (ret_span, ret_ty) = match &func.sig.output {
        syn::ReturnType::Default => (ident.span(), quote!(())),
        syn::ReturnType::Type(_, ty) => (ty.span(), quote!(#ty)),
    };
    // Whether it decides a tool call (takes `Next`, returns the call's
    // result): read from the types, like `can_block`.
    let decides_args = sig.args.iter().filter_map(|arg| match arg {
        Arg::Extract(ty) => {
            Some(quote_spanned!(ty.span()=> || <#ty as #p::FromHookArgs<'_>>::CHANGES_RUN))
        }
        Arg::Mut(_) => None,
    });
    let decides = quote_spanned! {ret_span=>
        (false #(#decides_args)* || <#ret_ty as #p::IntoHookResult>::DECIDES)
    };
    let phases = sig.args.iter().map(|arg| match arg {
        Arg::Mut(ty) => quote_spanned! {ty.span()=>
            .and(<<#ty as #p::FromHookArgsMut<'_>>::Available as #p::PhaseSet>::PHASES)
        },
        Arg::Extract(ty) => quote_spanned! {ty.span()=>
            .and(<<#ty as #p::FromHookArgs<'_>>::Available as #p::PhaseSet>::PHASES)
        },
    });
    let return_phases = quote_spanned! {ret_span=>
        .and(<<#ret_ty as #p::IntoHookResult>::Available as #p::PhaseSet>::PHASES)
    };
    // The same phases as bounds, so that attaching the hook to a phase one
    // of its arguments does not exist in is an error at that call, naming
    // the argument (each bound is spanned on it).
    let phase_bounds = sig.args.iter().map(|arg| match arg {
        Arg::Mut(ty) => {
            let ty = static_lifetimes(ty);
            quote_spanned! {ty.span()=>
                #ty: #p::MutArgIn<__HookPhase>,
            }
        }
        Arg::Extract(ty) => {
            let ty = static_lifetimes(ty);
            quote_spanned! {ty.span()=>
                #ty: #p::ArgIn<__HookPhase>,
            }
        }
    });
    let return_bound = {
        let ty: Type = syn::parse2(ret_ty.clone()).unwrap_or_else(|_| syn::parse_quote!(()));
        let ty = static_lifetimes(&ty);
        quote_spanned! {ret_span=> #ty: #p::ReturnIn<__HookPhase>,}
    };
    let duplicates = duplicate_checks(&p, sig, &cfg_attrs);

    // Extraction: split off the `&mut` part first, then draw the rest.
    let split = match sig.args.iter().find_map(|a| match a {
        Arg::Mut(ty) => Some(ty),
        Arg::Extract(_) => None,
    }) {
        Some(ty) => quote_spanned! {ty.span()=>
            let (__hook_mut, __hook_args) = <#ty as #p::FromHookArgsMut<'_>>::split(__hook_cx)?;
        },
        None => quote!(let __hook_args = __hook_cx.args();),
    };
    let mut values = Vec::new();
    let mut extracts = Vec::new();
    for (i, arg) in sig.args.iter().enumerate() {
        match arg {
            Arg::Mut(_) => values.push(quote!(__hook_mut)),
            Arg::Extract(ty) => {
                let var = format_ident!("__hook_arg{}", i);
                extracts.push(quote_spanned! {ty.span()=>
                    let #var = <#ty as #p::FromHookArgs<'_>>::from_hook_args(&__hook_args)?;
                });
                values.push(quote!(#var));
            }
        }
    }
    // Whether the hook can block the run: read from its error type by the
    // compiler (`CheckFree` or not), never from how the type is spelled.
    let can_block = quote_spanned! {ret_span=> {
        #[allow(unused_imports)]
        use #p::MayCarryCheck as _;
        <#p::CheckProbe<<#ret_ty as #p::IntoHookResult>::Error>>::CAN_CHECK
    }};
    // A background hook's check error could only be logged: refuse it.
    let background_check = background.then(|| {
        let message = format!(
            "`{name}` has `run_in_background = true`, but its return type can carry a check error: a check in the background can only be logged, never block the run. Keep the hook inline (remove `run_in_background`), or return an error type that cannot carry a check (`()`, `std::io::Error`, `String`, `anyhow::Error`, or a type of yours that implements `CheckFree`)"
        );
        quote_spanned! {ret_span=>
            #(#cfg_attrs)*
            const _: () = ::core::assert!(!<#ident>::META.can_block, #message);
        }
    });
    // A background hook works on a copy: it cannot decide a tool call.
    let background_decides = background.then(|| {
        let message = format!(
            "`{name}` has `run_in_background = true`, but it decides a tool call (it takes `Next` or returns the call's result): a background hook works on a copy. Make it an observer (`call: &ToolCall`, returning `()`), or drop `run_in_background`"
        );
        quote_spanned! {ret_span=>
            #(#cfg_attrs)*
            const _: () = ::core::assert!(!#decides, #message);
        }
    });
    // `durable = true` on an inline hook takes effect only when the global
    // `run_hooks_in_background` moves it, which it never does to a hook
    // that can block the run.
    let durable_check = attr
        .durable
        .as_ref()
        .filter(|d| d.value && !background)
        .map(|d| {
            let message = format!(
                "`{name}` has `durable = true`, but it runs inline: its return type can carry a check error, so `run_hooks_in_background` never moves it to the background. Add `run_in_background = true` with an error type that cannot carry a check, or drop `durable`"
            );
            quote_spanned! {d.span=>
                #(#cfg_attrs)*
                const _: () = ::core::assert!(!<#ident>::META.can_block, #message);
            }
        });
    // The call's value is bound to the declared return type, then
    // converted: a return type that is not allowed is then reported once,
    // on the type (the same error as `can_block`'s, which rustc merges).
    let into_result = |call: TokenStream| {
        quote_spanned! {ret_span=> {
            let __hook_returned: #ret_ty = #call;
            <#ret_ty as #p::IntoHookResult>::into_hook_result_in(__hook_returned, __hook_cx)
        }}
    };

    let body = if is_async {
        let result = into_result(quote!(#ident(#(#values),*).await));
        let async_span = func.sig.asyncness.map(|a| a.span).unwrap_or(ident.span());
        quote_spanned! {async_span=>
            #p::HookCall::pending(async move {
                #split
                #(#extracts)*
                #result
            })
        }
    } else {
        let result = into_result(quote!(#ident(#(#values),*)));
        let invoke = quote! {
            fn __hook_invoke(__hook_cx: &mut #p::HookContext) -> #p::Result<(), #p::HookError> {
                #split
                #(#extracts)*
                #result
            }
        };
        if blocking {
            quote! {
                #invoke
                #p::run_blocking(__hook_cx, __hook_invoke)
            }
        } else {
            quote! {
                #invoke
                #p::HookCall::Ready(__hook_invoke(__hook_cx))
            }
        }
    };

    let line = quote_spanned!(ident.span()=> ::core::line!());
    quote! {
        #unit_struct

        #(#cfg_attrs)*
        impl #ident {
            /// What the runtime knows of this hook, fixed at compile time.
            pub const META: #p::HookMeta = #p::HookMeta {
                name: #name,
                module_path: ::core::module_path!(),
                file: ::core::file!(),
                line: #line,
                is_async: #is_async,
                run_in_background: #background,
                blocking: #blocking,
                phases: #p::Phases::ALL #(#phases)* #return_phases,
                mutates: #mutates || #decides,
                can_block: #can_block,
                durable: #durable,
                takes_job: false #(#takes_job)*,
                max_attempts: #max_attempts,
                timeout: #timeout,
            };
        }

        #(#cfg_attrs)*
        impl #p::Hook for #ident {
            fn meta(&self) -> &'static #p::HookMeta {
                &<#ident>::META
            }

            fn call<'__hook>(
                &'__hook self,
                __hook_cx: &'__hook mut #p::HookContext,
            ) -> #p::HookCall<'__hook> {
                #inner
                #body
            }
        }

        #(#cfg_attrs)*
        impl #p::HookDef for #ident {
            const META: #p::HookMeta = <#ident>::META;
        }

        #(#cfg_attrs)*
        impl<__HookPhase: #p::PhaseKind> #p::RunsIn<__HookPhase> for #ident
        where
            #(#phase_bounds)*
            #return_bound
        {
        }

        #(#cfg_attrs)*
        impl<__HookPhase: #p::PhaseKind> #p::IntoHookList<__HookPhase> for #ident
        where
            #ident: #p::RunsIn<__HookPhase>,
        {
            fn into_hook_list(self) -> ::std::vec::Vec<#p::HookRef> {
                ::std::vec![#p::hook_ref(self)]
            }
        }

        #background_check
        #background_decides
        #durable_check
        #duplicates

        #(#cfg_attrs)*
        #p::inventory::submit! {
            #p::Registration::new(&#ident)
        }
    }
}

/// For each two arguments that read the same part of the run (by the
/// types' `DATA`, so an alias or a full path is seen for what it is), a
/// compile error on the second.
fn duplicate_checks(
    p: &TokenStream,
    sig: &Signature,
    cfg_attrs: &[&syn::Attribute],
) -> TokenStream {
    let data = |arg: &Arg| {
        let (ty, mutable) = match arg {
            Arg::Mut(ty) => (ty, true),
            Arg::Extract(ty) => (ty, false),
        };
        let ty = static_lifetimes(ty);
        if mutable {
            quote!(::core::option::Option::Some(<#ty as #p::FromHookArgsMut<'static>>::DATA))
        } else {
            quote!(<#ty as #p::FromHookArgs<'static>>::DATA)
        }
    };
    let text = |arg: &Arg| {
        let ty = match arg {
            Arg::Mut(ty) | Arg::Extract(ty) => ty,
        };
        let text = quote!(#ty).to_string();
        [
            ("& ", "&"),
            (" <", "<"),
            ("< ", "<"),
            (" >", ">"),
            (" ::", "::"),
            (":: ", "::"),
            (" ,", ","),
        ]
        .iter()
        .fold(text, |t, (from, to)| t.replace(from, to))
    };
    let mut checks = Vec::new();
    for (j, later) in sig.args.iter().enumerate() {
        for earlier in &sig.args[..j] {
            let (a, b) = (data(earlier), data(later));
            let message = format!(
                "duplicate hook argument: `{}` reads the same part of the run as `{}`, an earlier argument; take it once",
                text(later),
                text(earlier)
            );
            let span = match later {
                Arg::Mut(ty) | Arg::Extract(ty) => ty.span(),
            };
            checks.push(quote_spanned! {span=>
                #(#cfg_attrs)*
                const _: () = ::core::assert!(!#p::same_data(#a, #b), #message);
            });
        }
    }
    quote!(#(#checks)*)
}

#[cfg(test)]
#[path = "expand_tests.rs"]
mod tests;

/// `ty` with its elided and `'_` lifetimes made `'static`, for a bound
/// outside the function (a hook has no lifetime parameters of its own).
fn static_lifetimes(ty: &Type) -> Type {
    struct Static;
    impl syn::visit_mut::VisitMut for Static {
        fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
            if reference.lifetime.is_none() {
                reference.lifetime = Some(syn::Lifetime::new("'static", reference.and_token.span));
            }
            syn::visit_mut::visit_type_reference_mut(self, reference);
        }
        fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
            if lifetime.ident == "_" {
                *lifetime = syn::Lifetime::new("'static", lifetime.apostrophe);
            }
        }
    }
    let mut ty = ty.clone();
    syn::visit_mut::VisitMut::visit_type_mut(&mut Static, &mut ty);
    ty
}
