//! STUB: to be written. See docs/shim-internals.md.
