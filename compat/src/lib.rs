//! hue-compat: shims so existing async code (futures, tokio's I/O traits, hyper) runs on hue.
//!
//! (Module docs and the porting guide: filled by the compat work.)

pub mod futures;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "hyper")]
pub mod hyper;
