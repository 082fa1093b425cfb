//! [`Interval`]: ticks at a period, with tokio's [`MissedTickBehavior`]s.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use super::sleep::{sleep_until, Sleep, FAR};
use super::Instant;

/// How late a tick may be before it counts as missed (tokio's figure): below this, the next
/// tick is simply one period after the scheduled one, whatever the behavior.
const MISSED_AFTER: Duration = Duration::from_millis(5);

/// An [`Interval`] that ticks at once, then every `period`.
///
/// The first tick completes immediately; later ones at `start + n * period`, with missed
/// ticks handled as [`MissedTickBehavior::Burst`] (the default; see
/// [`Interval::set_missed_tick_behavior`]). Periods longer than about 30 years are clamped.
///
/// # Panics
///
/// If `period` is zero (`` `period` must be non-zero. ``), or outside a hue runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hue_reactor::time::interval;
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let mut ticks = interval(Duration::from_millis(10));
///     let first = ticks.tick().await; // at once
///     let second = ticks.tick().await; // 10 ms later
///     assert_eq!(second - first, Duration::from_millis(10));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    interval_at(Instant::now(), period)
}

/// An [`Interval`] whose first tick is at `start`, then every `period`.
///
/// # Panics
///
/// If `period` is zero (`` `period` must be non-zero. ``), or outside a hue runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hue_reactor::time::{interval_at, Instant};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let start = Instant::now() + Duration::from_millis(20);
///     let mut ticks = interval_at(start, Duration::from_millis(5));
///     assert_eq!(ticks.tick().await, start);
///     assert!(Instant::now() >= start);
///     assert_eq!(ticks.tick().await, start + Duration::from_millis(5));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval {
        delay: sleep_until(start),
        period: period.min(FAR),
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when a tick is missed: when [`tick`](Interval::tick) is called
/// more than 5 ms after the tick was due (the task was busy, or the runtime was), exactly as
/// tokio's `MissedTickBehavior`.
///
/// With a period of 10 ms, ticks due at 0, 10, 20, ... and a `tick()` that is called only at
/// 35 ms: the tick due at 10 ms completes at once at 35 ms, and then
///
/// - `Burst` (the default): the ticks due at 20 and 30 complete at once, then 40, 50, ...:
///   every tick is kept, on its original schedule.
/// - `Delay`: the next tick is at 45 (35 + 10), then 55, 65, ...: the schedule restarts from
///   when the missed tick was seen; ticks are never closer than a period.
/// - `Skip`: the next tick is at 40, the next multiple of the period from the start, then
///   50, ...: the missed ticks are dropped and the original schedule kept.
///
/// ```text
/// Expected ticks: |     1     |     2     |     3     |     4     |     5     |     6     |
/// Burst:          | work -----|          delay          | work | work | work -| work -----|
/// Delay:          | work -----|          delay          | work -----| work -----| work -----|
/// Skip:           | work -----|          delay          | work ---| work -----| work -----|
/// ```
///
/// ```
/// use std::time::Duration;
/// use hue_reactor::time::{interval, MissedTickBehavior};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let mut ticks = interval(Duration::from_millis(10));
///     ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
///     let start = ticks.tick().await;
///     std::thread::sleep(Duration::from_millis(35)); // misses the ticks at 10, 20, 30
///     let late = ticks.tick().await; // the tick due at 10, at once
///     assert_eq!(late, start + Duration::from_millis(10));
///     let next = ticks.tick().await; // a full period after `late` was seen
///     assert!(next >= start + Duration::from_millis(45));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MissedTickBehavior {
    /// Tick as fast as possible until caught up: every missed tick completes at once, and
    /// the ticks keep their original schedule (`start + n * period`).
    #[default]
    Burst,
    /// Restart the schedule from now: the next tick is one period after the call that saw
    /// the missed tick; ticks are no longer multiples of the period from `start`.
    Delay,
    /// Drop the missed ticks: the next tick is the next multiple of the period from `start`
    /// that is after now.
    Skip,
}

impl MissedTickBehavior {
    /// The tick after `missed` (due then, seen at `now`).
    fn next_timeout(self, missed: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => missed + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let behind = (now - missed).as_nanos() % period.as_nanos();
                let behind =
                    Duration::from_nanos(u64::try_from(behind).expect(
                        "too much time has elapsed since the interval was supposed to tick",
                    ));
                now + (period - behind)
            }
        }
    }
}

/// Ticks at a period: made by [`interval`] and [`interval_at`].
///
/// [`tick`](Interval::tick) returns the instant the tick was *scheduled* for (never after
/// the moment it completes: timers are never early). The timer lives in the reactor only
/// while a `tick` is pending; dropping the `Interval` (or the `tick` future) cancels it.
///
/// ```
/// use std::time::Duration;
/// use hue_reactor::time::interval;
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let mut ticks = interval(Duration::from_millis(2));
///     for _ in 0..3 {
///         ticks.tick().await;
///     }
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Interval {
    /// Completes at the next tick's scheduled instant (its deadline).
    delay: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// Cancel-safe: dropping the future before it completes loses no tick.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::{interval, Instant};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut ticks = interval(Duration::from_millis(5));
    ///     let first = ticks.tick().await;
    ///     let second = ticks.tick().await;
    ///     assert_eq!(second, first + Duration::from_millis(5));
    ///     assert!(Instant::now() >= second);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: `Ready` with the instant it was scheduled for, or `Pending`
    /// (the waker of `cx` is woken at the tick). For hand-written futures and streams.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::time::Duration;
    /// use hue_reactor::time::interval;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut ticks = interval(Duration::from_millis(3));
    ///     let first = poll_fn(|cx| ticks.poll_tick(cx)).await;
    ///     let second = poll_fn(|cx| ticks.poll_tick(cx)).await;
    ///     assert_eq!(second - first, Duration::from_millis(3));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.delay).poll(cx));
        let scheduled = self.delay.deadline();
        let now = Instant::now();
        let next = if now > scheduled + MISSED_AFTER {
            self.missed_tick_behavior
                .next_timeout(scheduled, now, self.period)
        } else {
            scheduled + self.period
        };
        // Registered by the next poll.
        self.delay.reset_lazily(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::{interval, Instant};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut ticks = interval(Duration::from_millis(5));
    ///     ticks.tick().await;
    ///     let now = Instant::now();
    ///     ticks.reset();
    ///     assert!(ticks.tick().await >= now + Duration::from_millis(5));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset(&mut self) {
        self.reset_at(Instant::now() + self.period);
    }

    /// Restarts the schedule: the next tick completes at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::interval;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut ticks = interval(Duration::from_secs(60));
    ///     ticks.tick().await;
    ///     ticks.reset_immediately();
    ///     ticks.tick().await; // not a minute later
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// Restarts the schedule: the next tick is `after` from now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::{interval, Instant};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut ticks = interval(Duration::from_secs(60));
    ///     ticks.tick().await;
    ///     let now = Instant::now();
    ///     ticks.reset_after(Duration::from_millis(3));
    ///     assert!(ticks.tick().await >= now + Duration::from_millis(3));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(Instant::now() + after.min(FAR));
    }

    /// Restarts the schedule: the next tick is at `deadline`, then every period.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::{interval, Instant};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut ticks = interval(Duration::from_secs(60));
    ///     ticks.tick().await;
    ///     let at = Instant::now() + Duration::from_millis(4);
    ///     ticks.reset_at(at);
    ///     assert_eq!(ticks.tick().await, at);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset_at(&mut self, deadline: Instant) {
        Pin::new(&mut self.delay).reset(deadline);
    }

    /// What this interval does when a tick is missed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::{interval, MissedTickBehavior};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let ticks = interval(Duration::from_millis(10));
    ///     assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what this interval does when a tick is missed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::{interval, MissedTickBehavior};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut ticks = interval(Duration::from_millis(10));
    ///     ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ///     assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Skip);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// The period.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::interval;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     assert_eq!(interval(Duration::from_millis(7)).period(), Duration::from_millis(7));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_timeout_follows_tokio() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let period = ms(10);
        // The tick due at 10 is seen at 35.
        let (missed, now) = (start + ms(10), start + ms(35));
        assert_eq!(
            MissedTickBehavior::Burst.next_timeout(missed, now, period),
            start + ms(20)
        );
        assert_eq!(
            MissedTickBehavior::Delay.next_timeout(missed, now, period),
            start + ms(45)
        );
        assert_eq!(
            MissedTickBehavior::Skip.next_timeout(missed, now, period),
            start + ms(40)
        );
        // Seen exactly on a multiple: Skip goes to the next one.
        assert_eq!(
            MissedTickBehavior::Skip.next_timeout(missed, start + ms(30), period),
            start + ms(40)
        );
    }
}
