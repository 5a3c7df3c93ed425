//! [`Arg`]: what a task function accepts in place of each parameter while the graph is built.

use std::collections::{BTreeMap, HashMap};

use ciborium::Value;
use serde::Serialize;

use crate::cbor::to_value;
use crate::{Task, Tasklet};

/// Something that becomes a `T` by the time the task runs: a `T` itself, a [`Task<T>`], or a
/// container of such things where the parameter is a container of `T`
/// (`Vec<Task<bool>>` for `Vec<bool>`). The Rust compiler checks every argument against the
/// task function's signature.
///
/// Built-in scalars, `String`/`&str`, `Vec`, slices, arrays, `Option`, tuples and string-keyed
/// maps are covered; wrap a value of your own serde type in [`Plain`].
pub trait Arg<T> {
    /// The CBOR template for this argument: the value, with task references where results go.
    #[doc(hidden)]
    fn to_template(&self) -> Value;
}

/// A plain value of any serde type, passed as an argument as it is.
pub struct Plain<T>(pub T);

impl<T: Serialize> Arg<T> for Plain<T> {
    fn to_template(&self) -> Value {
        to_value(&self.0)
    }
}

impl<T> Arg<T> for Task<T> {
    fn to_template(&self) -> Value {
        self.reference()
    }
}

/// Jug's `NoHash`: the task gets the value, but its key does not depend on it — for an
/// argument that cannot change the result (a thread count, a log level). Changing it re-runs
/// nothing.
pub struct NoHash<T>(pub T);

impl<T: Serialize> Arg<T> for NoHash<T> {
    fn to_template(&self) -> Value {
        Value::Tag(crate::KEY_EXEMPT_TAG, Box::new(to_value(&self.0)))
    }
}

/// Jug's `CustomHash`: the task gets `value`, and its key depends on `hash` instead — for a
/// big argument with a cheap identity of your own (a dataset's version string, say).
pub struct CustomHash<T> {
    pub value: T,
    pub hash: Vec<u8>,
}

impl<T: Serialize> Arg<T> for CustomHash<T> {
    fn to_template(&self) -> Value {
        let wrapped = Value::Array(vec![Value::Bytes(self.hash.clone()), to_value(&self.value)]);
        Value::Tag(crate::CUSTOM_KEY_TAG, Box::new(wrapped))
    }
}

impl<T> Arg<T> for Tasklet<T> {
    fn to_template(&self) -> Value {
        self.reference()
    }
}

impl<T, A: Arg<T> + ?Sized> Arg<T> for &A {
    fn to_template(&self) -> Value {
        (**self).to_template()
    }
}

macro_rules! plain_args {
    ($($t:ty),*) => { $(
        impl Arg<$t> for $t {
            fn to_template(&self) -> Value { to_value(self) }
        }
    )* };
}

plain_args!(bool, char, u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64, String, ());

impl Arg<String> for str {
    fn to_template(&self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl<T, A: Arg<T>> Arg<Vec<T>> for [A] {
    fn to_template(&self) -> Value {
        Value::Array(self.iter().map(Arg::to_template).collect())
    }
}

impl<T, A: Arg<T>> Arg<Vec<T>> for Vec<A> {
    fn to_template(&self) -> Value {
        self.as_slice().to_template()
    }
}

impl<T, A: Arg<T>, const N: usize> Arg<Vec<T>> for [A; N] {
    fn to_template(&self) -> Value {
        self.as_slice().to_template()
    }
}

impl<T, A: Arg<T>> Arg<Option<T>> for Option<A> {
    fn to_template(&self) -> Value {
        self.as_ref().map_or(Value::Null, Arg::to_template)
    }
}

fn map_template<'a, T, A: Arg<T> + 'a>(entries: impl Iterator<Item = (&'a String, &'a A)>) -> Value {
    Value::Map(entries.map(|(k, v)| (Value::Text(k.clone()), v.to_template())).collect())
}

impl<T, A: Arg<T>> Arg<BTreeMap<String, T>> for BTreeMap<String, A> {
    fn to_template(&self) -> Value {
        map_template(self.iter())
    }
}

impl<T, A: Arg<T>> Arg<HashMap<String, T>> for HashMap<String, A> {
    fn to_template(&self) -> Value {
        map_template(self.iter())
    }
}

macro_rules! tuple_args {
    ($(($($t:ident $a:ident $i:tt),+))*) => { $(
        impl<$($t, $a: Arg<$t>),+> Arg<($($t,)+)> for ($($a,)+) {
            fn to_template(&self) -> Value {
                Value::Array(vec![$(self.$i.to_template()),+])
            }
        }
    )* };
}

tuple_args! {
    (T0 A0 0)
    (T0 A0 0, T1 A1 1)
    (T0 A0 0, T1 A1 1, T2 A2 2)
    (T0 A0 0, T1 A1 1, T2 A2 2, T3 A3 3)
    (T0 A0 0, T1 A1 1, T2 A2 2, T3 A3 3, T4 A4 4)
    (T0 A0 0, T1 A1 1, T2 A2 2, T3 A3 3, T4 A4 4, T5 A5 5)
}
