//! `hue::time`: sleep, timeout, interval, through the facade.
//!
//! Every test runs under a watchdog (no test may hang). No test asserts an upper bound on
//! timing (a loaded machine may fire timers late); they assert the order of events, what woke
//! and what did not, and the lower bound that is guaranteed: **a timer never fires before its
//! deadline**.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use hue::time::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, Elapsed, Instant,
    MissedTickBehavior,
};
use hue::{Color, JoinHandle};

mod common;
use common::{panic_message, runtime, wait_until, watchdog, watchdog_for};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A waker that counts its wakes.
#[derive(Default)]
struct CountWaker(AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Polls `fut` once with `waker`.
fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

// ---------------------------------------------------------------------------------------------
// sleep

#[test]
fn sleeps_complete_in_deadline_order() {
    let _w = watchdog("sleeps_complete_in_deadline_order");
    let rt = runtime(2);
    let done = Arc::new(Mutex::new(Vec::new()));
    // One color: its tasks run one at a time, in the order their timers woke them.
    let color = Color::fresh();
    let start = Instant::now() + ms(20);
    // Spawned in a scrambled order; deadlines 3 ms apart.
    let order: Vec<u64> = (0..30).map(|i| (i * 7) % 30).collect();
    let tasks: Vec<JoinHandle<()>> = order
        .iter()
        .map(|&i| {
            let done = done.clone();
            rt.handle().spawn_colored(color, async move {
                let deadline = start + ms(3 * i);
                sleep_until(deadline).await;
                assert!(Instant::now() >= deadline, "sleep {i} woke early");
                done.lock().unwrap().push(i);
            })
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    let done = done.lock().unwrap();
    assert_eq!(*done, (0..30).collect::<Vec<_>>());
}

#[test]
fn no_timer_fires_early() {
    let _w = watchdog("no_timer_fires_early");
    let rt = runtime(2);
    let early = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<JoinHandle<()>> = (0..400u64)
        .map(|i| {
            let early = early.clone();
            rt.handle().spawn_colored(Color::fresh(), async move {
                // Durations with sub-millisecond parts, so rounding matters.
                let d = Duration::from_micros(i * 97 % 25_000);
                let deadline = Instant::now() + d;
                if i % 2 == 0 {
                    sleep(d).await;
                } else {
                    sleep_until(deadline).await;
                }
                if Instant::now() < deadline {
                    early.fetch_add(1, SeqCst);
                }
                // A timeout that elapses is not early either.
                let deadline = Instant::now() + Duration::from_micros(i * 31 % 5_000 + 1);
                let r = timeout_at(deadline, sleep(Duration::from_secs(3600))).await;
                assert!(r.is_err());
                if Instant::now() < deadline {
                    early.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(early.load(SeqCst), 0, "timers fired before their deadline");
}

#[test]
fn many_sleeps_spread_over_50_ms_all_complete() {
    let _w = watchdog("many_sleeps_spread_over_50_ms_all_complete");
    let rt = runtime(2);
    const N: u64 = 20_000;
    let start = Instant::now();
    let early = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<JoinHandle<()>> = (0..N)
        .map(|i| {
            let early = early.clone();
            rt.handle().spawn(async move {
                let deadline = start + Duration::from_micros(i * 50_000 / N);
                sleep_until(deadline).await;
                if Instant::now() < deadline {
                    early.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(early.load(SeqCst), 0);
}

#[test]
fn zero_and_past_deadlines_complete_at_the_first_poll() {
    let _w = watchdog("zero_and_past_deadlines_complete_at_the_first_poll");
    let rt = runtime(2);
    rt.block_on(async {
        let waker = Waker::from(Arc::new(CountWaker::default()));
        assert!(poll_once(&mut sleep(Duration::ZERO), &waker).is_ready());
        let past = Instant::now();
        thread::sleep(ms(2));
        let mut s = sleep_until(past);
        assert!(poll_once(&mut s, &waker).is_ready());
        assert!(s.is_elapsed());
    });
}

#[test]
fn a_sleep_is_registered_once_and_woken_once() {
    let _w = watchdog("a_sleep_is_registered_once_and_woken_once");
    let rt = runtime(2);
    rt.block_on(async {
        // The mock task is polled here, on the block_on thread, by hand; the workers drive
        // the reactor meanwhile.
        let deadline = Instant::now() + ms(30);
        let mut mock = tokio_test::task::spawn(sleep_until(deadline));
        assert_eq!(mock.waker_ref_count(), 1);
        assert!(mock.poll().is_pending());
        // The wheel holds one clone of the waker.
        assert_eq!(mock.waker_ref_count(), 2);
        assert!(!mock.is_woken());
        // Re-polls with the same waker do not clone it again.
        assert!(mock.poll().is_pending());
        assert!(mock.poll().is_pending());
        assert_eq!(mock.waker_ref_count(), 2);
        wait_until("the sleep's task is woken", || mock.is_woken());
        assert!(Instant::now() >= deadline, "woken before the deadline");
        // Woken: the wheel gave its clone to the wake (dropped just after it).
        wait_until("the wheel's waker is dropped", || {
            mock.waker_ref_count() == 1
        });
        assert!(mock.is_elapsed());
        assert!(mock.poll().is_ready());

        // Exactly one wake, and a waker replaced by a re-poll from another task is the one
        // woken.
        let first = Arc::new(CountWaker::default());
        let second = Arc::new(CountWaker::default());
        let deadline = Instant::now() + ms(20);
        let mut s = sleep_until(deadline);
        assert!(poll_once(&mut s, &Waker::from(first.clone())).is_pending());
        assert!(poll_once(&mut s, &Waker::from(second.clone())).is_pending());
        wait_until("the sleep fires", || s.is_elapsed());
        thread::sleep(ms(20));
        assert_eq!(first.0.load(SeqCst), 0);
        assert_eq!(second.0.load(SeqCst), 1);
        assert!(Instant::now() >= deadline);
        assert!(poll_once(&mut s, &Waker::from(second.clone())).is_ready());
    });
}

#[test]
fn reset_moves_a_registered_timer_and_keeps_its_waker() {
    let _w = watchdog("reset_moves_a_registered_timer_and_keeps_its_waker");
    let rt = runtime(2);
    rt.block_on(async {
        let mut s = sleep(Duration::from_secs(3600));
        let mut polls = 0;
        let deadline = Instant::now() + ms(15);
        // First poll registers the hour-long timer; then the deadline moves while the task
        // waits, without a new poll: the same waker must be woken at the new deadline.
        poll_fn(|cx| {
            polls += 1;
            match polls {
                1 => {
                    assert!(Pin::new(&mut s).poll(cx).is_pending());
                    Pin::new(&mut s).reset(deadline);
                    Poll::Pending
                }
                _ => Pin::new(&mut s).poll(cx),
            }
        })
        .await;
        assert!(Instant::now() >= deadline);
        assert_eq!(s.deadline(), deadline);

        // Reset to a later deadline: not woken at the old one.
        let waker = Arc::new(CountWaker::default());
        let mut s = sleep(ms(5));
        assert!(poll_once(&mut s, &Waker::from(waker.clone())).is_pending());
        let later = Instant::now() + ms(40);
        Pin::new(&mut s).reset(later);
        wait_until("the moved timer fires", || s.is_elapsed());
        assert!(Instant::now() >= later);
        assert_eq!(waker.0.load(SeqCst), 1);

        // A completed sleep reset into the future is pending again.
        assert!(poll_once(&mut s, &Waker::from(waker.clone())).is_ready());
        let again = Instant::now() + ms(5);
        Pin::new(&mut s).reset(again);
        assert!(!s.is_elapsed());
        (&mut s).await;
        assert!(Instant::now() >= again);
    });
}

// ---------------------------------------------------------------------------------------------
// cancel on drop

#[test]
fn dropped_sleeps_never_wake() {
    let _w = watchdog("dropped_sleeps_never_wake");
    let rt = runtime(2);
    /// Registers `n` sleeps due 100 ms from now and after (each with a waker of its own),
    /// drops them, and returns their deadlines, their wake counters and when they were
    /// dropped.
    fn register_and_drop(n: u64) -> (Vec<(Instant, Arc<CountWaker>)>, Instant) {
        let base = Instant::now() + ms(100);
        let (sleeps, wakers): (Vec<_>, Vec<_>) = (0..n)
            .map(|i| {
                let deadline = base + Duration::from_micros(i * 2);
                let wakes = Arc::new(CountWaker::default());
                let mut s = sleep_until(deadline);
                assert!(poll_once(&mut s, &Waker::from(wakes.clone())).is_pending());
                (s, (deadline, wakes))
            })
            .unzip();
        drop(sleeps);
        (wakers, Instant::now())
    }
    let (mut dropped, last_drop) = rt.block_on(async {
        // 10,000 pending sleeps registered and dropped here (shard 0)...
        let (mut all, mut last) = register_and_drop(10_000);
        // ... and more from tasks on the workers (their shards).
        let tasks: Vec<JoinHandle<_>> = (0..4)
            .map(|_| hue::spawn_colored(Color::fresh(), async { register_and_drop(2_500) }))
            .collect();
        for t in tasks {
            let (more, at) = t.await.unwrap();
            all.extend(more);
            last = last.max(at);
        }
        // A later sleep still fires, after every dropped deadline has passed.
        let deadline = all.iter().map(|(d, _)| *d).max().unwrap() + ms(20);
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
        (all, last)
    });
    // Only a sleep whose deadline passed before it was dropped may have woken (on a very slow
    // machine); none of the others.
    dropped.retain(|(deadline, _)| *deadline > last_drop);
    for (deadline, wakes) in &dropped {
        assert_eq!(
            wakes.0.load(SeqCst),
            0,
            "a sleep dropped before {deadline:?} woke"
        );
    }
}

#[test]
fn a_million_pending_sleeps() {
    let _w = watchdog("a_million_pending_sleeps");
    const N: u64 = 1_000_000;
    let rt = runtime(2);
    let wakes = Arc::new(CountWaker::default());
    let waker = Waker::from(wakes.clone());
    // Each round registers N sleeps spread over an hour from one instant taken before the
    // round (1 s to 1 h ahead of it, on levels 1 to 3 of the wheel), then drops them. On a
    // fast machine the registrations take well under a second, so every sleep is pending and
    // none may fire. On a slow one (a sanitizer build) the first deadlines pass while the loop
    // still runs, and those sleeps may rightly complete or fire. So the test does not race on
    // elapsed time; whatever the speed, it checks what the wheel guarantees:
    // - a sleep that is ready at its first poll is past its deadline (none completes early);
    // - a wake comes only from a sleep whose deadline passed before it was dropped: dropped
    //   sleeps are cancelled (one that fires after its drop is a wake too many, caught once
    //   its deadline has passed: see below) and pending ones do not fire before their time.
    // `may_fire` counts the sleeps of each round whose deadline passed before the round's
    // drop ended: the deadlines grow with `i`, so they are a prefix of the round. At the end
    // the test waits until the first 50 ms of the last round's deadlines (and more of the first
    // round's) have passed, so that sleeps a drop failed to cancel have come due and fired.
    let mut may_fire = 0u64;
    let mut completed = 0u64;
    rt.block_on(async {
        let mut last_base = None;
        for round in 0..2u64 {
            let base = Instant::now() + Duration::from_secs(1);
            let deadline = |i: u64| base + Duration::from_micros(i * 3_600 + round);
            let sleeps: Vec<_> = (0..N)
                .map(|i| {
                    let mut s = sleep_until(deadline(i));
                    if poll_once(&mut s, &waker).is_ready() {
                        assert!(
                            Instant::now() >= deadline(i),
                            "round {round}: sleep {i} completed before its deadline"
                        );
                        completed += 1;
                    }
                    s
                })
                .collect();
            drop(sleeps);
            let dropped = Instant::now();
            may_fire += (0..N).take_while(|&i| deadline(i) <= dropped).count() as u64;
            last_base = Some(base);
        }
        // The wheel still works (and fires no sooner than it should).
        let deadline = last_base.unwrap() + ms(50);
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
    });
    let wakes = wakes.0.load(SeqCst) as u64;
    println!(
        "a million pending sleeps: {wakes} wakes, {completed} ready at the first poll, {may_fire} \
         due before their drop (of {})",
        2 * N
    );
    assert!(
        wakes <= may_fire,
        "{wakes} sleeps fired, but only {may_fire} were due before they were dropped"
    );
}

#[test]
fn dropping_a_timeout_cancels_its_timer() {
    let _w = watchdog("dropping_a_timeout_cancels_its_timer");
    let rt = runtime(2);
    let wakes = Arc::new(CountWaker::default());
    let waker = Waker::from(wakes.clone());
    // Each timeout is dropped just after its first poll, about 5 ms before it is due: a timer
    // left armed by the drop fires during the 30 ms sleep after the loop. On a loaded machine
    // the OS may take the thread away for 5 ms between creating a timeout and dropping it;
    // that timeout may then rightly elapse at its poll or fire before its drop. Such timeouts
    // are counted rather than assumed away (on an idle machine there are none): a wake must
    // come from a timeout that was due before it was dropped.
    let mut may_fire = 0;
    rt.block_on(async {
        for _ in 0..1_000 {
            // The timeout is due 5 ms after it is made, so no sooner than 5 ms after this.
            let made = Instant::now();
            let mut t = timeout(ms(5), std::future::pending::<()>());
            if poll_once(&mut t, &waker).is_ready() {
                assert!(Instant::now() >= made + ms(5), "a timeout elapsed early");
            }
            drop(t);
            if Instant::now() >= made + ms(5) {
                may_fire += 1;
            }
        }
        sleep(ms(30)).await;
    });
    let wakes = wakes.0.load(SeqCst);
    assert!(
        wakes <= may_fire,
        "{wakes} dropped timeouts fired, but only {may_fire} were due before their drop"
    );
}

// ---------------------------------------------------------------------------------------------
// timeout

#[test]
fn timeout_elapses_or_not() {
    let _w = watchdog("timeout_elapses_or_not");
    let rt = runtime(2);
    rt.block_on(async {
        let start = Instant::now();
        let r: Result<(), Elapsed> = timeout(ms(10), sleep(Duration::from_secs(3600))).await;
        assert!(start.elapsed() >= ms(10));
        let elapsed = r.unwrap_err();
        assert_eq!(elapsed.to_string(), "deadline has elapsed");
        let err: std::io::Error = elapsed.into();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);

        assert_eq!(timeout(Duration::from_secs(10), sleep(ms(5))).await, Ok(()));
        assert_eq!(timeout(Duration::from_secs(10), async { 3 }).await, Ok(3));
        // Ready at the first poll: completes even with no time at all.
        assert_eq!(timeout(Duration::ZERO, async { 4 }).await, Ok(4));
        assert!(timeout(Duration::ZERO, std::future::pending::<()>())
            .await
            .is_err());

        let deadline = Instant::now() + ms(8);
        let r = timeout_at(deadline, std::future::pending::<()>()).await;
        assert!(r.is_err());
        assert!(Instant::now() >= deadline);
        // Very long durations are fine (clamped, never overflow).
        assert_eq!(timeout(Duration::MAX, async { 5 }).await, Ok(5));
    });
}

#[test]
fn timeout_fires_even_if_the_future_spends_the_budget() {
    let _w = watchdog("timeout_fires_even_if_the_future_spends_the_budget");
    let rt = runtime(2);
    let r = rt.block_on(async {
        hue::spawn_colored(Color::fresh(), async {
            // Always "ready" until the budget is spent, then yields (woken by the budget).
            let busy = poll_fn(|cx| loop {
                match hue::coop::poll_proceed(cx) {
                    Poll::Ready(mut progress) => progress.made_progress(),
                    Poll::Pending => return Poll::<()>::Pending,
                }
            });
            let deadline = Instant::now() + ms(10);
            let r = timeout_at(deadline, busy).await;
            assert!(Instant::now() >= deadline);
            r
        })
        .await
        .unwrap()
    });
    assert!(r.is_err());
}

// ---------------------------------------------------------------------------------------------
// interval

/// Period of the missed-tick tests.
const P: Duration = Duration::from_millis(20);

/// Runs an interval with `behavior` in a task: the first tick, then a stretch that blocks the
/// worker for 3.5 periods (missing ticks 1 to 3), then `n` ticks. Returns the interval's start
/// and, for each later tick, the instant it returned and the instant it was seen.
fn missed_ticks(behavior: MissedTickBehavior, n: usize) -> (Instant, Vec<(Instant, Instant)>) {
    let rt = runtime(2);
    rt.block_on(async move {
        hue::spawn_colored(Color::fresh(), async move {
            let before = Instant::now();
            let mut iv = interval(P);
            iv.set_missed_tick_behavior(behavior);
            assert_eq!(iv.missed_tick_behavior(), behavior);
            assert_eq!(iv.period(), P);
            let start = iv.tick().await;
            assert!(
                start >= before && start <= Instant::now(),
                "the first tick is at once"
            );
            // Blocks this worker (the other one drives the timers meanwhile).
            thread::sleep(P * 7 / 2);
            let mut ticks = Vec::new();
            for _ in 0..n {
                let at = iv.tick().await;
                let seen = Instant::now();
                assert!(seen >= at, "a tick completed before its instant");
                ticks.push((at, seen));
            }
            (start, ticks)
        })
        .await
        .unwrap()
    })
}

#[test]
fn interval_burst_catches_up_on_the_original_schedule() {
    let _w = watchdog("interval_burst_catches_up_on_the_original_schedule");
    let (start, ticks) = missed_ticks(MissedTickBehavior::Burst, 6);
    for (k, &(at, _)) in ticks.iter().enumerate() {
        assert_eq!(at, start + P * (k as u32 + 1), "tick {}", k + 1);
    }
}

#[test]
fn interval_delay_restarts_from_the_late_tick() {
    let _w = watchdog("interval_delay_restarts_from_the_late_tick");
    let (start, ticks) = missed_ticks(MissedTickBehavior::Delay, 4);
    // The missed tick 1 completes, late.
    let (first, seen_first) = ticks[0];
    assert_eq!(first, start + P);
    assert!(seen_first >= start + P * 7 / 2);
    // The next one is a period after the moment tick 1 was seen (inside `tick`, so no later
    // than `seen_first` + P), not on the original schedule.
    let (second, _) = ticks[1];
    assert!(second >= start + P * 7 / 2 + P);
    assert!(second <= seen_first + P);
    // Ticks are never closer than a period from then on.
    for w in ticks[1..].windows(2) {
        assert!(w[1].0 >= w[0].0 + P);
    }
}

#[test]
fn interval_skip_drops_missed_ticks_and_keeps_the_grid() {
    let _w = watchdog("interval_skip_drops_missed_ticks_and_keeps_the_grid");
    let (start, ticks) = missed_ticks(MissedTickBehavior::Skip, 4);
    let (first, seen_first) = ticks[0];
    assert_eq!(first, start + P);
    // The next tick is the first multiple of P after the moment tick 1 was seen: at least
    // tick 4 (3.5 periods were blocked), on the grid, at most a period after `seen_first`.
    let (second, _) = ticks[1];
    let offset = second - start;
    assert_eq!(
        offset.as_nanos() % P.as_nanos(),
        0,
        "off the grid: {offset:?}"
    );
    assert!(second >= start + P * 4);
    assert!(second <= seen_first + P);
    for w in ticks[1..].windows(2) {
        let step = w[1].0 - w[0].0;
        assert_eq!(step.as_nanos() % P.as_nanos(), 0);
        assert!(step >= P);
    }
}

#[test]
fn interval_ticks_on_schedule_and_resets() {
    let _w = watchdog("interval_ticks_on_schedule_and_resets");
    let rt = runtime(2);
    rt.block_on(async {
        let start = Instant::now() + ms(10);
        let mut iv = interval_at(start, ms(5));
        for k in 0..5u32 {
            let at = iv.tick().await;
            assert!(Instant::now() >= at);
            // On time or late, the schedule stays `start + k * period` (late by more than
            // 5 ms, Burst keeps it too).
            assert_eq!(at, start + ms(5) * k);
        }
        let now = Instant::now();
        iv.reset();
        assert!(iv.tick().await >= now + ms(5));
        iv.reset_immediately();
        let now = Instant::now();
        assert!(iv.tick().await <= now);
        let at = Instant::now() + ms(7);
        iv.reset_at(at);
        assert_eq!(iv.tick().await, at);
        assert!(Instant::now() >= at);
        let now = Instant::now();
        iv.reset_after(ms(3));
        assert!(iv.tick().await >= now + ms(3));
    });
}

#[test]
fn a_zero_period_panics() {
    let _w = watchdog("a_zero_period_panics");
    let rt = runtime(2);
    rt.block_on(async {
        let err = std::panic::catch_unwind(|| interval(Duration::ZERO)).unwrap_err();
        assert_eq!(panic_message(&*err), "`period` must be non-zero.");
        let err =
            std::panic::catch_unwind(|| interval_at(Instant::now(), Duration::ZERO)).unwrap_err();
        assert_eq!(panic_message(&*err), "`period` must be non-zero.");
    });
}

// ---------------------------------------------------------------------------------------------
// where timers can be used

#[test]
#[allow(clippy::async_yields_async)] // tasks hand a `Sleep` over on purpose
fn sleeps_in_colored_tasks_and_across_workers() {
    let _w = watchdog("sleeps_in_colored_tasks_and_across_workers");
    let rt = runtime(2);
    rt.block_on(async {
        // Tasks of 4 colors sleep repeatedly; a color's tasks never overlap (S1) across the
        // sleeps, whatever worker wakes them.
        let mut tasks = Vec::new();
        for c in 0..4u64 {
            let color = Color::new(1_000 + c);
            let busy = Arc::new(AtomicBool::new(false));
            for i in 0..10u64 {
                let busy = busy.clone();
                tasks.push(hue::spawn_colored(color, async move {
                    for round in 0..3 {
                        assert!(!busy.swap(true, SeqCst), "two tasks of one color at once");
                        busy.store(false, SeqCst);
                        let deadline = Instant::now() + Duration::from_micros(500 * (i + round));
                        sleep_until(deadline).await;
                        assert!(Instant::now() >= deadline);
                        assert_eq!(hue::current_color(), color);
                    }
                }));
            }
        }
        for t in tasks {
            t.await.unwrap();
        }

        // A sleep registered by one task (on a worker) and awaited by another thread.
        let deadline = Instant::now() + ms(25);
        let s = hue::spawn_colored(Color::fresh(), async move {
            let mut s = sleep_until(deadline);
            let waker = Waker::from(Arc::new(CountWaker::default()));
            assert!(poll_once(&mut s, &waker).is_pending());
            s
        })
        .await
        .unwrap();
        // Awaited in a task of another color, then here.
        let s = hue::spawn_colored(Color::fresh(), async move {
            let mut s = s;
            (&mut s).await;
            assert!(Instant::now() >= deadline);
            s
        })
        .await
        .unwrap();
        assert!(s.is_elapsed());
        s.await;
    });
}

#[test]
fn sleeps_on_blocking_threads_and_in_block_on() {
    let _w = watchdog("sleeps_on_blocking_threads_and_in_block_on");
    let rt = runtime(2);
    rt.block_on(async {
        let deadline = Instant::now() + ms(10);
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
        let blocking: Vec<_> = (0..4u64)
            .map(|i| {
                hue::spawn_blocking(move || {
                    // A plain thread of the blocking pool: a timer made here belongs to the
                    // runtime, and any executor can wait for it.
                    let deadline = Instant::now() + ms(5 + i);
                    futures::executor::block_on(sleep_until(deadline));
                    assert!(Instant::now() >= deadline);
                    let r =
                        futures::executor::block_on(timeout(ms(5), std::future::pending::<()>()));
                    r.is_err()
                })
            })
            .collect();
        for b in blocking {
            assert!(b.await.unwrap());
        }
    });
}

#[test]
fn timer_types_are_send_sync_and_sleep_is_unpin() {
    fn send_sync<T: Send + Sync>() {}
    fn unpin<T: Unpin>() {}
    send_sync::<hue::time::Sleep>();
    send_sync::<hue::time::Timeout<hue::time::Sleep>>();
    send_sync::<hue::time::Interval>();
    send_sync::<Elapsed>();
    unpin::<hue::time::Sleep>();
    unpin::<hue::time::Interval>();
}

#[test]
fn sleep_outside_a_runtime_panics_with_a_clear_message() {
    let _w = watchdog("sleep_outside_a_runtime_panics_with_a_clear_message");
    let err = std::panic::catch_unwind(|| sleep(ms(1))).unwrap_err();
    let msg = panic_message(&*err);
    assert!(msg.contains("no runtime"), "unexpected message: {msg}");
}

// ---------------------------------------------------------------------------------------------
// shutdown

#[test]
fn a_runtime_with_sleeping_tasks_shuts_down_promptly() {
    let _w = watchdog_for(
        "a_runtime_with_sleeping_tasks_shuts_down_promptly",
        Duration::from_secs(20),
    );
    struct Dropped(Arc<AtomicUsize>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let rt = runtime(2);
    let started = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    for i in 0..1_000u64 {
        let (started, dropped) = (started.clone(), Dropped(dropped.clone()));
        let color = if i % 2 == 0 {
            Color::fresh()
        } else {
            Color::new(7)
        };
        rt.handle().spawn_colored(color, async move {
            let _dropped = dropped;
            started.fetch_add(1, SeqCst);
            sleep(Duration::from_secs(3600)).await;
            unreachable!("an hour passed");
        });
    }
    wait_until("every task sleeps", || started.load(SeqCst) == 1_000);
    drop(rt);
    assert_eq!(
        dropped.load(SeqCst),
        1_000,
        "every sleeping task's future is dropped"
    );
}

/// A sleep that outlived its runtime panics with a clear message when polled elsewhere,
/// instead of waiting forever for a driver nobody runs.
#[test]
fn a_sleep_that_outlives_its_runtime_panics_instead_of_hanging() {
    let _w = common::watchdog("a_sleep_that_outlives_its_runtime_panics_instead_of_hanging");
    let first = common::runtime(1);
    let (tx, rx) = std::sync::mpsc::channel();
    // Registered (polled once) in the first runtime, then handed out.
    first.block_on(async move {
        let mut sleep = Box::pin(hue::time::sleep(Duration::from_secs(3600)));
        assert!(futures::poll!(sleep.as_mut()).is_pending());
        tx.send(sleep).unwrap();
    });
    let sleep = rx.recv().unwrap();
    drop(first);
    let second = common::runtime(1);
    let err = second
        .block_on(second.handle().spawn(sleep))
        .expect_err("polling a dead runtime's timer panics");
    let msg = common::panic_message(&*err.into_panic());
    assert!(msg.contains("shut down"), "{msg}");
}
