//! Signals (filled by the signal work).
