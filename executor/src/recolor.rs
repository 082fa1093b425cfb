//! Recoloring (S6): [`recolor`] moves the running task to another color; [`in_color`] runs a
//! future in a color and then moves back.
//!
//! A move is a yield: the task asks its runner (through the thread's scheduler context) to move
//! it after this poll, wakes itself and returns `Pending`; the runner then takes it out of its
//! color (member list and count), makes it a member of the new color and queues it at the back
//! of that color's queue, like any task that became runnable. So the next poll runs inside the
//! new color's exclusion (S1) and in its FIFO order (S3). No allocation: the task's header
//! points at its color queue and that pointer is what changes.
//!
//! A task is in exactly one color at a time: a critical section is *a stretch of code run in
//! the owning color*, not a lock held alongside the task's own color. Holding two would let
//! programs deadlock, which colors are meant to rule out.
//!
//! `in_color` has a fast path: when the section's color is idle, the section is polled at once,
//! inside the current poll, with that color taken for the moment (see `sched::section` for why
//! S1 and S3 hold and why this cannot deadlock). Only if the section does not finish in that
//! poll does the task move into the color, and back, as above.
//!
//! If one poll asks for two moves (two `recolor` futures polled side by side, e.g. in a
//! `select!`), the last request wins; each future checks on its next poll that the task is
//! where it asked to be, and asks again if not.

use std::any::Any;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::sched::context::running_color as running_color_opt;
use crate::sched::section::{self, Enter, HeldColor};
use crate::Color;

const NOT_IN_A_TASK: &str =
    "recolor/in_color must be awaited inside a hue task or Runtime::block_on's future";

/// Moves the running task to `color` and returns the color it left.
///
/// The task is queued at the back of `color` like any runnable task (S1, S3 hold); the code
/// after the `.await` runs in `color`. Recoloring to the color the task is already in does not
/// yield.
///
/// # Panics
///
/// When polled outside a hue task (or `block_on`'s future).
///
/// # Examples
///
/// ```
/// use hue_executor::{current_color, recolor, Color};
///
/// hue_executor::block_on(async {
///     let shard = Color::new(7);
///     let left = recolor(shard).await;
///     assert_eq!(left, Color::DEFAULT);
///     assert_eq!(current_color(), shard);
///     recolor(left).await;
///     assert_eq!(current_color(), Color::DEFAULT);
/// });
/// ```
pub fn recolor(color: Color) -> Recolor {
    Recolor {
        target: color,
        left: None,
    }
}

/// The future of [`recolor`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Recolor {
    target: Color,
    /// Set once the move was asked for: the color the task was in.
    left: Option<Color>,
}

/// Asks to be moved to `target` after this poll; returns the current color.
fn request(target: Color, cx: &mut Context<'_>) -> Color {
    let current = section::request_recolor(target).expect(NOT_IN_A_TASK);
    cx.waker().wake_by_ref();
    current
}

fn running_color() -> Color {
    running_color_opt().expect(NOT_IN_A_TASK)
}

impl Future for Recolor {
    type Output = Color;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Color> {
        match self.left {
            None => {
                let current = running_color();
                if current == self.target {
                    return Poll::Ready(current);
                }
                let target = self.target;
                self.left = Some(request(target, cx));
                Poll::Pending
            }
            Some(left) => {
                if running_color() == self.target {
                    Poll::Ready(left)
                } else {
                    let target = self.target;
                    request(target, cx);
                    Poll::Pending
                }
            }
        }
    }
}

/// Runs `future` in `color`, then moves the task back to the color it was in.
///
/// This is how a critical section is written: the code that touches state owned by `color`
/// (a [`ColorCell`](crate::ColorCell)) runs in `color`, serialized with every other task of
/// `color`, with no lock. Awaiting inside the section lets other tasks of `color` run in
/// between (S1 excludes simultaneous polls, not interleaving at `.await`s).
///
/// - If `future` panics, the task first moves back, then the panic resumes in the original
///   color (so a `catch_unwind` around `in_color` runs in the color it expects).
/// - If the task is aborted while inside, its future is dropped in `color` (where it is at that
///   moment), and `color` is free for its other tasks at once.
/// - If the task is already in `color`, `future` is simply polled (no yield).
///
/// # Panics
///
/// When polled outside a hue task (or `block_on`'s future); and it resumes `future`'s panics.
///
/// # Examples
///
/// ```
/// use hue_executor::{current_color, in_color, spawn_colored, Color, ColorCell};
/// use std::sync::Arc;
///
/// hue_executor::block_on(async {
///     let accounts = Color::of(&"accounts");
///     let balance = Arc::new(ColorCell::new(accounts, 100u64));
///     let mut clients = Vec::new();
///     for _ in 0..10 {
///         let balance = balance.clone();
///         clients.push(spawn_colored(Color::fresh(), async move {
///             let mine = current_color();
///             in_color(accounts, async { balance.with(|b| *b -= 1) }).await;
///             assert_eq!(current_color(), mine); // back home
///         }));
///     }
///     for c in clients {
///         c.await.unwrap();
///     }
///     in_color(accounts, async { assert_eq!(balance.with(|b| *b), 90) }).await;
/// });
/// ```
pub fn in_color<F: Future>(color: Color, future: F) -> InColor<F> {
    InColor {
        future: Some(future),
        target: color,
        state: State::Start,
        retries: 0,
    }
}

/// The future of [`in_color`].
#[must_use = "futures do nothing unless awaited"]
pub struct InColor<F: Future> {
    /// `None` once finished: dropped in place, inside `target`.
    future: Option<F>,
    target: Color,
    state: State<F::Output>,
    /// Times the section found its color busy and yielded (see `sched::section::INLINE_RETRIES`).
    retries: u8,
}

enum State<T> {
    Start,
    /// Already in the color: just poll.
    Direct,
    /// Asked to move to the color; `back` holds the color to return to.
    Entering {
        back: HeldColor,
    },
    Inside {
        back: HeldColor,
    },
    /// Finished inside; asked to move back.
    Leaving {
        back: HeldColor,
        result: Result<T, Box<dyn Any + Send>>,
    },
    Done,
}

impl<F: Future> std::fmt::Debug for InColor<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InColor")
            .field("color", &self.target)
            .finish_non_exhaustive()
    }
}

/// Asks to be moved back to the held color after this poll.
fn ask_return(back: &HeldColor, cx: &mut Context<'_>) {
    section::request_return(back).expect(NOT_IN_A_TASK);
    cx.waker().wake_by_ref();
}

impl<F: Future> InColor<F> {
    /// Leaves for the section's color, keeping the way back (and the color's queue); asks for
    /// the move unless it was asked for already.
    fn enter(&mut self, cx: &mut Context<'_>, request_move: bool) -> Poll<F::Output> {
        let back = section::hold_current_color().expect(NOT_IN_A_TASK);
        if request_move {
            request(self.target, cx);
        } else {
            cx.waker().wake_by_ref();
        }
        self.state = State::Entering { back };
        Poll::Pending
    }

    /// Polls the section once, catching a panic. When it is done (output or panic), drops its
    /// future right here, still inside the section's color (its drop code may touch the
    /// color's state); a panicking drop is reported like a panicking poll. `None`: pending.
    ///
    /// # Safety
    /// `self` is pinned: `future` is structurally pinned (see `poll`).
    unsafe fn poll_section(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Option<Result<F::Output, Box<dyn Any + Send>>> {
        let future = self
            .future
            .as_mut()
            .expect("InColor polled after completion");
        let polled = panic::catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: pinned, by the caller's contract.
            unsafe { Pin::new_unchecked(future) }.poll(cx)
        }));
        let result = match polled {
            Ok(Poll::Pending) => return None,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(payload),
        };
        let dropped = panic::catch_unwind(AssertUnwindSafe(|| self.future = None));
        Some(match (result, dropped) {
            (Ok(_), Err(payload)) => Err(payload),
            (result, _) => result,
        })
    }
}

impl<F: Future> Future for InColor<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self` (only
        // polled through a pinned reference and dropped in place by setting it to `None`);
        // the other fields are not pinned and are only assigned.
        let this = unsafe { self.get_unchecked_mut() };
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Start => {
                    match section::enter_section(
                        this.target,
                        this.retries < section::INLINE_RETRIES,
                    ) {
                        Enter::Retry => {
                            // The color is busy for a moment: let this worker run other tasks.
                            this.retries += 1;
                            this.state = State::Start;
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                        Enter::Outside => panic!("{NOT_IN_A_TASK}"),
                        Enter::Here => this.state = State::Direct,
                        Enter::Inline(inline) => {
                            // Fast path: the color was idle, so it is taken inside this poll (see
                            // `sched::section`); if the section finishes now, no move at all.
                            // SAFETY: `self` is pinned (see above).
                            let polled = unsafe { this.poll_section(cx) };
                            // Give the color back; if the section is not done, the task moves into
                            // the color the ordinary way and the section resumes there.
                            drop(inline);
                            match polled {
                                None => return this.enter(cx, true),
                                Some(Ok(output)) => return Poll::Ready(output),
                                // Back in the original color already: resume here.
                                Some(Err(payload)) => panic::resume_unwind(payload),
                            }
                        }
                        // The move into it was asked for already.
                        Enter::Busy => return this.enter(cx, false),
                        Enter::Move => return this.enter(cx, true),
                    }
                }
                State::Direct => {
                    let future = this
                        .future
                        .as_mut()
                        .expect("InColor polled after completion");
                    // SAFETY: pinned, see above.
                    let polled = unsafe { Pin::new_unchecked(future) }.poll(cx);
                    if polled.is_ready() {
                        this.future = None;
                    } else {
                        this.state = State::Direct;
                    }
                    return polled;
                }
                State::Entering { back } => {
                    if running_color() != this.target {
                        request(this.target, cx);
                        this.state = State::Entering { back };
                        return Poll::Pending;
                    }
                    this.state = State::Inside { back };
                }
                State::Inside { back } => {
                    // SAFETY: `self` is pinned (see above).
                    let Some(result) = (unsafe { this.poll_section(cx) }) else {
                        this.state = State::Inside { back };
                        return Poll::Pending;
                    };
                    ask_return(&back, cx);
                    this.state = State::Leaving { back, result };
                    return Poll::Pending;
                }
                State::Leaving { back, result } => {
                    if running_color() != back.color() {
                        ask_return(&back, cx);
                        this.state = State::Leaving { back, result };
                        return Poll::Pending;
                    }
                    drop(back);
                    match result {
                        Ok(output) => return Poll::Ready(output),
                        Err(payload) => panic::resume_unwind(payload),
                    }
                }
                State::Done => panic!("InColor polled after completion"),
            }
        }
    }
}
