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
//! The crate must be a `cdylib`. Build with `cargo jug build` (`guest-sdk/rust/cargo-jug`): it
//! adds a variant of the component per task function, so that each task's key covers only the
//! code its function can run, and editing one function re-runs its tasks only. Plain
//! `cargo build --release --target wasm32-wasip2` works too, with one code identity for the
//! whole component.
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
                $crate::__private::build(&args)
            }

            fn run(
                function: ::std::string::String,
                input: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                $crate::__private::run(&function, &input)
            }
        }

        // What `build` and `run` reach through the linker, so that `cargo jug build` can link
        // a variant of the component per task function that has neither (see `__private`).
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        #[inline(never)]
        #[allow(improper_ctypes_definitions)]
        pub unsafe extern "C" fn __jug_build(
            args: *const ::std::vec::Vec<::std::string::String>,
            out: *mut ::std::result::Result<(), ::std::string::String>,
        ) -> u32 {
            unsafe { out.write($crate::__private::run_build(&*args, $build)) };
            0
        }

        #[doc(hidden)]
        #[unsafe(no_mangle)]
        #[inline(never)]
        #[allow(improper_ctypes_definitions)]
        pub unsafe extern "C" fn __jug_dispatch(call: *const $crate::__private::Call, out: *mut $crate::__private::Outcome) {
            unsafe {
                $crate::__private::answer(call, out, |function, input| {
                    if function == $crate::IDENTITY {
                        return ::core::option::Option::Some($crate::__private::run_identity(input));
                    }
                    $(
                        if let ::core::option::Option::Some(result) = $($task)::+::dispatch(function, input) {
                            return ::core::option::Option::Some(result);
                        }
                    )*
                    ::core::option::Option::Some(::std::result::Result::Err($crate::__private::unknown_function(
                        function,
                        &[$($($task)::+::NAME),*],
                    )))
                })
            }
        }

        $crate::bindings::__export_task_world!(__JugComponent with_types_in $crate::bindings);
    };
}

/// Support code for the macros; not a stable API.
///
/// The component's `build` and `run` reach the graph builder and the task functions only
/// through two symbols the linker resolves, `__jug_build` and `__jug_dispatch` (defined by
/// `export!`), and each task function has a symbol of its own, `__jug_task.<name>` (defined by
/// `#[jug::task]`). `cargo jug build` links the component once as is, then once per task
/// function with both symbols redirected (`wasm-ld --wrap`): `__jug_dispatch` to that task's
/// symbol and `__jug_build` to a stub. `--gc-sections` then keeps exactly the code and data
/// that task function can reach, and that variant is what the host hashes and runs for it.
#[doc(hidden)]
pub mod __private {
    pub use crate::cbor::{decode_args, encode_result};
    pub use crate::task::declare;
    pub use ciborium::Value;

    /// One call of `run`, passed by pointer between the symbols above.
    pub struct Call<'a> {
        pub function: &'a str,
        pub input: &'a [u8],
    }

    /// What a dispatcher answers: `None` when it has no such task function.
    pub type Outcome = Option<Result<Vec<u8>, String>>;

    // Both sides are this SDK's Rust, built by the same compiler: the types need no C layout.
    #[allow(improper_ctypes)]
    unsafe extern "C" {
        fn __jug_build(args: *const Vec<String>, out: *mut Result<(), String>) -> u32;
        fn __jug_dispatch(call: *const Call, out: *mut Outcome);
    }

    /// The component's `build` export.
    pub fn build(args: &Vec<String>) -> Result<(), String> {
        let mut out = std::mem::MaybeUninit::uninit();
        // SAFETY: `__jug_build` writes `out` exactly when it returns 0; a variant's stub
        // returns 1 and writes nothing.
        match unsafe { __jug_build(args, out.as_mut_ptr()) } {
            0 => unsafe { out.assume_init() },
            _ => Err("this is the variant of one task function, which has no graph builder; \
                 build the graph with the component `cargo jug build` wrote"
                .into()),
        }
    }

    /// The component's `run` export.
    pub fn run(function: &str, input: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = std::mem::MaybeUninit::uninit();
        // SAFETY: every dispatcher writes `out` (see `answer`).
        unsafe { __jug_dispatch(&Call { function, input }, out.as_mut_ptr()) };
        unsafe { out.assume_init() }
            .unwrap_or_else(|| Err(format!("this component has no task function `{function}`")))
    }

    /// The task function `identity` has a variant of its own: it runs SDK code only.
    #[unsafe(export_name = "__jug_task.jug.identity")]
    #[allow(improper_ctypes_definitions)]
    pub unsafe extern "C" fn identity_entry(call: *const Call, out: *mut Outcome) {
        unsafe {
            answer(call, out, |function, input| (function == crate::IDENTITY).then(|| run_identity(input)))
        }
    }

    /// Answers `call` with `dispatch` into `out`.
    ///
    /// # Safety
    /// `call` points to a live [`Call`] and `out` to writable space for an [`Outcome`].
    pub unsafe fn answer(call: *const Call, out: *mut Outcome, dispatch: fn(&str, &[u8]) -> Outcome) {
        let call = unsafe { &*call };
        unsafe { out.write(dispatch(call.function, call.input)) }
    }

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
