//! Every `#[hook]` of the program, collected at link time by `inventory`.
//!
//! A crate that nothing references is not linked, so its hooks do not
//! register: reference the crate that defines them (inventory's known
//! limit). Iteration order is not specified by `inventory`; [`all`] sorts.

use std::sync::{Arc, OnceLock};

use crate::{Hook, HookCall, HookContext, HookMeta, HookRef};

/// One registered hook. `#[hook]` submits one for every function it makes
/// a hook of.
pub struct Registration {
    hook: &'static dyn Hook,
}

impl Registration {
    /// Registers `hook` (used by the code `#[hook]` generates).
    pub const fn new(hook: &'static dyn Hook) -> Self {
        Self { hook }
    }

    /// The hook's metadata.
    pub fn meta(&self) -> &'static HookMeta {
        self.hook.meta()
    }

    /// The hook.
    pub fn hook(&self) -> &'static dyn Hook {
        self.hook
    }

    /// The hook as a shared handle, to attach it to an agent.
    pub fn hook_ref(&self) -> HookRef {
        Arc::new(StaticHook(self.hook))
    }

    /// `module::path::name`, unique in a program.
    pub fn path(&self) -> String {
        let meta = self.meta();
        format!("{}::{}", meta.module_path, meta.name)
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("meta", self.meta())
            .finish()
    }
}

inventory::collect!(Registration);

struct StaticHook(&'static dyn Hook);

impl Hook for StaticHook {
    fn meta(&self) -> &'static HookMeta {
        self.0.meta()
    }
    fn call<'a>(&'a self, cx: &'a mut HookContext) -> HookCall<'a> {
        self.0.call(cx)
    }
}

/// A failed registry lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// No hook has that name.
    #[error("no hook named `{name}` is registered (is the crate that defines it linked?)")]
    NotFound {
        /// The name looked up.
        name: String,
    },
    /// Several hooks have that name; ask for one by its full path.
    #[error("{} hooks are named `{name}`: {}; look one up by its full path", candidates.len(), candidates.join(", "))]
    Ambiguous {
        /// The name looked up.
        name: String,
        /// The full path (`module::name`) of each.
        candidates: Vec<String>,
    },
}

/// Every registered hook, sorted by name then module path.
pub fn all() -> &'static [&'static Registration] {
    static SORTED: OnceLock<Vec<&'static Registration>> = OnceLock::new();
    SORTED.get_or_init(|| {
        let mut hooks: Vec<&'static Registration> =
            inventory::iter::<Registration>.into_iter().collect();
        hooks.sort_by(|a, b| {
            (a.meta().name, a.meta().module_path).cmp(&(b.meta().name, b.meta().module_path))
        });
        hooks
    })
}

/// The hook named `name`, or at full path `module::path::name`.
///
/// Two hooks with one name are reported as [`RegistryError::Ambiguous`],
/// never guessed between.
pub fn get(name: &str) -> Result<&'static Registration, RegistryError> {
    // Neither lookup allocates unless it fails (it used to format the path
    // of every hook it compared, and collect the matches of a name).
    let hooks = all();
    if name.contains("::") {
        return hooks
            .iter()
            .copied()
            .find(|r| is_path_of(name, r.meta()))
            .ok_or_else(|| RegistryError::NotFound {
                name: name.to_owned(),
            });
    }
    let start = hooks.partition_point(|r| r.meta().name < name);
    let mut matches = hooks[start..]
        .iter()
        .copied()
        .take_while(|r| r.meta().name == name);
    match (matches.next(), matches.next()) {
        (None, _) => Err(RegistryError::NotFound {
            name: name.to_owned(),
        }),
        (Some(one), None) => Ok(one),
        (Some(first), Some(second)) => Err(RegistryError::Ambiguous {
            name: name.to_owned(),
            candidates: [first, second]
                .into_iter()
                .chain(matches)
                .map(Registration::path)
                .collect(),
        }),
    }
}

/// Whether `path` is [`Registration::path`] of the hook `meta`
/// (`module_path::name`), compared without building it.
fn is_path_of(path: &str, meta: &HookMeta) -> bool {
    path.strip_suffix(meta.name)
        .and_then(|rest| rest.strip_suffix("::"))
        == Some(meta.module_path)
}
