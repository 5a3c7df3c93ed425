//! # jug: Jug task graphs in Rust, compiled to a WebAssembly component
//!
//! A Jug program has two halves: **task functions**, marked `#[jug::task]`, and a **graph
//! builder** (Jug's jugfile) that calls them. Calling a task function inside the builder does not
//! run it: it declares a task and returns a typed [`Task`] handle, which can be passed wherever
//! the next task expects a value of that type. `jug-host` then runs every task in its own
//! sandbox, stores each result under the task's key, and never runs a stored task again.
//!
//! ```ignore
//! #[jug::task]
//! fn is_prime(n: u64) -> bool { (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0) }
//!
//! #[jug::task]
//! fn count_primes(flags: Vec<bool>) -> u64 { flags.iter().filter(|&&p| p).count() as u64 }
//!
//! fn graph(_args: &[String]) -> jug::Result {
//!     let flags: Vec<_> = (2..=100u64).map(is_prime).collect(); // Vec<Task<bool>>
//!     count_primes(flags);                                        // accepted as Vec<bool>
//!     Ok(())
//! }
//!
//! jug::export!(graph, [is_prime, count_primes]);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the crate must be a `cdylib`.
//!
//! ## What crosses the sandbox wall
//!
//! Arguments and results are encoded as deterministic CBOR (see `wit/task.wit`), so any type
//! with serde's `Serialize`/`Deserialize` can be an argument or a result, and the bytes, hence
//! the keys, are the same on every machine. Map keys must be strings.

extern crate self as jug;

mod arg;
mod barrier;
mod cbor;
mod compound;
mod directory;
mod file;
mod library;
mod limits;
pub mod log;
pub mod mapreduce;
mod task;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "task",
        pub_export_macro: true,
        export_macro_name: "__export_task_world",
        default_bindings_module: "::jug::bindings",
        runtime_path: "::jug::__rt",
    });
}

#[doc(hidden)]
pub use wit_bindgen::rt as __rt;

pub use arg::{Arg, CustomHash, NoHash, Plain};
pub use barrier::{barrier, bvalue};
pub use compound::compound;
pub use directory::{Directory, directory};
pub use file::{InputFile, file};
pub use jug_sdk_macros::task;
pub use library::{Library, arg, library};
pub use limits::Limits;
pub use task::{Task, Tasklet};

/// The CBOR tag that marks a reference to another task's result: its payload is the 32-byte key.
pub const TASK_REF_TAG: u64 = 27253;

/// The CBOR tags of [`NoHash`] and [`CustomHash`] arguments (see `wit/task.wit`).
pub const KEY_EXEMPT_TAG: u64 = 27254;
pub const CUSTOM_KEY_TAG: u64 = 27255;

/// The CBOR tag of a file input (see [`file`]).
pub const FILE_INPUT_TAG: u64 = 27256;

/// The CBOR tag of a directory granted to one task (see [`directory`]).
pub const DIR_GRANT_TAG: u64 = 27257;

/// The function name of [`identity`] tasks: `<stem>.jug.identity`.
pub const IDENTITY: &str = "jug.identity";

/// Jug's `identity`: a task whose result is its argument. Hashes a big argument once (tasks
/// that take the identity task depend on its key, not on the value's bytes), or gathers
/// several results into one.
pub fn identity<T, A: Arg<T>>(value: A) -> Task<T> {
    task::declare(IDENTITY, vec![value.to_template()])
}

/// Why a graph builder gave up. Anything that implements `Display` converts into it with `?`,
/// and its text becomes the one-line error `jug-host` prints.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    /// The build stopped at a barrier (the host knows, and does not show this message).
    fn at_barrier() -> Error {
        Error("the graph builder stopped at a barrier: a result it needs is not stored yet".into())
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl<E: std::fmt::Display> From<E> for Error {
    fn from(err: E) -> Self {
        Error(err.to_string())
    }
}

/// What a graph builder returns.
pub type Result<T = (), E = Error> = std::result::Result<T, E>;

/// Exports the graph builder and the task functions as the component's `build` and `run`.
///
/// The first argument is the builder, a `fn(&[String]) -> jug::Result` (the strings are the
/// words after `--` on the `jug-host` command line); the list names every `#[jug::task]`
/// function the graph may use.
///
/// A library of task functions for other components' graphs (see [`library`]) may leave the
/// builder out: `jug::export!([describe, echo]);` declares no tasks of its own.
#[macro_export]
macro_rules! export {
    ([$($($task:ident)::+),* $(,)?]) => {
        #[doc(hidden)]
        fn __jug_no_graph(_: &[::std::string::String]) -> $crate::Result {
            ::core::result::Result::Ok(())
        }
        $crate::export!(__jug_no_graph, [$($($task)::+),*]);
    };
    ($build:path, [$($($task:ident)::+),* $(,)?]) => {
        #[doc(hidden)]
        pub struct __JugComponent;

        impl $crate::bindings::Guest for __JugComponent {
            fn build(args: ::std::vec::Vec<::std::string::String>) -> ::std::result::Result<(), ::std::string::String> {
                $crate::__private::run_build(&args, $build)
            }

            fn run(
                function: ::std::string::String,
                input: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                if function == $crate::IDENTITY {
                    return $crate::__private::run_identity(&input);
                }
                $(
                    if let ::core::option::Option::Some(result) = $($task)::+::dispatch(&function, &input) {
                        return result;
                    }
                )*
                ::std::result::Result::Err($crate::__private::unknown_function(
                    &function,
                    &[$($($task)::+::NAME),*],
                ))
            }
        }

        $crate::bindings::__export_task_world!(__JugComponent with_types_in $crate::bindings);
    };
}

/// Support code for the macros; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::cbor::{decode_args, encode_result};
    pub use crate::task::declare;
    pub use ciborium::Value;

    pub fn run_build(args: &[String], build: fn(&[String]) -> crate::Result) -> Result<(), String> {
        build(args).map_err(|e| e.0)
    }

    /// The argument of an `identity` task, as its result.
    pub fn run_identity(input: &[u8]) -> Result<Vec<u8>, String> {
        let (value,): (Value,) = crate::cbor::decode_args(input, crate::IDENTITY)?;
        crate::cbor::encode(value)
    }

    pub fn unknown_function(name: &str, known: &[&str]) -> String {
        format!("this component has no task function `{name}` (it exports: {})", known.join(", "))
    }
}
