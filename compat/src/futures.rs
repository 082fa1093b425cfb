//! futures shims (to be filled).
