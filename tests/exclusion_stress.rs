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

/// Aborts the whole process if the test does not finish in time (no test may hang).
struct Watchdog(Option<mpsc::Sender<()>>);

impl Watchdog {
    fn new(what: &'static str, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("WATCHDOG: `{what}` did not finish within {limit:?}: aborting (hang)");
                std::process::abort();
            }
        });
        Watchdog(Some(tx))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
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
    let _watchdog = Watchdog::new("exclusion_stress", WATCHDOG);
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
