//! hue-compat: shims so existing async code (futures, tokio's I/O traits, hyper) runs on hue.
//!
//! Filled by the compat issue; for now it only re-exports the executor's spawn API that the
//! shims will adapt.

pub use hue_executor::{spawn_colored, Color};
