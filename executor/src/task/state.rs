//! The task state word: lifecycle bits and a reference count in one `AtomicUsize`.
//!
//! | bit            | meaning                                                            |
//! |----------------|--------------------------------------------------------------------|
//! | `RUNNING`      | the runner (or the shutdown path) owns the future's stage          |
//! | `COMPLETE`     | the future is gone; the stage holds the output (or nothing)        |
//! | `NOTIFIED`     | the task is in its scheduler's run queue, or will be put there by  |
//! |                | the thread that set the bit (or, while `RUNNING`, by the runner)   |
//! | `CANCELLED`    | abort or shutdown asked the task to stop; the next run drops it    |
//! | `JOIN_INTEREST`| the `JoinHandle` exists; it owns the output once `COMPLETE`        |
//! | `JOIN_WAKER`   | the join-waker slot holds a waker that the runtime may read        |
//! | `REBIND`       | the scheduler changed what the task belongs to while it was        |
//! |                | running or notified: the holder of `RUNNING` must call             |
//! |                | `Schedule::rebind` before giving `RUNNING` up                      |
//! | refs (rest)    | references: the `JoinHandle`, the scheduler (hue: the color's      |
//! |                | member list), one per queued                                       |
//! |                | notification, one per `Waker`                                      |
//!
//! Every transition is one atomic read-modify-write returning a `#[must_use]` value that says
//! what the caller must do next (the shape of tokio's `state.rs`). Ownership rules:
//! - The stage (future / output) is touched only by the holder of `RUNNING`, or, once
//!   `COMPLETE`, by the `JoinHandle` if `JOIN_INTEREST` was set when `COMPLETE` was set, else by
//!   the completer.
//! - The join-waker slot is written only by the `JoinHandle` while `JOIN_WAKER` is clear, and
//!   read by the runtime only while it is set; after completion the side that clears or sees
//!   the bit clear last drops the waker.
//! - The scheduler's part of the task is read or written only by a thread that holds the right
//!   to schedule or run the task: the runner, or the thread whose transition returned `Submit`.

use crate::loom::atomic::{AtomicUsize, Ordering::*};

const RUNNING: usize = 0b00_0001;
const COMPLETE: usize = 0b00_0010;
const NOTIFIED: usize = 0b00_0100;
const CANCELLED: usize = 0b00_1000;
const JOIN_INTEREST: usize = 0b01_0000;
const JOIN_WAKER: usize = 0b10_0000;
const REBIND: usize = 0b100_0000;
const REF_SHIFT: usize = 7;
const REF_ONE: usize = 1 << REF_SHIFT;

/// A new task: referenced by its `JoinHandle`, its scheduler and its first notification (it
/// is queued at once).
const INITIAL: usize = (3 * REF_ONE) | JOIN_INTEREST | NOTIFIED;

pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn is_rebind(self) -> bool {
        self.0 & REBIND != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
    fn is_idle(self) -> bool {
        self.0 & (RUNNING | COMPLETE) == 0
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("rebind", &self.is_rebind())
            .field("refs", &self.ref_count())
            .finish()
    }
}

/// What the runner must do after taking a notified task from its run queue.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToRunning {
    /// Poll the future.
    Success,
    /// Drop the future and complete with a cancelled `JoinError`.
    Cancelled,
    /// Not runnable (complete, or owned elsewhere); the notification's ref was dropped.
    Failed,
    /// As `Failed`, and that was the last reference: deallocate.
    Dealloc,
}

/// What the runner must do after a poll returned `Pending`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToIdle {
    /// Idle; the runner's reference was dropped and others remain.
    Ok,
    /// Woken during the poll: put it back at the tail of its run queue (the runner's
    /// reference becomes the notification's).
    OkNotified,
    /// Idle and that was the last reference: deallocate.
    OkDealloc,
    /// Aborted during the poll: still `RUNNING`; drop the future and complete.
    Cancelled,
    /// `REBIND` is set: still `RUNNING`, nothing changed; call `Schedule::rebind`, then try
    /// again.
    Rebind,
}

/// What [`State::try_claim`] did.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The task is complete: nothing to claim.
    Complete,
    /// The task was idle (neither running nor notified): the caller now holds `RUNNING` and a
    /// reference, and gives both back with [`State::release_claim`]. No notification exists
    /// while it holds them.
    Claimed,
    /// The task is running or notified: `REBIND` is set, and whoever holds (or next takes)
    /// `RUNNING` calls `Schedule::rebind` before giving it up.
    Flagged,
}

/// What a waker must do.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToNotified {
    /// Nothing: already queued, running (the runner will requeue), or finished.
    DoNothing,
    /// Give the task to its scheduler, with the reference this transition produced.
    Submit,
    /// (by value only) the waker's reference was the last one: deallocate.
    Dealloc,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// Applies `f` in a CAS loop; `f` returns the action and the new word, or `None` to leave
    /// the word unchanged.
    fn fetch_update_action<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (action, next) = f(curr);
            let Some(next) = next else { return action };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return action,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// The runner took the task from its run queue (it holds the notification's ref).
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.fetch_update_action(|s| {
            debug_assert!(
                s.is_notified(),
                "running a task that was not notified: {s:?}"
            );
            let mut next = s.0;
            if !s.is_idle() {
                next -= REF_ONE;
                let action = if Snapshot(next).ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                return (action, Some(Snapshot(next)));
            }
            next = (next | RUNNING) & !NOTIFIED;
            let action = if s.is_cancelled() {
                TransitionToRunning::Cancelled
            } else {
                TransitionToRunning::Success
            };
            (action, Some(Snapshot(next)))
        })
    }

    /// The poll returned `Pending`.
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.fetch_update_action(|s| {
            debug_assert!(s.is_running());
            if s.is_rebind() {
                return (TransitionToIdle::Rebind, None);
            }
            if s.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            let mut next = s.0 & !RUNNING;
            if s.is_notified() {
                return (TransitionToIdle::OkNotified, Some(Snapshot(next)));
            }
            next -= REF_ONE;
            let action = if Snapshot(next).ref_count() == 0 {
                TransitionToIdle::OkDealloc
            } else {
                TransitionToIdle::Ok
            };
            (action, Some(Snapshot(next)))
        })
    }

    /// The future finished (or was dropped): `RUNNING` -> `COMPLETE`. Returns the new word.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        Snapshot(prev.0 ^ (RUNNING | COMPLETE))
    }

    /// After waking the join waker on completion, hand the slot back. Returns the new word: if
    /// `JOIN_INTEREST` is gone, the handle was dropped meanwhile and the runtime drops the waker.
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel));
        debug_assert!(prev.is_complete() && prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    /// `wake_by_ref`: does not consume a reference.
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.fetch_update_action(|s| {
            if s.is_complete() || s.is_notified() {
                (TransitionToNotified::DoNothing, None)
            } else if s.is_running() {
                (
                    TransitionToNotified::DoNothing,
                    Some(Snapshot(s.0 | NOTIFIED)),
                )
            } else {
                (
                    TransitionToNotified::Submit,
                    Some(Snapshot((s.0 | NOTIFIED) + REF_ONE)),
                )
            }
        })
    }

    /// `wake`: consumes the waker's reference (which becomes the notification's on `Submit`).
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.fetch_update_action(|s| {
            if s.is_running() {
                // The runner holds a reference, so this cannot be the last one.
                let next = (s.0 | NOTIFIED) - REF_ONE;
                (TransitionToNotified::DoNothing, Some(Snapshot(next)))
            } else if s.is_complete() || s.is_notified() {
                let next = s.0 - REF_ONE;
                let action = if Snapshot(next).ref_count() == 0 {
                    TransitionToNotified::Dealloc
                } else {
                    TransitionToNotified::DoNothing
                };
                (action, Some(Snapshot(next)))
            } else {
                (TransitionToNotified::Submit, Some(Snapshot(s.0 | NOTIFIED)))
            }
        })
    }

    /// `abort`: mark cancelled; returns `Submit` if the caller must queue the task so that its
    /// runner drops the future (with the reference this produced).
    pub(crate) fn transition_to_notified_and_cancel(&self) -> TransitionToNotified {
        self.fetch_update_action(|s| {
            if s.is_complete() || s.is_cancelled() {
                (TransitionToNotified::DoNothing, None)
            } else if s.is_running() || s.is_notified() {
                // The runner, or the run that the queued notification leads to, sees CANCELLED.
                (
                    TransitionToNotified::DoNothing,
                    Some(Snapshot(s.0 | CANCELLED | NOTIFIED)),
                )
            } else {
                (
                    TransitionToNotified::Submit,
                    Some(Snapshot((s.0 | CANCELLED | NOTIFIED) + REF_ONE)),
                )
            }
        })
    }

    /// Shutdown: mark cancelled and, if the task is idle, take `RUNNING` so the caller may drop
    /// the future. Returns whether it did.
    #[must_use]
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.fetch_update_action(|s| {
            let idle = s.is_idle();
            let mut next = s.0 | CANCELLED;
            if idle {
                next |= RUNNING;
            }
            (idle, Some(Snapshot(next)))
        })
    }

    /// The scheduler wants to change what the task belongs to. If the task is idle, take
    /// `RUNNING` (and a reference) so the caller may do it now; if it is running or notified,
    /// leave it to the holder of `RUNNING` (set `REBIND`).
    pub(crate) fn try_claim(&self) -> Claim {
        self.fetch_update_action(|s| {
            if s.is_complete() {
                (Claim::Complete, None)
            } else if s.is_running() || s.is_notified() {
                (Claim::Flagged, Some(Snapshot(s.0 | REBIND)))
            } else {
                (Claim::Claimed, Some(Snapshot((s.0 | RUNNING) + REF_ONE)))
            }
        })
    }

    /// Gives back a [`Claim::Claimed`]. Returns `true` if the task was woken (or aborted)
    /// meanwhile: the claim's reference became that notification's, and the caller queues
    /// the task. `false`: the reference was dropped (it was not the last: the scheduler holds
    /// one).
    #[must_use]
    pub(crate) fn release_claim(&self) -> bool {
        self.fetch_update_action(|s| {
            debug_assert!(s.is_running() && !s.is_complete());
            let next = s.0 & !RUNNING;
            if s.is_notified() {
                (true, Some(Snapshot(next)))
            } else {
                debug_assert!(s.ref_count() >= 2);
                (false, Some(Snapshot(next - REF_ONE)))
            }
        })
    }

    /// `Schedule::rebind` did what `REBIND` asked for.
    pub(crate) fn clear_rebind(&self) {
        self.val.fetch_and(!REBIND, AcqRel);
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Drops one reference; returns whether it was the last.
    #[must_use]
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= 1);
        prev.ref_count() == 1
    }

    /// Drops two references at once; returns whether they were the last.
    #[must_use]
    pub(crate) fn ref_dec_twice(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(2 * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= 2);
        prev.ref_count() == 2
    }

    /// `JoinHandle::poll` wants to (re)place the join waker: clear `JOIN_WAKER` unless the task
    /// is complete. `Err` (with the word) when complete.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update_action(|s| {
            debug_assert!(s.is_join_interested() && s.is_join_waker_set());
            if s.is_complete() {
                (Err(s), None)
            } else {
                let next = Snapshot(s.0 & !JOIN_WAKER);
                (Ok(next), Some(next))
            }
        })
    }

    /// `JoinHandle::poll` stored a waker: set `JOIN_WAKER` unless the task is complete.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update_action(|s| {
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                (Err(s), None)
            } else {
                let next = Snapshot(s.0 | JOIN_WAKER);
                (Ok(next), Some(next))
            }
        })
    }

    /// The `JoinHandle` is dropped. Clears `JOIN_INTEREST`, and `JOIN_WAKER` too unless the task
    /// is complete (then the runtime may be reading the waker; it clears the bit itself).
    /// Returns (previous, next).
    pub(crate) fn transition_to_join_handle_dropped(&self) -> (Snapshot, Snapshot) {
        self.fetch_update_action(|s| {
            debug_assert!(s.is_join_interested());
            let mut next = s.0 & !JOIN_INTEREST;
            if !s.is_complete() {
                next &= !JOIN_WAKER;
            }
            ((s, Snapshot(next)), Some(Snapshot(next)))
        })
    }
}
