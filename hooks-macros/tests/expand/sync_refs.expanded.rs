/// Logs the request.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, Default)]
pub struct log_request;
impl log_request {
    /// What the runtime knows of this hook, fixed at compile time.
    pub const META: ::hooks_core::__private::HookMeta = ::hooks_core::__private::HookMeta {
        name: "log_request",
        module_path: ::core::module_path!(),
        file: ::core::file!(),
        line: ::core::line!(),
        is_async: false,
        run_in_background: false,
        blocking: false,
        phases: ::hooks_core::__private::Phases::ALL
            .and(
                <<&RunInput as ::hooks_core::__private::FromHookArgs<
                    '_,
                >>::Available as ::hooks_core::__private::PhaseSet>::PHASES,
            )
            .and(
                <<&AgentInfo as ::hooks_core::__private::FromHookArgs<
                    '_,
                >>::Available as ::hooks_core::__private::PhaseSet>::PHASES,
            )
            .and(
                <<() as ::hooks_core::__private::IntoHookResult>::Available as ::hooks_core::__private::PhaseSet>::PHASES,
            ),
        mutates: false
            || (false
                || <&RunInput as ::hooks_core::__private::FromHookArgs<'_>>::CHANGES_RUN
                || <&AgentInfo as ::hooks_core::__private::FromHookArgs<'_>>::CHANGES_RUN
                || <() as ::hooks_core::__private::IntoHookResult>::DECIDES),
        can_block: {
            #[allow(unused_imports)]
            use ::hooks_core::__private::MayCarryCheck as _;
            <::hooks_core::__private::CheckProbe<
                <() as ::hooks_core::__private::IntoHookResult>::Error,
            >>::CAN_CHECK
        },
        durable: ::core::option::Option::None,
        takes_job: false
            || <&RunInput as ::hooks_core::__private::FromHookArgs<'_>>::NEEDS_JOB
            || <&AgentInfo as ::hooks_core::__private::FromHookArgs<'_>>::NEEDS_JOB,
        max_attempts: ::core::option::Option::None,
        timeout: ::core::option::Option::None,
    };
}
impl ::hooks_core::__private::Hook for log_request {
    fn meta(&self) -> &'static ::hooks_core::__private::HookMeta {
        &<log_request>::META
    }
    fn call<'__hook>(
        &'__hook self,
        __hook_cx: &'__hook mut ::hooks_core::__private::HookContext,
    ) -> ::hooks_core::__private::HookCall<'__hook> {
        fn log_request(run_input: &RunInput, agent: &AgentInfo) {
            println!("{} {}", agent.display_name(), run_input.input_content);
        }
        fn __hook_invoke(
            __hook_cx: &mut ::hooks_core::__private::HookContext,
        ) -> ::hooks_core::__private::Result<(), ::hooks_core::__private::HookError> {
            let __hook_args = __hook_cx.args();
            let __hook_arg0 = <&RunInput as ::hooks_core::__private::FromHookArgs<
                '_,
            >>::from_hook_args(&__hook_args)?;
            let __hook_arg1 = <&AgentInfo as ::hooks_core::__private::FromHookArgs<
                '_,
            >>::from_hook_args(&__hook_args)?;
            {
                let __hook_returned: () = log_request(__hook_arg0, __hook_arg1);
                <() as ::hooks_core::__private::IntoHookResult>::into_hook_result_in(
                    __hook_returned,
                    __hook_cx,
                )
            }
        }
        ::hooks_core::__private::HookCall::Ready(__hook_invoke(__hook_cx))
    }
}
impl ::hooks_core::__private::HookDef for log_request {
    const META: ::hooks_core::__private::HookMeta = <log_request>::META;
}
impl<
    __HookPhase: ::hooks_core::__private::PhaseKind,
> ::hooks_core::__private::RunsIn<__HookPhase> for log_request
where
    &'static RunInput: ::hooks_core::__private::ArgIn<__HookPhase>,
    &'static AgentInfo: ::hooks_core::__private::ArgIn<__HookPhase>,
    (): ::hooks_core::__private::ReturnIn<__HookPhase>,
{}
impl<
    __HookPhase: ::hooks_core::__private::PhaseKind,
> ::hooks_core::__private::IntoHookList<__HookPhase> for log_request
where
    log_request: ::hooks_core::__private::RunsIn<__HookPhase>,
{
    fn into_hook_list(self) -> ::std::vec::Vec<::hooks_core::__private::HookRef> {
        ::std::vec![::hooks_core::__private::hook_ref(self)]
    }
}
const _: () = ::core::assert!(
    ! ::hooks_core::__private::same_data(< & 'static RunInput as
    ::hooks_core::__private::FromHookArgs < 'static >> ::DATA, < & 'static AgentInfo as
    ::hooks_core::__private::FromHookArgs < 'static >> ::DATA),
    "duplicate hook argument: `&AgentInfo` reads the same part of the run as `&RunInput`, an earlier argument; take it once"
);
::hooks_core::__private::inventory::submit! {
    ::hooks_core::__private::Registration::new(& log_request)
}
