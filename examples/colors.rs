//! Colors at work: which worker ran which color, that tasks of one color never overlap while
//! tasks of different colors do, and an idle worker stealing a color.
//!
//! ```text
//! cargo run --release --example colors
//! ```
//!
//! Twelve colors (`Color::of("color-<i>")`) get CPU-bound work (color `i` has `20 * (i + 1)`
//! tasks of about 250 us each). Each color starts on its home worker (a hash of the color), so
//! the load is uneven; a worker runs at most 64 tasks of a color per turn (S7) and then queues
//! the color again, and a worker that runs out of work steals queued colors from the other. Every task records when
//! and where it ran; the program then checks S1 (no two tasks of one color overlap in time) and
//! counts how often tasks of *different* colors did overlap (the parallelism colors allow).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hue::{Color, Runtime};

/// One task's run: its color, the worker it ran on, and when.
#[derive(Clone, Copy, Debug)]
struct Span {
    color: Color,
    worker: usize,
    start: Duration,
    end: Duration,
}

const COLORS: u64 = 12;

fn busy(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn main() -> std::io::Result<()> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    let rt = Runtime::builder().workers(workers).build()?;
    println!("hue colors demo: {workers} workers, 12 colors of uneven CPU-bound work\n");

    let origin = Instant::now();
    let spans = Arc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..COLORS {
            let color = Color::of(&format!("color-{i}"));
            for _ in 0..20 * (i + 1) {
                let spans = spans.clone();
                tasks.push(hue::spawn_colored(color, async move {
                    let start = origin.elapsed();
                    busy(Duration::from_micros(250));
                    let span = Span {
                        color: hue::current_color(),
                        worker: hue::current_worker().expect("tasks run on workers"),
                        start,
                        end: origin.elapsed(),
                    };
                    spans.lock().unwrap().push(span);
                }));
            }
        }
        for t in tasks {
            t.await.expect("task failed");
        }
    });
    let elapsed = origin.elapsed();
    let spans = spans.lock().unwrap().clone();

    println!(
        "{:<12} {:>6} {:>10} {:>14}",
        "color", "tasks", "workers", "first..last ms"
    );
    for i in 0..COLORS {
        let color = Color::of(&format!("color-{i}"));
        let mine: Vec<&Span> = spans.iter().filter(|s| s.color == color).collect();
        let ran_on: BTreeSet<usize> = mine.iter().map(|s| s.worker).collect();
        let first = mine.iter().map(|s| s.start).min().unwrap_or_default();
        let last = mine.iter().map(|s| s.end).max().unwrap_or_default();
        println!(
            "{:<12} {:>6} {:>10} {:>6.1}..{:<6.1}",
            format!("color-{i}"),
            mine.len(),
            format!("{ran_on:?}"),
            first.as_secs_f64() * 1e3,
            last.as_secs_f64() * 1e3
        );
    }

    // S1: tasks of one color never overlap. Different colors may.
    let mut same = 0;
    let mut different = 0;
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            let overlap = a.start < b.end && b.start < a.end;
            if overlap && a.color == b.color {
                same += 1;
            } else if overlap {
                different += 1;
            }
        }
    }
    let metrics = rt.handle().metrics();
    let total_work: Duration = spans.iter().map(|s| s.end - s.start).sum();
    println!();
    println!("same-color overlaps:      {same} (S1 says 0)");
    println!("different-color overlaps: {different} (parallelism between colors)");
    println!(
        "wall time {:.1} ms for {:.1} ms of work: {:.2}x",
        elapsed.as_secs_f64() * 1e3,
        total_work.as_secs_f64() * 1e3,
        total_work.as_secs_f64() / elapsed.as_secs_f64()
    );
    for w in 0..metrics.workers() {
        let m = metrics.worker(w);
        println!(
            "worker {w}: {} polls, {} color turns, {} steals ({} colors taken)",
            m.polls, m.colors_run, m.steals, m.stolen_colors
        );
    }
    assert_eq!(same, 0, "two tasks of one color overlapped: S1 violated");
    Ok(())
}
