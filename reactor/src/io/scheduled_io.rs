//! Readiness state of one registered source, shared by the driver and the source's owner.
//!
//! The driver sets readiness bits when mio reports an event and wakes the waiters of the
//! directions that became ready; a task that finds its direction not ready stores its waker.
//! Readiness is edge-triggered (mio's contract): it stays set until the owner sees
//! `WouldBlock` and clears it. Every event carries the driver's tick; a clear names the tick of
//! the readiness it saw, so an event that arrived in between (a newer tick) is not lost.
//!
//! Ordering: the driver stores readiness, then takes the waiters' lock to take the wakers; a
//! task takes the lock, stores its waker, then re-reads readiness. Either the task sees the
//! new bits or the driver sees the waker.

use std::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use hue_executor::sync::lock;

/// Readiness bits.
pub(crate) const READABLE: usize = 0b0_0001;
pub(crate) const WRITABLE: usize = 0b0_0010;
pub(crate) const READ_CLOSED: usize = 0b0_0100;
pub(crate) const WRITE_CLOSED: usize = 0b0_1000;
/// The reactor shut down: every wait ends, with an error.
pub(crate) const SHUTDOWN: usize = 0b1000_0000;
const READY_MASK: usize = 0xFF;
const TICK_SHIFT: u32 = 8;
const TICK_MASK: usize = 0xFF << TICK_SHIFT;

/// A direction a task waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    pub(crate) fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED,
            Direction::Write => WRITABLE | WRITE_CLOSED,
        }
    }
}

/// Readiness seen by a task, with the tick it was set at (for [`ScheduledIo::clear`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadyEvent {
    pub(crate) ready: usize,
    tick: usize,
}

impl ReadyEvent {
    /// The peer will not read any more (or the connection failed).
    pub(crate) fn is_write_closed(&self) -> bool {
        self.ready & WRITE_CLOSED != 0
    }

    /// The reactor shut down (see [`ScheduledIo::shutdown`]).
    pub(crate) fn is_shutdown(&self) -> bool {
        self.ready & SHUTDOWN != 0
    }
}

#[derive(Default)]
struct Waiters {
    /// Tasks waiting to read (usually one; several for `readable()` on a shared socket).
    readers: Vec<Waker>,
    writers: Vec<Waker>,
}

/// The shared readiness of one source.
pub(crate) struct ScheduledIo {
    /// Readiness bits (low byte) and the tick of the last event (next byte).
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Driver side: adds `ready` bits seen at `tick`; returns the wakers to wake (after the
    /// caller drops its locks) through `wake`.
    pub(crate) fn set_readiness(&self, ready: usize, tick: u8, wake: &mut Vec<Waker>) {
        let tick = (tick as usize) << TICK_SHIFT;
        let mut current = self.readiness.load(Acquire);
        loop {
            let next = (current & READY_MASK) | ready | tick;
            match self
                .readiness
                .compare_exchange_weak(current, next, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        let mut waiters = lock(&self.waiters);
        if ready & Direction::Read.mask() != 0 {
            wake.append(&mut waiters.readers);
        }
        if ready & Direction::Write.mask() != 0 {
            wake.append(&mut waiters.writers);
        }
    }

    /// The readiness in direction `dir`, if any, without registering a waker.
    pub(crate) fn ready(&self, dir: Direction) -> Option<ReadyEvent> {
        let current = self.readiness.load(Acquire);
        let ready = current & (dir.mask() | SHUTDOWN);
        (ready != 0).then_some(ReadyEvent {
            ready,
            tick: current & TICK_MASK,
        })
    }

    /// Ready in `dir`, or the waker is stored and `Pending` returned.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<ReadyEvent> {
        if let Some(event) = self.ready(dir) {
            return Poll::Ready(event);
        }
        let mut waiters = lock(&self.waiters);
        let slot = match dir {
            Direction::Read => &mut waiters.readers,
            Direction::Write => &mut waiters.writers,
        };
        if !slot.iter().any(|w| w.will_wake(cx.waker())) {
            slot.push(cx.waker().clone());
        }
        match self.ready(dir) {
            Some(event) => Poll::Ready(event),
            None => Poll::Pending,
        }
    }

    /// The owner saw `WouldBlock` after `event`: clears the bits it saw, unless a newer event
    /// set readiness since (then the bits stay, and the owner tries again).
    pub(crate) fn clear(&self, event: ReadyEvent) {
        // Closed states are final: never cleared.
        let clear = event.ready & (READABLE | WRITABLE);
        let mut current = self.readiness.load(Acquire);
        loop {
            if current & TICK_MASK != event.tick {
                return;
            }
            let next = current & !clear;
            match self
                .readiness
                .compare_exchange_weak(current, next, AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// The reactor shut down: from now on every wait is ready at once with [`SHUTDOWN`] set,
    /// and the current waiters are woken to see it.
    pub(crate) fn shutdown(&self) {
        self.readiness.fetch_or(SHUTDOWN, AcqRel);
        self.wake_all();
    }

    /// Wakes every waiter.
    fn wake_all(&self) {
        let (readers, writers) = {
            let mut waiters = lock(&self.waiters);
            (
                std::mem::take(&mut waiters.readers),
                std::mem::take(&mut waiters.writers),
            )
        };
        readers.into_iter().chain(writers).for_each(Waker::wake);
    }
}
