#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, Default)]
struct send_notification;
impl send_notification {
    /// What the runtime knows of this hook, fixed at compile time.
    pub const META: ::hooks_core::__private::HookMeta = ::hooks_core::__private::HookMeta {
        name: "send_notification",
        module_path: ::core::module_path!(),
        file: ::core::file!(),
        line: ::core::line!(),
        is_async: true,
        run_in_background: true,
        blocking: false,
        phases: ::hooks_core::__private::Phases::ALL
            .and(
                <<&RunOutput as ::hooks_core::__private::FromHookArgs<
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
                || <&RunOutput as ::hooks_core::__private::FromHookArgs<'_>>::CHANGES_RUN
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
            || <&RunOutput as ::hooks_core::__private::FromHookArgs<'_>>::NEEDS_JOB
            || <&AgentInfo as ::hooks_core::__private::FromHookArgs<'_>>::NEEDS_JOB,
        max_attempts: ::core::option::Option::None,
        timeout: ::core::option::Option::None,
    };
}
impl ::hooks_core::__private::Hook for send_notification {
    fn meta(&self) -> &'static ::hooks_core::__private::HookMeta {
        &<send_notification>::META
    }
    fn call<'__hook>(
        &'__hook self,
        __hook_cx: &'__hook mut ::hooks_core::__private::HookContext,
    ) -> ::hooks_core::__private::HookCall<'__hook> {
        async fn send_notification(run_output: &RunOutput, agent: &AgentInfo) {
            let _ = (run_output, agent);
        }
        ::hooks_core::__private::HookCall::pending(async move {
            let __hook_args = __hook_cx.args();
            let __hook_arg0 = <&RunOutput as ::hooks_core::__private::FromHookArgs<
                '_,
            >>::from_hook_args(&__hook_args)?;
            let __hook_arg1 = <&AgentInfo as ::hooks_core::__private::FromHookArgs<
                '_,
            >>::from_hook_args(&__hook_args)?;
            {
                let __hook_returned: () = send_notification(__hook_arg0, __hook_arg1)
                    .await;
                <() as ::hooks_core::__private::IntoHookResult>::into_hook_result_in(
                    __hook_returned,
                    __hook_cx,
                )
            }
        })
    }
}
impl ::hooks_core::__private::HookDef for send_notification {
    const META: ::hooks_core::__private::HookMeta = <send_notification>::META;
}
impl<
    __HookPhase: ::hooks_core::__private::PhaseKind,
> ::hooks_core::__private::RunsIn<__HookPhase> for send_notification
where
    &'static RunOutput: ::hooks_core::__private::ArgIn<__HookPhase>,
    &'static AgentInfo: ::hooks_core::__private::ArgIn<__HookPhase>,
    (): ::hooks_core::__private::ReturnIn<__HookPhase>,
{}
impl<
    __HookPhase: ::hooks_core::__private::PhaseKind,
> ::hooks_core::__private::IntoHookList<__HookPhase> for send_notification
where
    send_notification: ::hooks_core::__private::RunsIn<__HookPhase>,
{
    fn into_hook_list(self) -> ::std::vec::Vec<::hooks_core::__private::HookRef> {
        ::std::vec![::hooks_core::__private::hook_ref(self)]
    }
}
const _: () = ::core::assert!(
    ! < send_notification > ::META.can_block,
    "`send_notification` has `run_in_background = true`, but its return type can carry a check error: a check in the background can only be logged, never block the run. Keep the hook inline (remove `run_in_background`), or return an error type that cannot carry a check (`()`, `std::io::Error`, `String`, `anyhow::Error`, or a type of yours that implements `CheckFree`)"
);
const _: () = ::core::assert!(
    ! (false || < & RunOutput as ::hooks_core::__private::FromHookArgs < '_ >>
    ::CHANGES_RUN || < & AgentInfo as ::hooks_core::__private::FromHookArgs < '_ >>
    ::CHANGES_RUN || < () as ::hooks_core::__private::IntoHookResult > ::DECIDES),
    "`send_notification` has `run_in_background = true`, but it decides a tool call (it takes `Next` or returns the call's result): a background hook works on a copy. Make it an observer (`call: &ToolCall`, returning `()`), or drop `run_in_background`"
);
const _: () = ::core::assert!(
    ! ::hooks_core::__private::same_data(< & 'static RunOutput as
    ::hooks_core::__private::FromHookArgs < 'static >> ::DATA, < & 'static AgentInfo as
    ::hooks_core::__private::FromHookArgs < 'static >> ::DATA),
    "duplicate hook argument: `&AgentInfo` reads the same part of the run as `&RunOutput`, an earlier argument; take it once"
);
::hooks_core::__private::inventory::submit! {
    ::hooks_core::__private::Registration::new(& send_notification)
}
