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

            /// Runs the task on its CBOR argument tuple and returns its CBOR result.
            pub fn run(input: &[u8]) -> ::core::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                let (#(#params,)*): (#(#types,)*) = ::jug::__private::decode_args(input, NAME)?;
                #encode
            }

            fn __body(#body_inputs) #body_output #block
        }
    })
}

/// `Result<T, E>` → `Some(T)`, matching on the last path segment so `std::result::Result`,
/// `io::Result<T>`-style aliases with two arguments and plain `Result` all work.
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
