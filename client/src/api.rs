//! The generated API: one module per specification namespace, shared types under
//! [`types`], the root namespace's APIs (`search`, `index`, `bulk`, …) re-exported at the
//! crate root, and the endpoint registry.
//!
//! Everything below `generated/` is written by `cargo xtask codegen`; this file is the
//! hand-written seam that includes it.

#[rustfmt::skip]
#[allow(
    missing_docs,
    deprecated,
    clippy::all,
    clippy::pedantic,
    unused_imports,
    non_camel_case_types,
    missing_debug_implementations,
    rustdoc::all
)]
#[path = "generated/mod.rs"]
pub(crate) mod generated;

pub use self::generated::root::*;
pub use self::generated::*;
