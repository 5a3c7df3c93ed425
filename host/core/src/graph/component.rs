//! The components whose functions a graph's tasks run, and the code identity a task's key
//! derives from: its function's own, if the component declares one, else the component's.

use crate::Key;

/// A component whose task functions a graph uses: the one being built, or a library it
/// declared tasks of (`graph.declare-in`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRef {
    /// The file's stem: Jug's module name, the first part of its task names.
    pub stem: String,
    /// The component's code identity.
    pub code: Key,
    /// The identities of the task functions it declares one for (see
    /// [`crate::code::function_digests`]); a task of any other function is keyed by `code`.
    pub functions: std::sync::Arc<std::collections::BTreeMap<String, Key>>,
}

impl ComponentRef {
    /// A component that declares no identity per function.
    pub fn new(stem: impl Into<String>, code: Key) -> ComponentRef {
        ComponentRef { stem: stem.into(), code, functions: Default::default() }
    }

    /// The code identity of `function`'s tasks: its own, or the component's. The batch
    /// variants of `jug::mapreduce` (`f.map`, `f.reduce`; task names have no dots of their own)
    /// run `f` through the SDK, which every function's identity covers: theirs derives from f's.
    pub fn code_of(&self, function: &str) -> Key {
        if let Some(&code) = self.functions.get(function) {
            return code;
        }
        let variant = batch_variant(function);
        match variant.and_then(|(base, variant)| Some((self.functions.get(base)?, variant))) {
            Some((code, variant)) => {
                let mut hasher = blake3::Hasher::new_derive_key("jug-host 2026-12 batch variant identity");
                hasher.update(&code.0);
                hasher.update(variant.as_bytes());
                Key(*hasher.finalize().as_bytes())
            }
            None => self.code,
        }
    }
}

/// `("f", "map")` for `f.map`, `("f", "reduce")` for `f.reduce`: the batch variants of
/// `jug::mapreduce`, which run `f`'s code.
pub fn batch_variant(function: &str) -> Option<(&str, &str)> {
    function.rsplit_once('.').filter(|(_, variant)| matches!(*variant, "map" | "reduce"))
}

/// The function whose code a task of `function` runs: `f` for `f.map` and `f.reduce`.
pub fn batch_base(function: &str) -> Option<&str> {
    batch_variant(function).map(|(base, _)| base)
}
