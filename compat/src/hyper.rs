//! hyper shims (to be filled).
