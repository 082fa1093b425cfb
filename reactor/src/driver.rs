//! The reactor: the [`Driver`] an idle worker runs.
//!
//! One [`Reactor`] per runtime. It owns a mio `Poll` (behind a mutex: the executor calls
//! `park` from one worker at a time, so the mutex is never contended for long), a mio `Waker`
//! for [`unpark`](Driver::unpark), a table of registered sources, and the timers.
//!
//! `park(timeout)`:
//! 1. the timers bound the wait by their next deadline (and note until when the driver
//!    sleeps, so a new earlier timer interrupts it);
//! 2. `epoll_wait` (mio);
//! 3. each event sets its source's readiness and the waiting tasks' wakers are collected;
//! 4. due timers fire; then every collected waker is woken, with no reactor lock held.
//!
//! Waking only puts tasks in their colors' queues; the executor unparks workers for them. No
//! thread besides the workers exists for I/O.
//!
//! **Sources** live in a slab: a mio token is the slot index and a generation, so an event
//! still queued for a source that was deregistered (and whose slot was reused) is recognised
//! and dropped: it wakes nothing by mistake.
//!
//! **Finding the reactor.** A runtime built without a driver gets this one the first time a
//! socket or timer is made in it ([`hue_executor::Handle::driver_or_try_init`]); from then on
//! an idle worker parks in `epoll_wait` instead of on its condvar.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

use hue_executor::{Driver, Handle};
use mio::{Events, Interest, Token};

use crate::io::scheduled_io::{ScheduledIo, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};
use crate::time::Timers;
use hue_executor::sync::lock;

thread_local! {
    /// Set while this thread, inside `park`, wakes the tasks whose events fired.
    static WAKING: Cell<bool> = const { Cell::new(false) };
}

/// The token of the reactor's own mio waker.
const WAKER_TOKEN: Token = Token(usize::MAX);

/// Events fetched per `epoll_wait`.
const EVENTS_CAPACITY: usize = 1024;

/// hue's I/O and timer driver (see the module docs).
///
/// Runtimes get one automatically when they first need it. To give a runtime its reactor up
/// front (so the first socket does not pay for creating it), install it on the builder:
///
/// ```
/// use std::sync::Arc;
/// use hue_reactor::Reactor;
///
/// let rt = hue_executor::Runtime::builder()
///     .workers(2)
///     .driver(Arc::new(Reactor::new()?))
///     .build()?;
/// rt.block_on(async { hue_reactor::time::sleep(std::time::Duration::from_millis(1)).await });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Reactor {
    poll: Mutex<PollState>,
    registry: mio::Registry,
    waker: mio::Waker,
    sources: Mutex<Slab>,
    /// The turn of the driver, stamped on readiness (see `ScheduledIo::clear`).
    tick: AtomicU8,
    pub(crate) timers: Timers,
}

struct PollState {
    poll: mio::Poll,
    events: Events,
    wake: Vec<Waker>,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &lock(&self.sources).len)
            .finish_non_exhaustive()
    }
}

impl Reactor {
    /// Creates a reactor (an epoll instance and an eventfd).
    ///
    /// # Errors
    ///
    /// The OS error if either cannot be created (for example `EMFILE`).
    pub fn new() -> io::Result<Reactor> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(&registry, WAKER_TOKEN)?;
        let shards = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Reactor {
            poll: Mutex::new(PollState {
                poll,
                events: Events::with_capacity(EVENTS_CAPACITY),
                wake: Vec::new(),
            }),
            registry,
            waker,
            sources: Mutex::new(Slab::default()),
            tick: AtomicU8::new(0),
            timers: Timers::new(shards),
        })
    }

    /// The reactor of the runtime this thread is in, installing one if the runtime has none.
    pub(crate) fn current() -> io::Result<Arc<Reactor>> {
        let driver = match hue_executor::current_driver() {
            Some(driver) => driver,
            None => {
                let handle = Handle::try_current().ok_or_else(|| {
                    io::Error::other(
                        "hue: no runtime here: sockets and timers must be made inside a hue \
                         runtime (a task, block_on, or spawn_blocking)",
                    )
                })?;
                handle.driver_or_try_init(|| Ok(Arc::new(Reactor::new()?)))?
            }
        };
        let driver: Arc<dyn Any + Send + Sync> = driver;
        driver.downcast::<Reactor>().map_err(|_| {
            io::Error::other(
                "hue: this runtime's driver is not hue's reactor (a custom Builder::driver), \
                 so it has no sockets or timers",
            )
        })
    }

    /// Like [`current`](Self::current), panicking with the error's message (for APIs that
    /// cannot return an error, like `sleep`).
    pub(crate) fn current_or_panic() -> Arc<Reactor> {
        match Reactor::current() {
            Ok(reactor) => reactor,
            Err(err) => panic!("{err}"),
        }
    }

    /// Interrupts the current `epoll_wait` (or makes the next one return at once). A no-op on
    /// the thread that is inside `park`, waking the tasks of its events: it is not waiting.
    pub(crate) fn unpark(&self) {
        if WAKING.with(Cell::get) {
            return;
        }
        // A failed eventfd write means the counter is saturated: the poll will return anyway.
        let _ = self.waker.wake();
    }

    /// Registers `source` for `interest`; returns its readiness and its key in the table.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        interest: Interest,
    ) -> io::Result<(Arc<ScheduledIo>, usize)> {
        let io = Arc::new(ScheduledIo::new());
        let token = {
            let mut sources = lock(&self.sources);
            if sources.shut_down {
                return Err(io::Error::other(
                    "hue: cannot register a socket: the runtime has shut down",
                ));
            }
            sources.insert(io.clone())
        };
        if let Err(err) = self.registry.register(source, Token(token), interest) {
            lock(&self.sources).remove(token);
            return Err(err);
        }
        Ok((io, token))
    }

    /// Deregisters `source` and frees its slot (events still queued for it are dropped).
    pub(crate) fn deregister(
        &self,
        source: &mut impl mio::event::Source,
        token: usize,
    ) -> io::Result<()> {
        let result = self.registry.deregister(source);
        lock(&self.sources).remove(token);
        result
    }

    /// One turn: wait for events (at most `timeout`), set readiness, fire timers, wake.
    fn turn(&self, timeout: Option<Duration>) {
        let mut state = lock(&self.poll);
        let PollState { poll, events, wake } = &mut *state;
        let timeout = self.timers.before_park(Instant::now(), timeout);
        if let Err(err) = poll.poll(events, timeout) {
            // EINTR: a signal; return and let the worker come back.
            if err.kind() != io::ErrorKind::Interrupted {
                eprintln!("hue: epoll_wait failed: {err}");
            }
        }
        let tick = self.tick.load(Relaxed).wrapping_add(1);
        self.tick.store(tick, Relaxed);
        if !events.is_empty() {
            let sources = lock(&self.sources);
            for event in events.iter() {
                if event.token() == WAKER_TOKEN {
                    continue;
                }
                let Some(io) = sources.get(event.token().0) else {
                    continue;
                };
                let mut ready = 0;
                if event.is_readable() {
                    ready |= READABLE;
                }
                if event.is_writable() {
                    ready |= WRITABLE;
                }
                if event.is_read_closed() {
                    ready |= READ_CLOSED;
                }
                if event.is_write_closed() {
                    ready |= WRITE_CLOSED;
                }
                if event.is_error() {
                    // Let both directions try their operation and see the error.
                    ready |= READABLE | WRITABLE;
                }
                io.set_readiness(ready, tick, wake);
            }
        }
        self.timers.after_park(Instant::now(), wake);
        // Waking may schedule tasks and unpark workers: do it with no reactor lock held but
        // the poll state's (only this thread polls, and the buffer is reused). A wake that
        // targets this very thread (its worker is the one parked here) asks to unpark the
        // driver: it is awake already, so `unpark` skips the eventfd write that would make the
        // next `epoll_wait` return at once for nothing.
        struct Waking;
        impl Drop for Waking {
            fn drop(&mut self) {
                // Also on unwind (a waker that panics), or this thread's later unparks of a
                // driver parked by another worker would be skipped.
                WAKING.with(|w| w.set(false));
            }
        }
        WAKING.with(|w| w.set(true));
        let _waking = Waking;
        for waker in wake.drain(..) {
            waker.wake();
        }
    }
}

impl Driver for Reactor {
    fn park(&self, timeout: Option<Duration>) {
        self.turn(timeout);
    }

    fn unpark(&self) {
        Reactor::unpark(self);
    }

    /// Every registered source's waits end with an error, now and from now on, and no new
    /// source can register: a socket that outlived its runtime fails instead of hanging.
    fn shutdown(&self) {
        let sources: Vec<Arc<ScheduledIo>> = {
            let mut table = lock(&self.sources);
            table.shut_down = true;
            table.slots.iter().filter_map(|s| s.io.clone()).collect()
        };
        for io in sources {
            io.shutdown();
        }
        self.timers.shutdown();
    }
}

/// The table of registered sources: slot index in the low 32 bits of a token, the slot's
/// generation in the high bits.
#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
    len: usize,
    /// Set by `Driver::shutdown`: no more registrations.
    shut_down: bool,
}

struct Slot {
    generation: u32,
    io: Option<Arc<ScheduledIo>>,
}

impl Slab {
    fn insert(&mut self, io: Arc<ScheduledIo>) -> usize {
        self.len += 1;
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.slots.len()).expect("fewer than 2^32 sources");
                self.slots.push(Slot {
                    generation: 0,
                    io: None,
                });
                index
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.io = Some(io);
        (slot.generation as usize) << 32 | index as usize
    }

    fn get(&self, token: usize) -> Option<&Arc<ScheduledIo>> {
        let slot = self.slots.get(token & 0xFFFF_FFFF)?;
        if slot.generation as usize != token >> 32 {
            return None;
        }
        slot.io.as_ref()
    }

    fn remove(&mut self, token: usize) {
        let index = token & 0xFFFF_FFFF;
        if self.get(token).is_none() {
            return;
        }
        let slot = &mut self.slots[index];
        slot.io = None;
        slot.generation = slot.generation.wrapping_add(1);
        self.len -= 1;
        self.free.push(index as u32);
    }
}
