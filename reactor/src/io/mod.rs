//! Registration of I/O sources with the reactor.

pub(crate) mod registration;
pub(crate) mod scheduled_io;

pub(crate) use registration::PollEvented;
pub(crate) use scheduled_io::{Direction, ReadyEvent};
