//! Integration tests of `hue::compat::futures::HueSpawner` (`futures::task::Spawn` on hue) and
//! `hue::compat::spawn`: results through `spawn_with_handle`, fresh colors by default (tasks
//! may overlap), one color with `in_color` (they never do), spawning from outside the runtime,
//! and `SpawnError::shutdown` after the runtime is gone.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::task::{Spawn, SpawnExt};
use hue::compat::futures::HueSpawner;
use hue::{Color, ColorCell};

mod common;
use common::{runtime, watchdog};

/// A library function written against `futures::task::Spawn`, as found in the wild.
fn fan_out<S: Spawn>(spawner: &S, n: u64) -> Vec<futures::future::RemoteHandle<(u64, Color)>> {
    (0..n)
        .map(|i| {
            spawner
                .spawn_with_handle(async move { (i * i, hue::current_color()) })
                .expect("spawn")
        })
        .collect()
}

#[test]
fn spawn_with_handle_returns_outputs_in_fresh_colors() {
    let _w = watchdog("spawn_with_handle_returns_outputs_in_fresh_colors");
    let rt = runtime(2);
    rt.block_on(async {
        let handles = fan_out(&HueSpawner::current(), 50);
        let mut colors = std::collections::HashSet::new();
        for (i, h) in handles.into_iter().enumerate() {
            let (sq, color) = h.await;
            assert_eq!(sq, (i * i) as u64);
            assert_ne!(
                color,
                Color::DEFAULT,
                "a Spawn'ed task must not inherit color 0"
            );
            colors.insert(color);
        }
        assert_eq!(
            colors.len(),
            50,
            "every spawned future gets its own fresh color"
        );
    });
}

#[test]
fn compat_spawn_gives_fresh_colors_and_hue_spawn_inherits() {
    let _w = watchdog("compat_spawn_gives_fresh_colors_and_hue_spawn_inherits");
    let rt = runtime(2);
    rt.block_on(async {
        let a = hue::compat::spawn(async {
            let own = hue::current_color();
            // A child made with hue::spawn inherits; one made with compat::spawn does not.
            let inherited = hue::spawn(async { hue::current_color() }).await.unwrap();
            let fresh = hue::compat::spawn(async { hue::current_color() })
                .await
                .unwrap();
            (own, inherited, fresh)
        });
        let (own, inherited, fresh) = a.await.unwrap();
        assert_ne!(own, Color::DEFAULT);
        assert_eq!(inherited, own);
        assert_ne!(fresh, own);
        assert_ne!(fresh, Color::DEFAULT);
    });
}

/// Two tasks that each wait (spinning, bounded) until both are running at the same time.
/// Returns whether they met.
fn two_meet(spawner: HueSpawner, rt: &hue::Runtime, patience: Duration) -> bool {
    let arrived = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let arrived = arrived.clone();
            spawner
                .spawn_with_handle(async move {
                    arrived.fetch_add(1, SeqCst);
                    let deadline = Instant::now() + patience;
                    // Blocks the worker on purpose: the other task can only arrive meanwhile
                    // if it runs in parallel.
                    while arrived.load(SeqCst) < 2 {
                        if Instant::now() > deadline {
                            return false;
                        }
                        std::hint::spin_loop();
                    }
                    true
                })
                .unwrap()
        })
        .collect();
    rt.block_on(async {
        let mut all = true;
        for h in handles {
            all &= h.await;
        }
        all
    })
}

#[test]
fn default_spawner_tasks_run_in_parallel() {
    let _w = watchdog("default_spawner_tasks_run_in_parallel");
    let rt = runtime(2);
    let spawner = HueSpawner::new(rt.handle().clone());
    assert!(
        two_meet(spawner, &rt, Duration::from_secs(10)),
        "tasks of a default HueSpawner (fresh colors) must be able to run in parallel"
    );
}

#[test]
fn in_color_spawner_tasks_never_overlap() {
    let _w = watchdog("in_color_spawner_tasks_never_overlap");
    let rt = runtime(2);
    let spawner = HueSpawner::new(rt.handle().clone()).in_color(Color::of(&"compat-shard"));
    // In one color they cannot both be running: neither sees the other arrive in time.
    assert!(!two_meet(spawner.clone(), &rt, Duration::from_millis(300)));

    // And the color's state needs no lock.
    let busy = Arc::new(AtomicBool::new(false));
    let cell = Arc::new(ColorCell::new(Color::of(&"compat-shard"), 0u64));
    let handles: Vec<_> = (0..200)
        .map(|_| {
            let (busy, cell) = (busy.clone(), cell.clone());
            spawner
                .spawn_with_handle(async move {
                    assert!(
                        !busy.swap(true, SeqCst),
                        "two tasks of one color overlapped"
                    );
                    cell.with(|v| *v += 1);
                    busy.store(false, SeqCst);
                    hue::yield_now().await;
                    assert!(
                        !busy.swap(true, SeqCst),
                        "two tasks of one color overlapped"
                    );
                    cell.with(|v| *v += 1);
                    busy.store(false, SeqCst);
                })
                .unwrap()
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            h.await;
        }
        let total = hue::in_color(Color::of(&"compat-shard"), async { cell.with(|v| *v) }).await;
        assert_eq!(total, 400);
    });
}

#[test]
fn spawn_detached_from_another_thread() {
    let _w = watchdog("spawn_detached_from_another_thread");
    let rt = runtime(2);
    let spawner = HueSpawner::new(rt.handle().clone());
    let (tx, rx) = futures::channel::mpsc::unbounded();
    let t = std::thread::spawn(move || {
        for i in 0..10u32 {
            let tx = tx.clone();
            // SpawnExt::spawn: fire and forget.
            spawner
                .spawn(async move { tx.unbounded_send(i).unwrap() })
                .unwrap();
        }
    });
    t.join().unwrap();
    let mut got: Vec<u32> = rt.block_on(futures::StreamExt::collect(rx));
    got.sort_unstable();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[test]
fn spawn_after_shutdown_is_a_shutdown_error_and_drops_the_future() {
    let _w = watchdog("spawn_after_shutdown_is_a_shutdown_error_and_drops_the_future");
    let rt = runtime(1);
    let spawner = HueSpawner::new(rt.handle().clone());
    // Works while the runtime lives.
    let h = spawner.spawn_with_handle(async { 1 }).unwrap();
    assert_eq!(rt.block_on(h), 1);
    drop(rt);

    let witness = Arc::new(());
    let held = witness.clone();
    let err = spawner
        .spawn(async move {
            let _held = held;
        })
        .unwrap_err();
    assert!(err.is_shutdown(), "{err:?}");
    assert_eq!(
        Arc::strong_count(&witness),
        1,
        "the refused future is dropped"
    );
    // The same through `spawn_with_handle`.
    assert!(spawner
        .spawn_with_handle(async {})
        .unwrap_err()
        .is_shutdown());
}

#[test]
fn spawn_error_is_not_reported_for_tasks_that_panic_or_finish_at_once() {
    let _w = watchdog("spawn_error_is_not_reported_for_tasks_that_panic_or_finish_at_once");
    let rt = runtime(2);
    let spawner = HueSpawner::new(rt.handle().clone());
    for i in 0..200 {
        spawner.spawn(async {}).unwrap();
        if i % 10 != 0 {
            continue;
        }
        spawner
            .spawn(async { std::panic::panic_any("expected test panic") })
            .unwrap();
    }
    // The runtime survives the panics.
    let h = spawner.spawn_with_handle(async { 5 }).unwrap();
    assert_eq!(rt.block_on(h), 5);
}
