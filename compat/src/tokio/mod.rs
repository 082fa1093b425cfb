//! tokio shims (to be filled).
