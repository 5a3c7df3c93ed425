//! jug-host's integration tests: the real binary, on real components built from the
//! workspace's examples and fixture guests, in a fresh directory per test.

mod bad_input;
mod barriers;
mod cleanup;
mod commands;
mod compound;
mod config;
mod cutoff;
mod exhaustion;
mod explain;
mod failures;
mod grants;
mod hashing;
mod hostile;
mod hostile_graph;
mod inputs;
mod javascript;
mod keys;
mod libraries;
mod limits;
mod logs;
mod mapreduce;
mod per_task;
mod polyglot;
mod primes;
mod python;
mod redis;
mod results;
mod rust_crate;
mod s3;
mod sweep;
mod tasklets;
mod util;
mod verify;
mod wordcount;
mod workers;
