#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, Default)]
struct redact;
impl redact {
    /// What the runtime knows of this hook, fixed at compile time.
    pub const META: ::hooks_core::__private::HookMeta = ::hooks_core::__private::HookMeta {
        name: "redact",
        module_path: ::core::module_path!(),
        file: ::core::file!(),
        line: ::core::line!(),
        is_async: false,
        run_in_background: false,
        blocking: false,
        phases: ::hooks_core::__private::Phases::ALL
            .and(
                <<&mut RunInput as ::hooks_core::__private::FromHookArgsMut<
                    '_,
                >>::Available as ::hooks_core::__private::PhaseSet>::PHASES,
            )
            .and(
                <<&Session as ::hooks_core::__private::FromHookArgs<
                    '_,
                >>::Available as ::hooks_core::__private::PhaseSet>::PHASES,
            )
            .and(
                <<Result<
                    (),
                    CheckError,
                > as ::hooks_core::__private::IntoHookResult>::Available as ::hooks_core::__private::PhaseSet>::PHASES,
            ),
        mutates: true
            || (false
                || <&Session as ::hooks_core::__private::FromHookArgs<'_>>::CHANGES_RUN
                || <Result<
                    (),
                    CheckError,
                > as ::hooks_core::__private::IntoHookResult>::DECIDES),
        can_block: {
            #[allow(unused_imports)]
            use ::hooks_core::__private::MayCarryCheck as _;
            <::hooks_core::__private::CheckProbe<
                <Result<
                    (),
                    CheckError,
                > as ::hooks_core::__private::IntoHookResult>::Error,
            >>::CAN_CHECK
        },
        durable: ::core::option::Option::None,
        takes_job: false
            || <&Session as ::hooks_core::__private::FromHookArgs<'_>>::NEEDS_JOB,
        max_attempts: ::core::option::Option::None,
        timeout: ::core::option::Option::None,
    };
}
impl ::hooks_core::__private::Hook for redact {
    fn meta(&self) -> &'static ::hooks_core::__private::HookMeta {
        &<redact>::META
    }
    fn call<'__hook>(
        &'__hook self,
        __hook_cx: &'__hook mut ::hooks_core::__private::HookContext,
    ) -> ::hooks_core::__private::HookCall<'__hook> {
        fn redact(
            run_input: &mut RunInput,
            session: &Session,
        ) -> Result<(), CheckError> {
            let _ = session;
            run_input.input_content.clear();
            Ok(())
        }
        fn __hook_invoke(
            __hook_cx: &mut ::hooks_core::__private::HookContext,
        ) -> ::hooks_core::__private::Result<(), ::hooks_core::__private::HookError> {
            let (__hook_mut, __hook_args) = <&mut RunInput as ::hooks_core::__private::FromHookArgsMut<
                '_,
            >>::split(__hook_cx)?;
            let __hook_arg1 = <&Session as ::hooks_core::__private::FromHookArgs<
                '_,
            >>::from_hook_args(&__hook_args)?;
            {
                let __hook_returned: Result<(), CheckError> = redact(
                    __hook_mut,
                    __hook_arg1,
                );
                <Result<
                    (),
                    CheckError,
                > as ::hooks_core::__private::IntoHookResult>::into_hook_result_in(
                    __hook_returned,
                    __hook_cx,
                )
            }
        }
        ::hooks_core::__private::HookCall::Ready(__hook_invoke(__hook_cx))
    }
}
impl ::hooks_core::__private::HookDef for redact {
    const META: ::hooks_core::__private::HookMeta = <redact>::META;
}
impl<
    __HookPhase: ::hooks_core::__private::PhaseKind,
> ::hooks_core::__private::RunsIn<__HookPhase> for redact
where
    &'static mut RunInput: ::hooks_core::__private::MutArgIn<__HookPhase>,
    &'static Session: ::hooks_core::__private::ArgIn<__HookPhase>,
    Result<(), CheckError>: ::hooks_core::__private::ReturnIn<__HookPhase>,
{}
impl<
    __HookPhase: ::hooks_core::__private::PhaseKind,
> ::hooks_core::__private::IntoHookList<__HookPhase> for redact
where
    redact: ::hooks_core::__private::RunsIn<__HookPhase>,
{
    fn into_hook_list(self) -> ::std::vec::Vec<::hooks_core::__private::HookRef> {
        ::std::vec![::hooks_core::__private::hook_ref(self)]
    }
}
const _: () = ::core::assert!(
    ! ::hooks_core::__private::same_data(::core::option::Option::Some(< & 'static mut
    RunInput as ::hooks_core::__private::FromHookArgsMut < 'static >> ::DATA), < &
    'static Session as ::hooks_core::__private::FromHookArgs < 'static >> ::DATA),
    "duplicate hook argument: `&Session` reads the same part of the run as `&mut RunInput`, an earlier argument; take it once"
);
::hooks_core::__private::inventory::submit! {
    ::hooks_core::__private::Registration::new(& redact)
}
