//! `#[jug::task]`: turns a plain Rust function into a Jug task function.
//!
//! ```ignore
//! #[jug::task]
//! fn is_prime(n: u64) -> bool { … }
//! ```
//! becomes two items with the same name:
//! - `fn is_prime(n: impl jug::Arg<u64>) -> jug::Task<bool>`, the builder-side function that
//!   declares a task (type-checked against the original signature);
//! - `mod is_prime { const NAME; fn run(input) }`, the sandbox-side entry point that decodes the
//!   arguments, calls the original body and encodes the result. `jug::export!` lists these.
//!   It also has the symbol `__jug_task.is_prime`, the root of the function's variant in
//!   `cargo jug build`. The name is the task's name, so two task functions of one name in a
//!   component (which would share keys) fail to link: `duplicate symbol: __jug_task.is_prime`.
//!
//! A function returning `Result<T, E>` (with `E: Display`) gives a `Task<T>`; an `Err` fails the
//! task with `E`'s text.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote};
use syn::{FnArg, GenericArgument, ItemFn, Pat, PathArguments, ReturnType, Type, parse_macro_input};

#[proc_macro_attribute]
pub fn task(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let err = syn::Error::new(Span::call_site(), "#[jug::task] takes no arguments");
        return err.to_compile_error().into();
    }
    let function = parse_macro_input!(item as ItemFn);
    expand(function).unwrap_or_else(|e| e.to_compile_error()).into()
}

fn expand(function: ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    let sig = &function.sig;
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&sig.generics, "a task function cannot be generic"));
    }
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new_spanned(asyncness, "a task function cannot be async"));
    }
    let name = &sig.ident;
    let vis = &function.vis;
    let attrs = &function.attrs;

    let mut params = Vec::new();
    let mut types = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else {
            return Err(syn::Error::new_spanned(input, "a task function cannot take `self`"));
        };
        let ident = match &*typed.pat {
            Pat::Ident(p) => p.ident.clone(),
            _ => format_ident!("arg{i}"),
        };
        params.push(ident);
        types.push((*typed.ty).clone());
    }

    let declared = quote!(::core::stringify!(#name));
    // The symbol `cargo jug build` links one variant of the component around (see the SDK's
    // `variant` module): a literal, since `export_name` takes no macro.
    let entry_symbol = format!("{}{name}", "__jug_task.");
    let (task_type, encode) = match &sig.output {
        ReturnType::Default => {
            (quote!(()), quote!(::jug::__private::encode_result(&{ __body(#(#params),*); })))
        }
        ReturnType::Type(_, ty) => match ok_type_of_result(ty) {
            Some(ok) => (
                quote!(#ok),
                quote!(match __body(#(#params),*) {
                    ::core::result::Result::Ok(value) => ::jug::__private::encode_result(&value),
                    ::core::result::Result::Err(e) => ::core::result::Result::Err(e.to_string()),
                }),
            ),
            None => (quote!(#ty), quote!(::jug::__private::encode_result(&__body(#(#params),*)))),
        },
    };

    let fallible = matches!(&sig.output, ReturnType::Type(_, ty) if ok_type_of_result(ty).is_some());
    // serde reads `()` from CBOR null, never from the empty array that a task of no
    // arguments is declared with; an empty Rust array reads from it.
    let decode = match params.is_empty() {
        true => quote!(let _: [(); 0] = ::jug::__private::decode_args(input, NAME)?;),
        false => quote!(let (#(#params,)*): (#(#types,)*) = ::jug::__private::decode_args(input, NAME)?;),
    };
    let batches = batch_variants(name, &params, &types, &task_type, fallible);
    let body_inputs = &sig.inputs;
    let body_output = &sig.output;
    let block = &function.block;
    Ok(quote! {
        #(#attrs)*
        #vis fn #name(#(#params: impl ::jug::Arg<#types>),*) -> ::jug::Task<#task_type> {
            ::jug::__private::declare(
                #declared,
                ::std::vec![#(::jug::Arg::<#types>::to_template(&#params)),*],
            )
        }

        #[doc(hidden)]
        #[allow(non_snake_case)]
        #vis mod #name {
            #[allow(unused_imports)]
            use super::*;

            /// The name this task function is exported under.
            pub const NAME: &str = #declared;

            #batches

            /// The root of this task function's variant: everything it can run, and nothing
            /// of the other task functions or the builder (see `jug::__private::Entry`).
            #[doc(hidden)]
            #[unsafe(export_name = #entry_symbol)]
            #[allow(improper_ctypes_definitions)]
            pub unsafe extern "C" fn __jug_entry(call: *const ::jug::__private::Call, out: *mut ::jug::__private::Outcome) {
                unsafe { ::jug::__private::answer(call, out, dispatch) }
            }

            /// Runs the task on its CBOR argument tuple and returns its CBOR result.
            pub fn run(input: &[u8]) -> ::core::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                #decode
                #encode
            }

            fn __body(#body_inputs) #body_output #block
        }
    })
}

/// `Result<T, E>` → `Some(T)`, matching on the last path segment so `std::result::Result`,
/// `io::Result<T>`-style aliases with two arguments and plain `Result` all work.
/// The batch variants `jug::mapreduce` uses (fewer, bigger tasks): `Map` runs the function
/// on each element of a list — an element is the argument, or the tuple of arguments of a
/// function with several — and, for a function of two arguments of its result type, `Reduce`
/// folds a list with it. Declared as `<name>.map` and `<name>.reduce`.
fn batch_variants(
    name: &syn::Ident,
    params: &[syn::Ident],
    types: &[Type],
    task_type: &proc_macro2::TokenStream,
    fallible: bool,
) -> proc_macro2::TokenStream {
    let (input, call, one) = match params {
        [_] => {
            let ty = &types[0];
            (quote!(#ty), quote!(__body(item)), quote!(::std::vec![item]))
        }
        _ => {
            let fields = (0..params.len()).map(syn::Index::from);
            let unpack = quote!(match item {
                ::jug::__private::Value::Array(args) => args,
                other => ::std::vec![other],
            });
            (quote!((#(#types,)*)), quote!(__body(#(item.#fields),*)), unpack)
        }
    };
    let collect = match fallible {
        true => {
            quote!(.collect::<::core::result::Result<::std::vec::Vec<_>, _>>().map_err(|e| e.to_string())?)
        }
        false => quote!(.collect::<::std::vec::Vec<_>>()),
    };
    // Folding needs f(T, T) -> T, infallible; anything else gets no `Reduce`.
    let output = task_type.to_string();
    let foldable = !fallible && types.len() == 2 && types.iter().all(|t| quote!(#t).to_string() == output);
    let (reduce, reduce_arm) = match foldable {
        false => (quote!(), quote!()),
        true => (
            quote! {
                /// Folds a list with this function (see `jug::mapreduce::reduce`).
                pub struct Reduce;

                impl ::jug::mapreduce::Reducer for Reduce {
                    type Value = #task_type;
                    fn declare_batch(items: ::std::vec::Vec<::jug::__private::Value>) -> ::jug::Task<#task_type> {
                        ::jug::__private::declare(REDUCE_NAME, ::std::vec![::jug::__private::Value::Array(items)])
                    }
                }

                pub const REDUCE_NAME: &str = ::core::concat!(::core::stringify!(#name), ".reduce");

                fn run_reduce(input: &[u8]) -> ::core::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                    let (items,): (::std::vec::Vec<#task_type>,) = ::jug::__private::decode_args(input, REDUCE_NAME)?;
                    let mut items = items.into_iter();
                    let first = items.next().ok_or_else(|| ::std::string::String::from("nothing to reduce"))?;
                    ::jug::__private::encode_result(&items.fold(first, |acc, item| __body(acc, item)))
                }
            },
            quote!(REDUCE_NAME => ::core::option::Option::Some(run_reduce(input)),),
        ),
    };
    quote! {
        /// Runs this function on each element of a list (see `jug::mapreduce::map`).
        pub struct Map;

        impl ::jug::mapreduce::Mapper for Map {
            type Input = #input;
            type Output = #task_type;
            fn declare_batch(items: ::std::vec::Vec<::jug::__private::Value>) -> ::jug::Task<::std::vec::Vec<#task_type>> {
                ::jug::__private::declare(MAP_NAME, ::std::vec![::jug::__private::Value::Array(items)])
            }
            fn declare_one(item: ::jug::__private::Value) -> ::jug::Task<#task_type> {
                ::jug::__private::declare(NAME, #one)
            }
        }

        pub const MAP_NAME: &str = ::core::concat!(::core::stringify!(#name), ".map");

        fn run_map(input: &[u8]) -> ::core::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
            let (items,): (::std::vec::Vec<#input>,) = ::jug::__private::decode_args(input, MAP_NAME)?;
            let results = items.into_iter().map(|item| #call) #collect;
            ::jug::__private::encode_result(&results)
        }

        #reduce

        /// Runs `function` if it is this task function or one of its batch variants.
        pub fn dispatch(
            function: &str,
            input: &[u8],
        ) -> ::core::option::Option<::core::result::Result<::std::vec::Vec<u8>, ::std::string::String>> {
            match function {
                NAME => ::core::option::Option::Some(run(input)),
                MAP_NAME => ::core::option::Option::Some(run_map(input)),
                #reduce_arm
                _ => ::core::option::Option::None,
            }
        }
    }
}

fn ok_type_of_result(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(ok) => Some(ok),
        _ => None,
    }
}
