#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, Default)]
struct audit_log;
impl audit_log {
    /// What the runtime knows of this hook, fixed at compile time.
    pub const META: my_app::hooks::__private::HookMeta = my_app::hooks::__private::HookMeta {
        name: "audit",
        module_path: ::core::module_path!(),
        file: ::core::file!(),
        line: ::core::line!(),
        is_async: false,
        run_in_background: false,
        blocking: true,
        phases: my_app::hooks::__private::Phases::ALL
            .and(
                <<&UserId as my_app::hooks::__private::FromHookArgs<
                    '_,
                >>::Available as my_app::hooks::__private::PhaseSet>::PHASES,
            )
            .and(
                <<() as my_app::hooks::__private::IntoHookResult>::Available as my_app::hooks::__private::PhaseSet>::PHASES,
            ),
        mutates: false
            || (false
                || <&UserId as my_app::hooks::__private::FromHookArgs<'_>>::CHANGES_RUN
                || <() as my_app::hooks::__private::IntoHookResult>::DECIDES),
        can_block: {
            #[allow(unused_imports)]
            use my_app::hooks::__private::MayCarryCheck as _;
            <my_app::hooks::__private::CheckProbe<
                <() as my_app::hooks::__private::IntoHookResult>::Error,
            >>::CAN_CHECK
        },
        durable: ::core::option::Option::None,
        takes_job: false
            || <&UserId as my_app::hooks::__private::FromHookArgs<'_>>::NEEDS_JOB,
        max_attempts: ::core::option::Option::None,
        timeout: ::core::option::Option::None,
    };
}
impl my_app::hooks::__private::Hook for audit_log {
    fn meta(&self) -> &'static my_app::hooks::__private::HookMeta {
        &<audit_log>::META
    }
    fn call<'__hook>(
        &'__hook self,
        __hook_cx: &'__hook mut my_app::hooks::__private::HookContext,
    ) -> my_app::hooks::__private::HookCall<'__hook> {
        fn audit_log(user_id: &UserId) {
            let _ = user_id;
        }
        fn __hook_invoke(
            __hook_cx: &mut my_app::hooks::__private::HookContext,
        ) -> my_app::hooks::__private::Result<(), my_app::hooks::__private::HookError> {
            let __hook_args = __hook_cx.args();
            let __hook_arg0 = <&UserId as my_app::hooks::__private::FromHookArgs<
                '_,
            >>::from_hook_args(&__hook_args)?;
            {
                let __hook_returned: () = audit_log(__hook_arg0);
                <() as my_app::hooks::__private::IntoHookResult>::into_hook_result_in(
                    __hook_returned,
                    __hook_cx,
                )
            }
        }
        my_app::hooks::__private::run_blocking(__hook_cx, __hook_invoke)
    }
}
impl my_app::hooks::__private::HookDef for audit_log {
    const META: my_app::hooks::__private::HookMeta = <audit_log>::META;
}
impl<
    __HookPhase: my_app::hooks::__private::PhaseKind,
> my_app::hooks::__private::RunsIn<__HookPhase> for audit_log
where
    &'static UserId: my_app::hooks::__private::ArgIn<__HookPhase>,
    (): my_app::hooks::__private::ReturnIn<__HookPhase>,
{}
impl<
    __HookPhase: my_app::hooks::__private::PhaseKind,
> my_app::hooks::__private::IntoHookList<__HookPhase> for audit_log
where
    audit_log: my_app::hooks::__private::RunsIn<__HookPhase>,
{
    fn into_hook_list(self) -> ::std::vec::Vec<my_app::hooks::__private::HookRef> {
        ::std::vec![my_app::hooks::__private::hook_ref(self)]
    }
}
my_app::hooks::__private::inventory::submit! {
    my_app::hooks::__private::Registration::new(& audit_log)
}
