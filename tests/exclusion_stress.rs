//! Stress test of the color guarantees under load.
//!
//! - S1 (exclusion): every poll of a task sets its color's in-flight flag with `swap(true)` and
//!   clears it at the end of the poll; a `true` from the swap means two tasks of one color were
//!   polled at once. A per-color load/store counter checks that each poll sees the previous one.
//! - S3 (FIFO): a dedicated foreign thread wakes groups of idle same-color tasks in a known order;
//!   the order in which they are polled must match.
//! - S4 (no lost wake-ups): tasks are woken by `hue::yield_now`, by themselves, by other tasks and
//!   by several foreign threads (sometimes while the task is still inside its poll); every task
//!   must finish.
//! - S2 (stealing): a burst of CPU-heavy tasks whose colors live on one worker must be stolen.
//! - S8: every future is dropped exactly once, every task completes exactly once.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use hue::{Color, JoinHandle, Runtime};

mod common;
use common::watchdog_for;

const WORKERS: usize = 4;
const COLORS: usize = 300;
const TOTAL_TASKS: usize = 5000;
const FIFO_COLORS: usize = 24;
const FIFO_PER_COLOR: usize = 6;
const FIFO_TASKS: usize = FIFO_COLORS * FIFO_PER_COLOR;
const STRESS_TASKS: usize = TOTAL_TASKS - FIFO_TASKS;
const FOREIGN_THREADS: usize = 4;
const SPAWNERS: usize = 8;
const PROBE_COLORS: u64 = 400;
const SKEW_COLORS: usize = 48;
const SKEW_PER_COLOR: usize = 2;
const WATCHDOG: Duration = Duration::from_secs(120);

fn iterations() -> usize {
    if cfg!(debug_assertions) {
        40
    } else {
        100
    }
}

fn fifo_rounds() -> usize {
    if cfg!(debug_assertions) {
        40
    } else {
        120
    }
}

/// splitmix64: a deterministic hash used as a cheap random source.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn spin(n: u64) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}

fn spin_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

struct ColorSlot {
    color: Color,
    busy: AtomicBool,
    /// Updated with a plain load + store (no RMW): only exact if polls of the color are
    /// serialized and each one happens-before the next.
    plain: AtomicU64,
    polls: AtomicU64,
}

struct Shared {
    slots: Vec<ColorSlot>,
    violations: AtomicUsize,
    messages: Mutex<Vec<String>>,
    completed: AtomicUsize,
    dropped: AtomicUsize,
    done_per_task: Vec<AtomicU8>,
    dropped_per_task: Vec<AtomicU8>,
    mailbox: Mutex<Vec<(Arc<AtomicBool>, Waker)>>,
    /// (fifo color index) -> (round, task index in color), in poll order.
    fifo_polled: Vec<Mutex<Vec<(usize, usize)>>>,
    child_handles: Mutex<Vec<JoinHandle<usize>>>,
    peer_wakes: AtomicU64,
}

impl Shared {
    fn fail(&self, msg: String) {
        self.violations.fetch_add(1, Ordering::SeqCst);
        let mut m = self.messages.lock().unwrap();
        if m.len() < 20 {
            m.push(msg);
        }
    }

    fn wake_peers(&self, max: usize) {
        let taken: Vec<(Arc<AtomicBool>, Waker)> = {
            let mut mb = self.mailbox.lock().unwrap();
            let n = mb.len().min(max);
            let start = mb.len() - n;
            mb.drain(start..).collect()
        };
        for (fired, waker) in taken {
            fired.store(true, Ordering::Release);
            waker.wake();
            self.peer_wakes.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct DropGuard {
    shared: Arc<Shared>,
    task: usize,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.shared.dropped.fetch_add(1, Ordering::SeqCst);
        let prev = self.shared.dropped_per_task[self.task].fetch_add(1, Ordering::SeqCst);
        if prev != 0 {
            self.shared.fail(format!(
                "future of task {} dropped {} times",
                self.task,
                prev + 1
            ));
        }
    }
}

/// Wraps a task's future: checks S1 around every poll and counts completion.
struct Guarded<F> {
    shared: Arc<Shared>,
    slot: usize,
    task: usize,
    polls: u64,
    finished: bool,
    peer_waker: bool,
    inner: Pin<Box<F>>,
    _drop: DropGuard,
}

impl<F: Future> Guarded<F> {
    fn new(shared: &Arc<Shared>, slot: usize, task: usize, peer_waker: bool, inner: F) -> Self {
        Guarded {
            shared: shared.clone(),
            slot,
            task,
            polls: 0,
            finished: false,
            peer_waker,
            inner: Box::pin(inner),
            _drop: DropGuard {
                shared: shared.clone(),
                task,
            },
        }
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let shared = &*this.shared;
        let slot = &shared.slots[this.slot];
        // Relaxed on purpose: the flag must not itself create the happens-before edge that the
        // executor owes us (S1), it only detects overlap.
        if slot.busy.swap(true, Ordering::Relaxed) {
            shared.fail(format!(
                "S1 violated: task {} of {:?} polled while another task of that color was being polled",
                this.task, slot.color
            ));
        }
        let current = hue::current_color();
        if current != slot.color {
            shared.fail(format!(
                "task {} spawned in {:?} is polled with current_color() == {:?}",
                this.task, slot.color, current
            ));
        }
        if this.finished {
            shared.fail(format!("task {} polled after it returned Ready", this.task));
        }
        let seen = slot.plain.load(Ordering::Relaxed);
        let count = slot.polls.fetch_add(1, Ordering::Relaxed);
        if seen != count {
            shared.fail(format!(
                "S1 happens-before violated in {:?}: a poll saw {} earlier polls, expected {}",
                slot.color, seen, count
            ));
        }
        slot.plain.store(seen + 1, Ordering::Relaxed);

        let r = mix(((this.task as u64) << 20) ^ this.polls);
        this.polls += 1;
        spin(50 + r % 200);
        if this.peer_waker {
            shared.wake_peers(2);
        }

        let out = this.inner.as_mut().poll(cx);

        // Still inside the poll: wakes sent by `inner` may arrive now (S4).
        spin(50 + (r >> 8) % 300);
        if (r >> 16) % 16 == 0 {
            thread::yield_now();
        }
        if out.is_ready() {
            this.finished = true;
            shared.completed.fetch_add(1, Ordering::SeqCst);
            let prev = shared.done_per_task[this.task].fetch_add(1, Ordering::SeqCst);
            if prev != 0 {
                shared.fail(format!("task {} completed {} times", this.task, prev + 1));
            }
        }
        slot.busy.store(false, Ordering::Relaxed);
        out
    }
}

struct ForeignMsg {
    waker: Waker,
    fired: Arc<AtomicBool>,
    delay: u64,
}

/// Sends its waker to a foreign thread, which wakes it (possibly after a tiny delay).
struct ForeignWake {
    tx: mpsc::Sender<ForeignMsg>,
    delay: u64,
    fired: Option<Arc<AtomicBool>>,
}

impl Future for ForeignWake {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.fired {
            None => {
                let fired = Arc::new(AtomicBool::new(false));
                let msg = ForeignMsg {
                    waker: cx.waker().clone(),
                    fired: fired.clone(),
                    delay: self.delay,
                };
                self.tx.send(msg).expect("foreign waker thread is gone");
                self.fired = Some(fired);
                Poll::Pending
            }
            Some(f) if f.load(Ordering::Acquire) => Poll::Ready(()),
            Some(_) => Poll::Pending,
        }
    }
}

/// Parks its waker in the shared mailbox; another task (or the sweeper thread) wakes it.
struct PeerWake {
    shared: Arc<Shared>,
    fired: Option<Arc<AtomicBool>>,
}

impl Future for PeerWake {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.fired {
            None => {
                let fired = Arc::new(AtomicBool::new(false));
                self.shared
                    .mailbox
                    .lock()
                    .unwrap()
                    .push((fired.clone(), cx.waker().clone()));
                self.fired = Some(fired);
                Poll::Pending
            }
            Some(f) if f.load(Ordering::Acquire) => Poll::Ready(()),
            Some(_) => Poll::Pending,
        }
    }
}

/// Wakes itself from inside its own poll.
struct SelfWake(bool);

impl Future for SelfWake {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

struct FifoReg {
    fifo_color: usize,
    round: usize,
    index: usize,
    waker: Waker,
    fired: Arc<AtomicBool>,
}

/// Registers with the FIFO thread; records (round, index) in its color's log when woken.
struct FifoWait {
    shared: Arc<Shared>,
    tx: mpsc::Sender<FifoReg>,
    fifo_color: usize,
    round: usize,
    index: usize,
    fired: Option<Arc<AtomicBool>>,
}

impl Future for FifoWait {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.fired {
            None => {
                let fired = Arc::new(AtomicBool::new(false));
                let reg = FifoReg {
                    fifo_color: self.fifo_color,
                    round: self.round,
                    index: self.index,
                    waker: cx.waker().clone(),
                    fired: fired.clone(),
                };
                self.tx.send(reg).expect("fifo thread is gone");
                self.fired = Some(fired);
                Poll::Pending
            }
            Some(f) if f.load(Ordering::Acquire) => {
                self.shared.fifo_polled[self.fifo_color]
                    .lock()
                    .unwrap()
                    .push((self.round, self.index));
                Poll::Ready(())
            }
            Some(_) => Poll::Pending,
        }
    }
}

fn stress_color_slot(task: usize) -> usize {
    // Tasks come in pairs of one color (the odd one is sometimes spawned by the even one).
    (mix((task / 2) as u64 ^ 0xC010) % COLORS as u64) as usize
}

fn is_child(task: usize) -> bool {
    task % 2 == 1 && (task / 2) % 4 == 0
}

type SpawnerOutput = Vec<(usize, JoinHandle<usize>)>;
type BoxFut = Pin<Box<dyn Future<Output = usize> + Send + 'static>>;

fn stress_task(
    shared: &Arc<Shared>,
    foreign: &[mpsc::Sender<ForeignMsg>],
    task: usize,
) -> Guarded<BoxFut> {
    let shared2 = shared.clone();
    let foreign: Vec<mpsc::Sender<ForeignMsg>> = foreign.to_vec();
    let slot = stress_color_slot(task);
    let spawns_child = task + 1 < STRESS_TASKS && is_child(task + 1);
    let inner = async move {
        if spawns_child {
            // Child inherits this task's color (S5).
            let child = stress_task(&shared2, &foreign, task + 1);
            let h = hue::spawn(child);
            shared2.child_handles.lock().unwrap().push(h);
        }
        for it in 0..iterations() {
            let r = mix(((task as u64) << 16) ^ it as u64 ^ 0xABCD);
            match r % 8 {
                0 | 1 => hue::yield_now().await,
                2..=4 => {
                    let t = ((r >> 8) % FOREIGN_THREADS as u64) as usize;
                    let delay = if (r >> 16) % 4 == 0 {
                        (r >> 20) % 40
                    } else {
                        0
                    };
                    ForeignWake {
                        tx: foreign[t].clone(),
                        delay,
                        fired: None,
                    }
                    .await
                }
                5 | 6 => {
                    PeerWake {
                        shared: shared2.clone(),
                        fired: None,
                    }
                    .await
                }
                _ => SelfWake(false).await,
            }
        }
        task
    };
    Guarded::new(shared, slot, task, task % 3 != 0, Box::pin(inner))
}

fn fifo_task(
    shared: &Arc<Shared>,
    tx: &mpsc::Sender<FifoReg>,
    fifo_color: usize,
    index: usize,
    task: usize,
) -> impl Future<Output = usize> + Send + 'static {
    let shared2 = shared.clone();
    let tx = tx.clone();
    let inner = async move {
        for round in 0..fifo_rounds() {
            FifoWait {
                shared: shared2.clone(),
                tx: tx.clone(),
                fifo_color,
                round,
                index,
                fired: None,
            }
            .await;
        }
        task
    };
    // FIFO colors share slots 0..FIFO_COLORS with the stress tasks.
    Guarded::new(shared, fifo_color, task, true, inner)
}

fn skew_task(shared: &Arc<Shared>, slot: usize, task: usize) -> impl Future<Output = usize> + Send {
    let inner = async move {
        for _ in 0..4 {
            spin_for(Duration::from_micros(300));
            hue::yield_now().await;
        }
        task
    };
    Guarded::new(shared, slot, task, false, inner)
}

/// The FIFO thread: waits until all tasks of (color, round) are registered, then wakes them in a
/// shuffled order, except that the last one to register (whose poll may still be running) is
/// woken last. All others are idle (their poll ended before the last one's poll began, S1), so
/// S3 says they must be polled in exactly this order. Returns the wake order per color.
fn fifo_thread(rx: mpsc::Receiver<FifoReg>) -> Vec<Vec<(usize, usize)>> {
    let mut pending: HashMap<(usize, usize), Vec<FifoReg>> = HashMap::new();
    let mut woken = vec![Vec::new(); FIFO_COLORS];
    let mut seed = 0x5EED_u64;
    while let Ok(reg) = rx.recv() {
        let key = (reg.fifo_color, reg.round);
        let group = pending.entry(key).or_default();
        group.push(reg);
        if group.len() < FIFO_PER_COLOR {
            continue;
        }
        let mut group = pending.remove(&key).unwrap();
        let last = group.pop().unwrap();
        // Fisher-Yates on the idle ones.
        for i in (1..group.len()).rev() {
            seed = mix(seed);
            let j = (seed % (i as u64 + 1)) as usize;
            group.swap(i, j);
        }
        group.push(last);
        for reg in group {
            woken[reg.fifo_color].push((reg.round, reg.index));
            reg.fired.store(true, Ordering::Release);
            reg.waker.wake();
            seed = mix(seed);
            if seed % 8 == 0 {
                spin(seed >> 40 & 0xff);
            }
        }
    }
    assert!(pending.is_empty(), "fifo thread: incomplete groups left");
    woken
}

fn foreign_thread(rx: mpsc::Receiver<ForeignMsg>) -> u64 {
    let mut n = 0;
    while let Ok(msg) = rx.recv() {
        if msg.delay > 0 {
            if msg.delay % 4 == 0 {
                thread::sleep(Duration::from_micros(msg.delay));
            } else {
                spin(msg.delay * 20);
            }
        }
        msg.fired.store(true, Ordering::Release);
        msg.waker.wake();
        n += 1;
    }
    n
}

#[test]
fn exclusion_fifo_wakeups_and_stealing_under_load() {
    let _watchdog = watchdog_for("exclusion_stress", WATCHDOG);
    let started = Instant::now();
    let rt = Runtime::builder()
        .workers(WORKERS)
        .thread_name("hue-stress")
        .build()
        .expect("build runtime");
    assert_eq!(rt.handle().metrics().workers(), WORKERS);

    // --- Probe: find colors whose home is one worker (their first poll runs there).
    let probes: Vec<(Color, JoinHandle<Option<usize>>)> = (0..PROBE_COLORS)
        .map(|i| {
            let c = Color::new(1_000_000 + i);
            (
                c,
                rt.handle()
                    .spawn_colored(c, async { hue::current_worker() }),
            )
        })
        .collect();
    let probed: Vec<(Color, usize)> = rt.block_on(async move {
        let mut out = Vec::new();
        for (c, h) in probes {
            let w = h
                .await
                .expect("probe task failed")
                .expect("current_worker() is None inside a task");
            assert!(
                w < WORKERS,
                "current_worker() = {w} but there are {WORKERS} workers"
            );
            out.push((c, w));
        }
        out
    });
    let mut per_worker = [0usize; WORKERS];
    for &(_, w) in &probed {
        per_worker[w] += 1;
    }
    let busiest = (0..WORKERS).max_by_key(|&w| per_worker[w]).unwrap();
    let mut skew_colors: Vec<Color> = probed
        .iter()
        .filter(|&&(_, w)| w == busiest)
        .map(|&(c, _)| c)
        .take(SKEW_COLORS)
        .collect();
    // Should the affinity be weak, fill up with any colors: the load still piles up at spawn.
    for &(c, _) in &probed {
        if skew_colors.len() >= SKEW_COLORS {
            break;
        }
        if !skew_colors.contains(&c) {
            skew_colors.push(c);
        }
    }

    // --- Shared state.
    let mut slots: Vec<ColorSlot> = (0..COLORS)
        .map(|i| Color::new(1000 + i as u64))
        .chain(skew_colors.iter().copied())
        .map(|color| ColorSlot {
            color,
            busy: AtomicBool::new(false),
            plain: AtomicU64::new(0),
            polls: AtomicU64::new(0),
        })
        .collect();
    slots.shrink_to_fit();
    let skew_tasks = SKEW_COLORS * SKEW_PER_COLOR;
    let n_tasks = TOTAL_TASKS + skew_tasks;
    let shared = Arc::new(Shared {
        slots,
        violations: AtomicUsize::new(0),
        messages: Mutex::new(Vec::new()),
        completed: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        done_per_task: (0..n_tasks).map(|_| AtomicU8::new(0)).collect(),
        dropped_per_task: (0..n_tasks).map(|_| AtomicU8::new(0)).collect(),
        mailbox: Mutex::new(Vec::new()),
        fifo_polled: (0..FIFO_COLORS).map(|_| Mutex::new(Vec::new())).collect(),
        child_handles: Mutex::new(Vec::new()),
        peer_wakes: AtomicU64::new(0),
    });

    // --- Skew phase: CPU-heavy tasks whose colors share one home worker: others must steal.
    let skew_handles: Vec<JoinHandle<usize>> = (0..skew_tasks)
        .map(|k| {
            let slot = COLORS + k % SKEW_COLORS;
            let task = TOTAL_TASKS + k;
            let color = shared.slots[slot].color;
            rt.handle()
                .spawn_colored(color, skew_task(&shared, slot, task))
        })
        .collect();
    rt.block_on(async move {
        for (k, h) in skew_handles.into_iter().enumerate() {
            let v = h.await.expect("skew task failed");
            assert_eq!(
                v,
                TOTAL_TASKS + k,
                "skew JoinHandle returned the wrong output"
            );
        }
    });
    let steals_after_skew = rt.handle().metrics().steals();

    // --- Helper threads.
    let mut foreign_tx = Vec::new();
    let mut foreign_threads = Vec::new();
    for _ in 0..FOREIGN_THREADS {
        let (tx, rx) = mpsc::channel();
        foreign_tx.push(tx);
        foreign_threads.push(thread::spawn(move || foreign_thread(rx)));
    }
    let (fifo_tx, fifo_rx) = mpsc::channel();
    let fifo_thread = thread::spawn(move || fifo_thread(fifo_rx));
    let stop_sweeper = Arc::new(AtomicBool::new(false));
    let sweeper = {
        let shared = shared.clone();
        let stop = stop_sweeper.clone();
        thread::spawn(move || {
            // Liveness for peer wakes: wakes whatever no task has woken yet.
            while !stop.load(Ordering::Acquire) {
                thread::sleep(Duration::from_millis(1));
                shared.wake_peers(usize::MAX);
            }
        })
    };

    // --- Main phase. FIFO tasks spawned from the test thread, stress tasks from spawner tasks
    // (different colors), odd "child" tasks from their parent with `hue::spawn`.
    let fifo_handles: Vec<JoinHandle<usize>> = (0..FIFO_TASKS)
        .map(|k| {
            let fifo_color = k % FIFO_COLORS;
            let index = k / FIFO_COLORS;
            let task = STRESS_TASKS + k;
            let color = shared.slots[fifo_color].color;
            rt.handle()
                .spawn_colored(color, fifo_task(&shared, &fifo_tx, fifo_color, index, task))
        })
        .collect();
    let spawner_handles: Vec<JoinHandle<SpawnerOutput>> = (0..SPAWNERS)
        .map(|s| {
            let shared = shared.clone();
            let foreign = foreign_tx.clone();
            rt.handle().spawn_colored(Color::fresh(), async move {
                let mut hs = Vec::new();
                for task in (s..STRESS_TASKS).step_by(SPAWNERS) {
                    if is_child(task) {
                        continue;
                    }
                    let color = shared.slots[stress_color_slot(task)].color;
                    hs.push((
                        task,
                        hue::spawn_colored(color, stress_task(&shared, &foreign, task)),
                    ));
                    if task % 64 == 0 {
                        hue::yield_now().await;
                    }
                }
                hs
            })
        })
        .collect();
    drop(fifo_tx);
    drop(foreign_tx);

    let shared2 = shared.clone();
    rt.block_on(async move {
        for h in spawner_handles {
            let hs = h.await.expect("spawner task failed");
            for (task, h) in hs {
                let v = h.await.expect("stress task failed");
                assert_eq!(v, task, "JoinHandle of task {task} returned {v}");
            }
        }
        for (k, h) in fifo_handles.into_iter().enumerate() {
            let v = h.await.expect("fifo task failed");
            assert_eq!(
                v,
                STRESS_TASKS + k,
                "JoinHandle of a fifo task returned the wrong output"
            );
        }
        // All parents have finished, so every child handle is there.
        let children: Vec<JoinHandle<usize>> =
            std::mem::take(&mut *shared2.child_handles.lock().unwrap());
        let expected_children = (0..STRESS_TASKS).filter(|&t| is_child(t)).count();
        assert_eq!(children.len(), expected_children, "missing child tasks");
        for h in children {
            let v = h.await.expect("child task failed");
            assert!(is_child(v), "child JoinHandle returned {v}");
        }
    });

    // Snapshot after shutdown: every worker has been joined, so the counters are final.
    let handle = rt.handle().clone();
    drop(rt);
    let metrics = handle.metrics();
    stop_sweeper.store(true, Ordering::Release);
    sweeper.join().unwrap();
    let foreign_wakes: u64 = foreign_threads.into_iter().map(|t| t.join().unwrap()).sum();
    let fifo_woken = fifo_thread.join().expect("fifo thread panicked");

    println!(
        "tasks: {n_tasks}, polls: {}, steals: {} (after skew phase: {steals_after_skew}), \
         foreign wakes: {foreign_wakes}, peer wakes: {}, elapsed: {:?}",
        metrics.polls(),
        metrics.steals(),
        shared.peer_wakes.load(Ordering::Relaxed),
        started.elapsed()
    );
    for w in 0..WORKERS {
        println!(
            "worker {w}: polls {}, steals {}",
            metrics.worker_polls(w),
            metrics.worker_steals(w)
        );
    }

    let violations = shared.violations.load(Ordering::SeqCst);
    assert!(
        violations == 0,
        "{violations} violations, first ones:\n{}",
        shared.messages.lock().unwrap().join("\n")
    );

    // S3: per color, the poll order of each round is the wake order of the FIFO thread.
    let rounds = fifo_rounds();
    for (fc, woken) in fifo_woken.iter().enumerate() {
        let polled = shared.fifo_polled[fc].lock().unwrap().clone();
        assert_eq!(
            woken.len(),
            rounds * FIFO_PER_COLOR,
            "fifo color {fc}: wakes missing"
        );
        for round in 0..rounds {
            let w: Vec<usize> = woken.iter().filter(|e| e.0 == round).map(|e| e.1).collect();
            let p: Vec<usize> = polled
                .iter()
                .filter(|e| e.0 == round)
                .map(|e| e.1)
                .collect();
            assert_eq!(
                p, w,
                "S3 violated in {:?} round {round}: tasks woken (idle) from one thread in order \
                 {w:?} were polled in order {p:?}",
                shared.slots[fc].color
            );
        }
    }

    assert_eq!(
        shared.completed.load(Ordering::SeqCst),
        n_tasks,
        "not every task completed"
    );
    assert_eq!(
        shared.dropped.load(Ordering::SeqCst),
        n_tasks,
        "not every future was dropped"
    );
    for t in 0..n_tasks {
        assert_eq!(
            shared.done_per_task[t].load(Ordering::SeqCst),
            1,
            "task {t} completions"
        );
        assert_eq!(
            shared.dropped_per_task[t].load(Ordering::SeqCst),
            1,
            "task {t} drops"
        );
    }
    let total_polls: u64 = shared
        .slots
        .iter()
        .map(|s| s.polls.load(Ordering::SeqCst))
        .sum();
    assert!(
        metrics.polls() >= total_polls,
        "metrics().polls() = {} < {total_polls} polls counted by the tasks",
        metrics.polls()
    );
    assert!(
        metrics.steals() > 0,
        "no color was ever stolen although {skew_tasks} CPU-heavy tasks were queued on worker {busiest}"
    );
}

// =============================================================================================
// Recoloring (S6) and color-owned state (S9) under load.
//
// 32 shards, each a color owning a `ColorCell<u64>` (a sum) and a `ColorCell<Vec<..>>` (a log),
// updated with no lock by tasks that live in 8 "home" colors and reach the shards with
// `hue::in_color` sections (with awaits inside the section) and with `hue::recolor` there and
// back. Every poll checks S1 for the color it runs in (`hue::current_color()` at poll start:
// a poll runs wholly in one color, a recolor takes effect at the next poll), including the
// happens-before chain of each color's polls. Some tasks are aborted mid-run (possibly inside a
// section). The expected sums are kept independently in atomics, updated in the same poll as the
// cells, so they are exact whatever the aborts cut; at the end every cell holds exactly its sum.

const CELL_WORKERS: usize = 4;
const SHARDS: usize = 32;
const HOMES: usize = 8;
const ABORT_VICTIMS: usize = 48;
const CELL_FOREIGN_THREADS: usize = 2;

fn cell_tasks() -> usize {
    if cfg!(debug_assertions) {
        1000
    } else {
        2000
    }
}

fn cell_iterations() -> usize {
    if cfg!(debug_assertions) {
        30
    } else {
        60
    }
}

struct Shard {
    color: Color,
    sum: hue::ColorCell<u64>,
    /// (task, sequence number within the task) of every update, in update order.
    log: hue::ColorCell<Vec<(u32, u32)>>,
    expected_sum: AtomicU64,
    expected_len: AtomicUsize,
}

struct HomeColor {
    color: Color,
    counter: hue::ColorCell<u64>,
    expected: AtomicU64,
}

struct CellShared {
    shards: Vec<Shard>,
    homes: Vec<HomeColor>,
    /// One per color a poll may run in: homes first, then shards.
    slots: Vec<ColorSlot>,
    slot_of: HashMap<Color, usize>,
    violations: AtomicUsize,
    messages: Mutex<Vec<String>>,
    completed: AtomicUsize,
    dropped_unfinished: AtomicUsize,
    drops_per_task: Vec<AtomicU8>,
    children: Mutex<Vec<JoinHandle<u32>>>,
    sections: AtomicU64,
    recolors: AtomicU64,
    victim_touches: AtomicU64,
}

impl CellShared {
    fn fail(&self, msg: String) {
        self.violations.fetch_add(1, Ordering::SeqCst);
        let mut m = self.messages.lock().unwrap();
        if m.len() < 20 {
            m.push(msg);
        }
    }

    /// Enters the slot of the color this thread currently runs in (S1 check); returns it.
    fn enter(&self, what: &str, task: u32) -> Option<usize> {
        let color = hue::current_color();
        let Some(&slot) = self.slot_of.get(&color) else {
            self.fail(format!(
                "{what} of task {task} runs with current_color() == {color}, not a color of this test"
            ));
            return None;
        };
        let s = &self.slots[slot];
        if s.busy.swap(true, Ordering::Relaxed) {
            self.fail(format!(
                "S1 violated: {what} of task {task} in {color} while another poll of {color} was running"
            ));
        }
        let seen = s.plain.load(Ordering::Relaxed);
        let count = s.polls.fetch_add(1, Ordering::Relaxed);
        if seen != count {
            self.fail(format!(
                "S1 happens-before violated in {color}: {what} of task {task} saw {seen} earlier polls, expected {count}"
            ));
        }
        s.plain.store(seen + 1, Ordering::Relaxed);
        Some(slot)
    }

    fn leave(&self, slot: Option<usize>) {
        if let Some(slot) = slot {
            self.slots[slot].busy.store(false, Ordering::Relaxed);
        }
    }

    /// Updates `shard`'s cells in the current color (which must be the shard's).
    fn touch(&self, shard: usize, task: u32, seq: &mut u32, k: u64) {
        let sh = &self.shards[shard];
        let cur = hue::current_color();
        if cur != sh.color {
            self.fail(format!(
                "task {task} about to touch shard {shard} ({}) while in {cur}",
                sh.color
            ));
        }
        // `with` itself panics in the wrong color: the task then fails with a JoinError.
        sh.sum.with(|v| *v += k);
        sh.expected_sum.fetch_add(k, Ordering::Relaxed);
        sh.log.with(|l| l.push((task, *seq)));
        sh.expected_len.fetch_add(1, Ordering::Relaxed);
        *seq += 1;
    }

    fn check_color(&self, task: u32, expected: Color, at: &str) {
        let cur = hue::current_color();
        if cur != expected {
            self.fail(format!(
                "task {task} {at}: current_color() == {cur}, expected {expected}"
            ));
        }
    }
}

/// Wraps a task's future: S1 for the color of every poll, completion and drop counts; the drop
/// of an unfinished (aborted) future must happen in one of the test's colors, under S1 too.
struct Traced<F> {
    shared: Arc<CellShared>,
    task: u32,
    finished: bool,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let shared = this.shared.clone();
        if this.finished {
            shared.fail(format!("task {} polled after Ready", this.task));
        }
        let slot = shared.enter("a poll", this.task);
        let r = mix(u64::from(this.task) ^ shared.completed.load(Ordering::Relaxed) as u64);
        spin(20 + r % 100);
        let out = this.inner.as_mut().poll(cx);
        spin(20 + (r >> 8) % 150);
        if out.is_ready() {
            this.finished = true;
            shared.completed.fetch_add(1, Ordering::SeqCst);
        }
        shared.leave(slot);
        out
    }
}

impl<F> Drop for Traced<F> {
    fn drop(&mut self) {
        let prev = self.shared.drops_per_task[self.task as usize].fetch_add(1, Ordering::SeqCst);
        if prev != 0 {
            self.shared
                .fail(format!("future of task {} dropped twice", self.task));
        }
        if !self.finished {
            // Aborted: dropped in the color the task is in (S6), which is one of ours, and
            // like a poll it excludes the other tasks of that color (S1).
            let slot = self
                .shared
                .enter("the drop of an aborted future", self.task);
            spin(100);
            self.shared.leave(slot);
            self.shared
                .dropped_unfinished
                .fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn traced<F: Future>(shared: &Arc<CellShared>, task: u32, inner: F) -> Traced<F> {
    Traced {
        shared: shared.clone(),
        task,
        finished: false,
        inner: Box::pin(inner),
    }
}

/// A child spawned from inside a shard section: it inherits the shard's color (S5) and touches
/// the shard's cells with no recoloring.
fn cell_child(shared: &Arc<CellShared>, shard: usize, task: u32) -> Traced<BoxFut32> {
    let sh = shared.clone();
    let inner: BoxFut32 = Box::pin(async move {
        let color = sh.shards[shard].color;
        let mut seq = 0;
        for i in 0..3u64 {
            sh.check_color(task, color, "in a child spawned inside a section");
            sh.touch(shard, task, &mut seq, 1000 + i);
            hue::yield_now().await;
        }
        task
    });
    traced(shared, task, inner)
}

type BoxFut32 = Pin<Box<dyn Future<Output = u32> + Send + 'static>>;

/// One task's life: `iterations` random steps (None: forever, until aborted).
fn cell_task(
    shared: &Arc<CellShared>,
    foreign: &[mpsc::Sender<ForeignMsg>],
    task: u32,
    home: usize,
    iterations: Option<usize>,
    child_base: u32,
) -> Traced<BoxFut32> {
    let sh = shared.clone();
    let foreign = foreign.to_vec();
    let inner: BoxFut32 = Box::pin(async move {
        let home_color = sh.homes[home].color;
        let mut seq = 0u32;
        let mut it = 0usize;
        let mut children = 0u32;
        loop {
            if let Some(n) = iterations {
                if it >= n {
                    break;
                }
            }
            sh.check_color(task, home_color, "at the top of an iteration");
            let r = mix((u64::from(task) << 24) ^ it as u64 ^ 0x5EC7);
            it += 1;
            let a = (r >> 8) as usize % SHARDS;
            let b = (a + 1 + (r >> 16) as usize % (SHARDS - 1)) % SHARDS;
            let (ca, cb) = (sh.shards[a].color, sh.shards[b].color);
            let k = 1 + (r >> 32) % 1000;
            if iterations.is_none() {
                sh.victim_touches.fetch_add(1, Ordering::Relaxed);
            }
            match r % 7 {
                0 => {
                    // A section with awaits inside: other tasks of `ca` run during the yields.
                    let sh2 = sh.clone();
                    let mut s = seq;
                    let spawn_child = iterations.is_some() && (r >> 40) % 8 == 0 && children < 2;
                    let child = child_base + children;
                    let v = hue::in_color(ca, async move {
                        sh2.touch(a, task, &mut s, k);
                        hue::yield_now().await;
                        sh2.check_color(task, ca, "inside an in_color section after a yield");
                        sh2.touch(a, task, &mut s, k + 1);
                        if spawn_child {
                            let h = hue::spawn(cell_child(&sh2, a, child));
                            sh2.children.lock().unwrap().push(h);
                        }
                        hue::yield_now().await;
                        sh2.touch(a, task, &mut s, 3);
                        (s, k)
                    })
                    .await;
                    if spawn_child {
                        children += 1;
                    }
                    assert_eq!(v.1, k, "in_color returned the wrong output");
                    seq = v.0;
                    sh.sections.fetch_add(1, Ordering::Relaxed);
                    sh.check_color(task, home_color, "after an in_color section");
                }
                1 => {
                    // Recolor into the shard, touch it directly around an await, recolor back.
                    let left = hue::recolor(ca).await;
                    if left != home_color {
                        sh.fail(format!(
                            "task {task}: recolor({ca}) left {left}, expected {home_color}"
                        ));
                    }
                    sh.touch(a, task, &mut seq, k);
                    hue::yield_now().await;
                    sh.touch(a, task, &mut seq, k * 2);
                    let left = hue::recolor(home_color).await;
                    if left != ca {
                        sh.fail(format!(
                            "task {task}: recolor back left {left}, expected {ca}"
                        ));
                    }
                    sh.recolors.fetch_add(2, Ordering::Relaxed);
                }
                2 => {
                    // Nested sections: a, then b inside a, then a again.
                    let sh2 = sh.clone();
                    let mut s = seq;
                    s = hue::in_color(ca, async move {
                        sh2.touch(a, task, &mut s, k);
                        let sh3 = sh2.clone();
                        s = hue::in_color(cb, async move {
                            sh3.touch(b, task, &mut s, k + 7);
                            hue::yield_now().await;
                            sh3.touch(b, task, &mut s, 1);
                            s
                        })
                        .await;
                        sh2.check_color(task, ca, "after a nested in_color section");
                        sh2.touch(a, task, &mut s, 2);
                        s
                    })
                    .await;
                    seq = s;
                    sh.sections.fetch_add(2, Ordering::Relaxed);
                    sh.check_color(task, home_color, "after nested in_color sections");
                }
                3 => {
                    // Recolor into a, a section in b from there, recolor back.
                    let left = hue::recolor(ca).await;
                    if left != home_color {
                        sh.fail(format!(
                            "task {task}: recolor({ca}) left {left}, expected {home_color}"
                        ));
                    }
                    sh.touch(a, task, &mut seq, k);
                    let sh2 = sh.clone();
                    let mut s = seq;
                    seq = hue::in_color(cb, async move {
                        sh2.touch(b, task, &mut s, k);
                        hue::yield_now().await;
                        sh2.touch(b, task, &mut s, 5);
                        s
                    })
                    .await;
                    sh.check_color(task, ca, "after a section entered from a recolored task");
                    sh.touch(a, task, &mut seq, 9);
                    let left = hue::recolor(home_color).await;
                    if left != ca {
                        sh.fail(format!(
                            "task {task}: recolor back left {left}, expected {ca}"
                        ));
                    }
                    sh.recolors.fetch_add(2, Ordering::Relaxed);
                    sh.sections.fetch_add(1, Ordering::Relaxed);
                }
                4 => {
                    // Home state, in the home color, around a yield.
                    let h = &sh.homes[home];
                    h.counter.with(|v| *v += k);
                    h.expected.fetch_add(k, Ordering::Relaxed);
                    hue::yield_now().await;
                    h.counter.with(|v| *v += 1);
                    h.expected.fetch_add(1, Ordering::Relaxed);
                }
                5 => {
                    // A section woken from a foreign thread.
                    let sh2 = sh.clone();
                    let mut s = seq;
                    let tx = foreign[(r >> 20) as usize % foreign.len()].clone();
                    let delay = (r >> 44) % 20;
                    seq = hue::in_color(ca, async move {
                        sh2.touch(a, task, &mut s, k);
                        ForeignWake {
                            tx,
                            delay,
                            fired: None,
                        }
                        .await;
                        sh2.check_color(task, ca, "in a section after a foreign wake");
                        sh2.touch(a, task, &mut s, 11);
                        s
                    })
                    .await;
                    sh.sections.fetch_add(1, Ordering::Relaxed);
                    sh.check_color(task, home_color, "after a section with a foreign wake");
                }
                _ => {
                    // No-ops: recolor to the current color, in_color of the current color.
                    let left = hue::recolor(home_color).await;
                    if left != home_color {
                        sh.fail(format!("task {task}: recolor to its own color left {left}"));
                    }
                    let h = &sh.homes[home];
                    let x = hue::in_color(home_color, async {
                        h.counter.with(|v| *v += 2);
                        h.expected.fetch_add(2, Ordering::Relaxed);
                        7u8
                    })
                    .await;
                    assert_eq!(x, 7);
                    hue::yield_now().await;
                }
            }
        }
        task
    });
    traced(shared, task, inner)
}

#[test]
fn recolor_and_in_color_keep_color_cells_exact_under_load() {
    let _watchdog = watchdog_for(
        "recolor_and_in_color_keep_color_cells_exact_under_load",
        WATCHDOG,
    );
    let started = Instant::now();
    let rt = Runtime::builder()
        .workers(CELL_WORKERS)
        .thread_name("hue-cells")
        .build()
        .expect("build runtime");

    let n_main = cell_tasks();
    // Task ids: main tasks, then victims, then up to 2 children per main task.
    let child_base = (n_main + ABORT_VICTIMS) as u32;
    let n_ids = n_main + ABORT_VICTIMS + 2 * n_main;
    let homes: Vec<HomeColor> = (0..HOMES)
        .map(|i| {
            let color = Color::new(7_000_000 + i as u64);
            HomeColor {
                color,
                counter: hue::ColorCell::new(color, 0),
                expected: AtomicU64::new(0),
            }
        })
        .collect();
    let shards: Vec<Shard> = (0..SHARDS)
        .map(|i| {
            let color = Color::new(8_000_000 + i as u64);
            Shard {
                color,
                sum: hue::ColorCell::new(color, 0),
                log: hue::ColorCell::new(color, Vec::new()),
                expected_sum: AtomicU64::new(0),
                expected_len: AtomicUsize::new(0),
            }
        })
        .collect();
    let colors: Vec<Color> = homes
        .iter()
        .map(|h| h.color)
        .chain(shards.iter().map(|s| s.color))
        .collect();
    let slot_of: HashMap<Color, usize> = colors.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    assert!(!slot_of.contains_key(&Color::DEFAULT));
    let shared = Arc::new(CellShared {
        shards,
        homes,
        slots: colors
            .iter()
            .map(|&color| ColorSlot {
                color,
                busy: AtomicBool::new(false),
                plain: AtomicU64::new(0),
                polls: AtomicU64::new(0),
            })
            .collect(),
        slot_of,
        violations: AtomicUsize::new(0),
        messages: Mutex::new(Vec::new()),
        completed: AtomicUsize::new(0),
        dropped_unfinished: AtomicUsize::new(0),
        drops_per_task: (0..n_ids).map(|_| AtomicU8::new(0)).collect(),
        children: Mutex::new(Vec::new()),
        sections: AtomicU64::new(0),
        recolors: AtomicU64::new(0),
        victim_touches: AtomicU64::new(0),
    });

    let mut foreign_tx = Vec::new();
    let mut foreign_threads = Vec::new();
    for _ in 0..CELL_FOREIGN_THREADS {
        let (tx, rx) = mpsc::channel();
        foreign_tx.push(tx);
        foreign_threads.push(thread::spawn(move || foreign_thread(rx)));
    }

    // Victims first (they loop until aborted), then the main tasks.
    let victims: Vec<JoinHandle<u32>> = (0..ABORT_VICTIMS)
        .map(|v| {
            let task = (n_main + v) as u32;
            let home = v % HOMES;
            rt.handle().spawn_colored(
                shared.homes[home].color,
                cell_task(&shared, &foreign_tx, task, home, None, 0),
            )
        })
        .collect();
    let mains: Vec<JoinHandle<u32>> = (0..n_main)
        .map(|t| {
            let home = (mix(t as u64 ^ 0x40_4E) % HOMES as u64) as usize;
            rt.handle().spawn_colored(
                shared.homes[home].color,
                cell_task(
                    &shared,
                    &foreign_tx,
                    t as u32,
                    home,
                    Some(cell_iterations()),
                    child_base + 2 * t as u32,
                ),
            )
        })
        .collect();
    drop(foreign_tx);

    let shared2 = shared.clone();
    let (n_children, victim_results) = rt.block_on(async move {
        let mut victims = Some(victims);
        for (t, h) in mains.into_iter().enumerate() {
            let v = h
                .await
                .expect("a task using recolor/in_color/ColorCell failed");
            assert_eq!(v, t as u32, "JoinHandle of task {t} returned {v}");
            if t == n_main / 3 {
                // Abort the victims mid-run (some are inside sections or between recolors).
                for v in victims.as_ref().unwrap() {
                    v.abort();
                }
            }
        }
        let mut victim_results = Vec::new();
        for h in victims.take().unwrap() {
            victim_results.push(h.await);
        }
        let children: Vec<JoinHandle<u32>> = std::mem::take(&mut *shared2.children.lock().unwrap());
        let n = children.len();
        for h in children {
            let v = h.await.expect("a child task failed");
            assert!(v >= child_base, "child JoinHandle returned {v}");
        }
        (n, victim_results)
    });
    for (v, r) in victim_results.into_iter().enumerate() {
        match r {
            Err(e) if e.is_cancelled() => {}
            other => panic!("aborted victim {v} (loops forever) ended with {other:?}"),
        }
    }

    // Read the cells through in_color from block_on's future (color 0 -> shard -> color 0).
    let shared3 = shared.clone();
    let sums: Vec<(u64, usize)> = rt.block_on(async move {
        let mut out = Vec::new();
        for sh in &shared3.shards {
            let got = hue::in_color(sh.color, async {
                (sh.sum.with(|v| *v), sh.log.with(|l| l.len()))
            })
            .await;
            assert_eq!(hue::current_color(), Color::DEFAULT);
            out.push(got);
        }
        out
    });
    let handle = rt.handle().clone();
    drop(rt);
    for t in foreign_threads {
        t.join().unwrap();
    }
    let metrics = handle.metrics();

    println!(
        "cells: {n_main} tasks + {ABORT_VICTIMS} aborted victims ({} victim steps) + {n_children} \
         children, sections: {}, recolors: {}, polls: {}, steals: {}, elapsed: {:?}",
        shared.victim_touches.load(Ordering::Relaxed),
        shared.sections.load(Ordering::Relaxed),
        shared.recolors.load(Ordering::Relaxed),
        metrics.polls(),
        metrics.steals(),
        started.elapsed()
    );

    let violations = shared.violations.load(Ordering::SeqCst);
    assert!(
        violations == 0,
        "{violations} violations, first ones:\n{}",
        shared.messages.lock().unwrap().join("\n")
    );
    assert_eq!(
        shared.completed.load(Ordering::SeqCst),
        n_main + n_children,
        "not every task completed"
    );
    assert_eq!(
        shared.dropped_unfinished.load(Ordering::SeqCst),
        ABORT_VICTIMS,
        "every aborted victim's future must be dropped once, unfinished"
    );
    for (i, sh) in shared.shards.iter().enumerate() {
        let (sum, len) = sums[i];
        assert_eq!(
            sum,
            sh.expected_sum.load(Ordering::SeqCst),
            "shard {i} ({}): ColorCell sum lost or duplicated updates",
            sh.color
        );
        assert_eq!(
            len,
            sh.expected_len.load(Ordering::SeqCst),
            "shard {i} ({}): ColorCell log has the wrong length",
            sh.color
        );
    }
    let mut shared = Arc::try_unwrap(shared)
        .unwrap_or_else(|_| panic!("tasks still hold the shared state after the runtime dropped"));
    let mut total_updates = 0;
    for (i, sh) in shared.shards.iter_mut().enumerate() {
        assert_eq!(*sh.sum.get_mut(), sh.expected_sum.load(Ordering::SeqCst));
        // Per task, the updates of one shard appear in program order (each task's sequence
        // numbers increase).
        let mut last: HashMap<u32, u32> = HashMap::new();
        for &(task, seq) in sh.log.get_mut().iter() {
            if let Some(&prev) = last.get(&task) {
                assert!(
                    seq > prev,
                    "shard {i}: task {task}'s updates out of order ({prev} then {seq})"
                );
            }
            last.insert(task, seq);
        }
        total_updates += sh.log.get_mut().len();
    }
    for (i, h) in shared.homes.into_iter().enumerate() {
        let expected = h.expected.load(Ordering::SeqCst);
        assert_eq!(
            h.counter.into_inner(),
            expected,
            "home color {i}: ColorCell counter lost or duplicated updates"
        );
    }
    assert!(total_updates > 0);
}

// ---------------------------------------------------------------------------------------------
// S1 with wakes from the reactor: sockets and timers.

/// One color's checks for the I/O test: overlap flag and the happens-before counter.
#[derive(Default)]
struct IoSlot {
    busy: AtomicBool,
    plain: AtomicU64,
    polls: AtomicU64,
}

/// Checks S1 around every poll of `inner`, which runs in the color of `slot`.
struct IoGuarded<F> {
    slots: Arc<Vec<IoSlot>>,
    violations: Arc<AtomicUsize>,
    slot: usize,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for IoGuarded<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let slot = &this.slots[this.slot];
        if slot.busy.swap(true, Ordering::Relaxed) {
            this.violations.fetch_add(1, Ordering::SeqCst);
        }
        let seen = slot.plain.load(Ordering::Relaxed);
        if seen != slot.polls.fetch_add(1, Ordering::Relaxed) {
            this.violations.fetch_add(1, Ordering::SeqCst);
        }
        let out = this.inner.as_mut().poll(cx);
        slot.plain.store(seen + 1, Ordering::Relaxed);
        slot.busy.store(false, Ordering::Relaxed);
        out
    }
}

/// Pairs of tasks in different colors ping-pong bytes over Unix socket pairs and sleep on
/// timers, so nearly every wake comes from the reactor (a worker parked in `epoll_wait`, or a
/// busy worker's non-blocking poll). Colors are shared by several pairs, so tasks of one color
/// are woken by I/O concurrently on different workers: S1 and its happens-before edge must
/// hold for every poll, and every exchange must complete.
#[test]
fn exclusion_holds_with_io_and_timer_wakes() {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    use hue::net::UnixStream;

    const IO_COLORS: usize = 16;
    const PAIRS: usize = 96;
    let rounds: u64 = if cfg!(debug_assertions) { 60 } else { 200 };
    let _w = watchdog_for("exclusion_holds_with_io_and_timer_wakes", WATCHDOG);
    let rt = common::runtime(WORKERS);
    let slots: Arc<Vec<IoSlot>> = Arc::new((0..IO_COLORS).map(|_| IoSlot::default()).collect());
    let violations = Arc::new(AtomicUsize::new(0));
    let color = |slot: usize| Color::new(0x10_0000 + slot as u64);
    let exchanged = rt.block_on(async {
        let mut tasks = Vec::new();
        for pair in 0..PAIRS {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let (ca, cb) = (pair % IO_COLORS, (pair * 7 + 3) % IO_COLORS);
            let guard = |slot: usize, fut| IoGuarded {
                slots: slots.clone(),
                violations: violations.clone(),
                slot,
                inner: Box::pin(fut),
            };
            let pinger: Pin<Box<dyn Future<Output = u64> + Send>> = Box::pin(async move {
                let mut sum = 0u64;
                for round in 0..rounds {
                    let x = mix(pair as u64 ^ round << 20);
                    a.write_all(&x.to_le_bytes()).await.unwrap();
                    let mut back = [0u8; 8];
                    a.read_exact(&mut back).await.unwrap();
                    assert_eq!(u64::from_le_bytes(back), x.wrapping_add(1));
                    if x % 8 == 0 {
                        hue::time::sleep(Duration::from_micros(x % 700)).await;
                    }
                    sum += 1;
                }
                sum
            });
            let ponger: Pin<Box<dyn Future<Output = u64> + Send>> = Box::pin(async move {
                let mut buf = [0u8; 8];
                let mut n = 0;
                while b.read_exact(&mut buf).await.is_ok() {
                    let x = u64::from_le_bytes(buf).wrapping_add(1);
                    if x % 5 == 0 {
                        hue::yield_now().await;
                    }
                    b.write_all(&x.to_le_bytes()).await.unwrap();
                    n += 1;
                }
                n
            });
            tasks.push(hue::spawn_colored(color(ca), guard(ca, pinger)));
            tasks.push(hue::spawn_colored(color(cb), guard(cb, ponger)));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.expect("an I/O task failed");
        }
        total
    });
    assert_eq!(
        violations.load(Ordering::SeqCst),
        0,
        "S1 violated with I/O wakes"
    );
    // Each round counts once at the pinger and once at the ponger.
    assert_eq!(exchanged, 2 * PAIRS as u64 * rounds);
    let m = rt.handle().metrics();
    let driver_polls: u64 = (0..m.workers()).map(|w| m.worker(w).driver_polls).sum();
    assert!(driver_polls > 0, "the reactor never ran");
}
