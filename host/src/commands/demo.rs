//! `jug-host demo`: Jug's `jug demo`, which writes the primes example into the current
//! directory so a newcomer has something to run in a minute.

use crate::cli::DemoArgs;
use crate::errors::{Error, Result};
use crate::exit_code::ExitCode;

use super::UsageError;

/// The example as the Python SDK spells Jug's demo (examples/primes/primes.py).
const PRIMES_PY: &str = include_str!("../../../examples/primes/primes.py");

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let path = std::path::Path::new("primes.py");
    match std::fs::read_to_string(path) {
        Ok(existing) if existing == PRIMES_PY => {}
        Ok(_) if !args.force => {
            return Err(UsageError(
                "primes.py already exists here and is not the demo; run demo in an empty directory, \
                 or pass --force to overwrite it"
                    .into(),
            )
            .into());
        }
        _ => std::fs::write(path, PRIMES_PY)
            .map_err(Error::system("cannot write primes.py in the current directory"))?,
    }
    println!(
        "Wrote primes.py: Jug's demo for jug-host's Python SDK. Build it and run it:\n\n    \
         jug-py build primes.py\n    jug-host execute primes.wasm\n    jug-host status primes.wasm\n    \
         jug-host value primes.wasm write_output\n\n\
         (jug-py is the Python SDK's build tool: pip install ./guest-sdk/python from jug-host's repository.)"
    );
    Ok(ExitCode::Ok)
}
