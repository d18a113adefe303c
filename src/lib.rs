//! The root package only hosts the workspace's `examples/` and cross-crate `tests/`; this library
//! exists so that the Rust snippets of the top-level README are compiled (and the runnable ones
//! run) as doctests by the README's test command.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
