//! `#[tool]`: its options, the function's signature (parameters the model
//! sends, owned; the run's data, by reference), and the code it writes: a
//! unit struct named like the function implementing the runtime's `Tool`,
//! registered at link time.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned as _;
use syn::{FnArg, ItemFn, Pat, Path, Type};

use crate::attr::{
    Spanned, meta_key, parse_bool, parse_crate, parse_text, set_once, unknown_argument,
};
use crate::expand::{Split, item_span, runtime_path, split};

const VALID: &str = "`name`, `description`, `strict`, `stop_after_tool_call`, `show_result`, `blocking`, `hooks`, `post_hooks` and `crate`";

/// What `#[tool(...)]` said.
#[derive(Default)]
struct ToolAttr {
    name: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    strict: Option<Spanned<bool>>,
    stop_after_tool_call: Option<Spanned<bool>>,
    show_result: Option<Spanned<bool>>,
    /// `blocking`: a sync tool run on the blocking pool.
    blocking: Option<Spanned<bool>>,
    /// `hooks = (a, b)`: the tool's own tool hooks.
    hooks: Option<syn::Expr>,
    /// `post_hooks = (a, b)`: the tool's own post-tool hooks.
    post_hooks: Option<syn::Expr>,
    krate: Option<Spanned<Path>>,
}

fn parse_attr(args: TokenStream) -> syn::Result<ToolAttr> {
    let mut attr = ToolAttr::default();
    let mut errors: Option<syn::Error> = None;
    let parser = syn::meta::parser(|meta| {
        let key = meta_key(&meta);
        let result = match key.as_str() {
            "name" => parse_text(&meta, "name").and_then(|v| set_once(&mut attr.name, v, "name")),
            "description" => parse_text(&meta, "description")
                .and_then(|v| set_once(&mut attr.description, v, "description")),
            "strict" => {
                parse_bool(&meta, "strict").and_then(|v| set_once(&mut attr.strict, v, "strict"))
            }
            "stop_after_tool_call" => parse_bool(&meta, "stop_after_tool_call")
                .and_then(|v| set_once(&mut attr.stop_after_tool_call, v, "stop_after_tool_call")),
            "show_result" => parse_bool(&meta, "show_result")
                .and_then(|v| set_once(&mut attr.show_result, v, "show_result")),
            "crate" => parse_crate(&meta).and_then(|v| set_once(&mut attr.krate, v, "crate")),
            "blocking" => parse_bool(&meta, "blocking")
                .and_then(|v| set_once(&mut attr.blocking, v, "blocking")),
            "hooks" => hook_list(&meta, &mut attr.hooks, "hooks"),
            "post_hooks" => hook_list(&meta, &mut attr.post_hooks, "post_hooks"),
            _ => {
                let hint = match key.as_str() {
                    "requires_confirmation" | "requires_user_input" | "external_execution" => {
                        " (human-in-the-loop tools are not supported yet)"
                    }
                    "stop_after" | "stop" => " (did you mean `stop_after_tool_call`?)",
                    "show" => " (did you mean `show_result`?)",
                    _ => "",
                };
                Err(unknown_argument(&meta, "tool", hint, VALID))
            }
        };
        if let Err(e) = result {
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
        Ok(())
    });
    parser.parse2(args)?;
    match errors {
        Some(e) => Err(e),
        None => Ok(attr),
    }
}

/// `blocking`: only for a sync tool whose arguments are all its own (it
/// runs on another thread, where the run's data cannot be borrowed).
fn check_blocking(func: &ItemFn, attr: &ToolAttr, args: &[ToolArg]) -> syn::Result<()> {
    let Some(blocking) = attr.blocking.as_ref().filter(|b| b.value) else {
        return Ok(());
    };
    if let Some(asyncness) = &func.sig.asyncness {
        return Err(syn::Error::new(
            asyncness.span,
            "`blocking` is for a sync tool (it runs on the blocking pool); an `async fn` tool already yields: drop `blocking`, or make the function sync",
        ));
    }
    for arg in args {
        if let ToolArg::Inject(ty) = arg {
            let mut error = syn::Error::new(
                ty.span(),
                "a `blocking` tool runs on another thread and cannot borrow the run's data: take only the model's parameters (owned), or drop `blocking`",
            );
            error.combine(syn::Error::new(blocking.span, "`blocking` given here"));
            return Err(error);
        }
    }
    Ok(())
}

/// `hooks = <expr>`: a list of hooks, as `tool_hooks` takes them.
fn hook_list(
    meta: &syn::meta::ParseNestedMeta<'_>,
    slot: &mut Option<syn::Expr>,
    key: &str,
) -> syn::Result<()> {
    let expr: syn::Expr = meta.value()?.parse()?;
    if slot.is_some() {
        return Err(syn::Error::new(
            expr.span(),
            format!("`{key}` is given twice"),
        ));
    }
    *slot = Some(expr);
    Ok(())
}

/// One argument of the function.
enum ToolArg {
    /// A parameter the model sends: `name: Type`, owned.
    Param(syn::Ident, Type),
    /// The run's data, injected by type: `&Type`.
    Inject(Type),
}

fn analyse(func: &ItemFn) -> syn::Result<Vec<ToolArg>> {
    let mut errors: Vec<syn::Error> = Vec::new();
    let sig = &func.sig;
    if let Some(param) = sig.generics.params.first() {
        errors.push(syn::Error::new(
            param.span(),
            "a tool cannot be generic: its parameters' JSON Schema is fixed when it is defined; use concrete types",
        ));
    }
    if let Some(clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new(
            clause.span(),
            "a tool cannot have a `where` clause: use concrete types",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new(
            variadic.span(),
            "a tool cannot be variadic",
        ));
    }
    let mut args = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => errors.push(syn::Error::new(
                r.span(),
                "#[tool] goes on a free function, not a method: a tool has no `self`",
            )),
            FnArg::Typed(typed) => match (&*typed.pat, &*typed.ty) {
                (_, Type::Reference(r)) if r.mutability.is_some() => errors.push(syn::Error::new(
                    r.mutability.span(),
                    "a tool cannot take `&mut`: it reads the run's data, it does not change it (take `&` instead)",
                )),
                (_, Type::ImplTrait(t)) => errors.push(syn::Error::new(
                    t.span(),
                    "a tool's parameter cannot be `impl Trait`: its JSON Schema needs a concrete type",
                )),
                (_, Type::Reference(_)) => args.push(ToolArg::Inject((*typed.ty).clone())),
                (Pat::Ident(ident), ty) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                    args.push(ToolArg::Param(ident.ident.clone(), ty.clone()))
                }
                (pat, _) => errors.push(syn::Error::new(
                    pat.span(),
                    "a tool's parameter needs a plain name: the model sends it by that name",
                )),
            },
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(args),
        Some(mut first) => {
            errors.for_each(|e| first.combine(e));
            Err(first)
        }
    }
}

/// The doc comment: the tool's description (before `# Arguments`, or
/// Agno's `Args:`), and each parameter's (`` * `name` - text `` lines
/// under it).
fn docs(func: &ItemFn) -> (Option<String>, Vec<(String, String)>) {
    let mut lines = Vec::new();
    for attr in &func.attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            for line in s.value().lines() {
                lines.push(line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned());
            }
        }
    }
    let heading = |l: &str| {
        let l = l.trim().trim_start_matches('#').trim();
        matches!(l, "Arguments" | "Parameters" | "Args:" | "Arguments:")
    };
    let split = lines.iter().position(|l| heading(l)).unwrap_or(lines.len());
    let description = lines[..split].join("\n").trim().to_owned();
    let mut params = Vec::new();
    for line in &lines[split.min(lines.len())..] {
        let line = line.trim().trim_start_matches(['*', '-']).trim();
        let line = line.replace('`', "");
        let Some((name, text)) = line
            .split_once(" - ")
            .or_else(|| line.split_once(':'))
            .map(|(n, t)| (n.trim().to_owned(), t.trim().to_owned()))
        else {
            continue;
        };
        // `name (type)` as Agno's docstrings write it.
        let name = name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        if !name.is_empty() && !text.is_empty() {
            params.push((name, text));
        }
    }
    ((!description.is_empty()).then_some(description), params)
}

/// The entry point: on error, the original item plus the errors.
pub(crate) fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    let attr = parse_attr(args);
    let func = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(func)) => func,
        Ok(other) => {
            let error = syn::Error::new(
                item_span(&other),
                "#[tool] can only be applied to a free function (`fn` or `async fn`)",
            );
            let errors = error.to_compile_error();
            return quote!(#item #errors);
        }
        Err(e) => {
            let errors = e.to_compile_error();
            return quote!(#item #errors);
        }
    };
    let analysed = analyse(&func);
    let analysed = match (&attr, analysed) {
        (Ok(attr), Ok(args)) => check_blocking(&func, attr, &args).map(|()| args),
        (_, analysed) => analysed,
    };
    match (attr, analysed) {
        (Ok(attr), Ok(args)) => generate(&func, &attr, &args),
        (Err(mut a), Err(b)) => {
            a.combine(b);
            let errors = a.to_compile_error();
            quote!(#item #errors)
        }
        (Err(e), _) | (_, Err(e)) => {
            let errors = e.to_compile_error();
            quote!(#item #errors)
        }
    }
}

fn generate(func: &ItemFn, attr: &ToolAttr, args: &[ToolArg]) -> TokenStream {
    let krate = runtime_path(attr.krate.as_ref());
    let p = quote!(#krate::__private);
    let ident = &func.sig.ident;
    let vis = &func.vis;
    let name = attr
        .name
        .as_ref()
        .map(|n| n.value.clone())
        .unwrap_or_else(|| ident.to_string());
    let (doc_description, param_docs) = docs(func);
    let description = match attr
        .description
        .as_ref()
        .map(|d| d.value.clone())
        .or(doc_description)
    {
        Some(d) => quote!(::core::option::Option::Some(#d)),
        None => quote!(::core::option::Option::None),
    };
    let flag = |f: &Option<Spanned<bool>>| f.as_ref().is_some_and(|s| s.value);
    let strict = flag(&attr.strict);
    let stop = flag(&attr.stop_after_tool_call);
    // As Agno: stopping after the tool shows its result unless told not to.
    let show = match &attr.show_result {
        Some(s) => s.value,
        None => stop,
    };
    let is_async = func.sig.asyncness.is_some();
    // The tool's own hooks, checked for their phase where they are given.
    let list = |expr: &Option<syn::Expr>, method: &str, phase: &str| {
        expr.as_ref().map(|e| {
            let method = format_ident!("{}", method);
            let phase = format_ident!("{}", phase);
            quote_spanned! {e.span()=>
                fn #method(&self) -> ::std::vec::Vec<#p::HookRef> {
                    <_ as #p::IntoHookList<#p::#phase>>::into_hook_list(#e)
                }
            }
        })
    };
    let hooks = list(&attr.hooks, "hooks", "ToolHooks");
    let post_hooks = list(&attr.post_hooks, "post_hooks", "PostToolHooks");

    let split = split(func);
    let unit_struct = split.unit_struct(vis, ident);
    let Split {
        cfg_attrs, inner, ..
    } = split;

    let specs = args.iter().filter_map(|arg| match arg {
        ToolArg::Param(name, ty) => {
            let text = name.to_string();
            let text = text.strip_prefix("r#").unwrap_or(&text).to_owned();
            let description = match param_docs.iter().find(|(n, _)| *n == text) {
                Some((_, d)) => quote!(::core::option::Option::Some(#d)),
                None => quote!(::core::option::Option::None),
            };
            Some(quote_spanned! {ty.span()=>
                #p::ParamSpec {
                    name: #text,
                    description: #description,
                    schema: <#ty as #p::ToolParam>::schema,
                    required: <#ty as #p::ToolParam>::required,
                }
            })
        }
        ToolArg::Inject(_) => None,
    });
    let mut takes = Vec::new();
    let mut values = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let var = format_ident!("__tool_arg{}", i);
        match arg {
            ToolArg::Param(name, ty) => {
                let text = name.to_string();
                let text = text.strip_prefix("r#").unwrap_or(&text).to_owned();
                takes.push(quote_spanned! {ty.span()=>
                    let #var: #ty = __tool_args.take(#text, <#ty as #p::ToolParam>::from_argument)?;
                });
            }
            ToolArg::Inject(ty) => takes.push(quote_spanned! {ty.span()=>
                let #var: #ty = __tool_args.inject::<#ty>(&__tool_run)?;
            }),
        }
        values.push(var);
    }
    let (ret_span, ret_ty) = match &func.sig.output {
        syn::ReturnType::Default => (ident.span(), quote!(())),
        syn::ReturnType::Type(_, ty) => (ty.span(), quote!(#ty)),
    };
    let blocking = flag(&attr.blocking);
    let call = if is_async {
        quote!(#ident(#(#values),*).await)
    } else if blocking {
        quote!(#p::run_blocking_tool(#name, move || #ident(#(#values),*)).await?)
    } else {
        quote!(#ident(#(#values),*))
    };
    let output = quote_spanned! {ret_span=>
        let __tool_returned: #ret_ty = #call;
        <#ret_ty as #p::IntoToolOutput>::into_tool_output(__tool_returned)
    };
    let line = quote_spanned!(ident.span()=> ::core::line!());

    quote! {
        #unit_struct

        #(#cfg_attrs)*
        impl #ident {
            /// What the runtime knows of this tool, fixed at compile time.
            pub const META: #p::ToolMeta = #p::ToolMeta {
                name: #name,
                description: #description,
                strict: #strict,
                stop_after_tool_call: #stop,
                show_result: #show,
                is_async: #is_async,
                module_path: ::core::module_path!(),
                file: ::core::file!(),
                line: #line,
            };
        }

        #(#cfg_attrs)*
        impl #p::Tool for #ident {
            fn meta(&self) -> &'static #p::ToolMeta {
                &<#ident>::META
            }

            fn parameters(&self) -> #p::Value {
                #p::parameters_schema(&[#(#specs),*], #strict)
            }

            #hooks
            #post_hooks

            fn call<'__tool>(
                &'__tool self,
                __tool_arguments: #p::Map<::std::string::String, #p::Value>,
                __tool_run: #p::HookArgs<'__tool>,
            ) -> #p::ToolFuture<'__tool> {
                #inner
                #p::Box::pin(async move {
                    let mut __tool_args = #p::ToolArguments::new(#name, __tool_arguments);
                    #(#takes)*
                    __tool_args.finish()?;
                    #output
                })
            }
        }

        #(#cfg_attrs)*
        #p::inventory::submit! {
            #p::ToolRegistration::new(&#ident)
        }
    }
}
