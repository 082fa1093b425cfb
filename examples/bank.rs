//! A bank with no locks: accounts sharded into colors, transfers as stretches of code run in
//! the color that owns the money.
//!
//! ```text
//! cargo run --release --example bank
//! ```
//!
//! 1,000 accounts are split into 8 shards (account `a` lives in shard `a % 8`). Each shard's
//! balances are a `ColorCell<Shard>` of the color `Color::of(&("bank-shard", i))`: only tasks
//! running in that color can touch them, one at a time (S1), so there is no `Mutex` anywhere.
//! 64 clients, each a task in a `Color::fresh()` color, make 2,000 transfers each between random
//! accounts. A transfer is two critical sections:
//!
//! ```text
//! in_color(from_shard, async { debit, if the funds are there }).await
//! in_color(to_shard,   async { credit }).await
//! ```
//!
//! (one section if both accounts are in the same shard). A debit that finds too little money is
//! rejected and counted; it is not an error. While a transfer is between its two sections the
//! money is in neither shard, so only after every client has finished does the program sum the
//! shards (each in its own color) and assert that the total is what it started with.
//!
//! What to look at:
//! - `total conserved: X == X` — the invariant held without a lock;
//! - per-worker polls: the shards' critical sections and the clients ran on every worker;
//! - steals and stolen tasks: idle workers took whole colors (with their queued tasks) from busy
//!   ones;
//! - long polls: 0 on a quiet machine, as no task blocks its worker (the count is of wall time
//!   between polls, so a worker thread the OS preempted, on a busy machine, shows up here too);
//! - active colors, sampled while the clients ran: up to 8 shards + 64 clients + color 0 (the
//!   `block_on` caller) = 73. A client inside a shard's section counts in the shard's color, and
//!   its own fresh color stays active too (`in_color` holds the way back).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hue::{in_color, Color, ColorCell, Runtime};

const SHARDS: usize = 8;
const ACCOUNTS: usize = 1_000;
const INITIAL_BALANCE: u64 = 1_000;
const CLIENTS: usize = 64;
const TRANSFERS_PER_CLIENT: usize = 2_000;
const MAX_AMOUNT: u64 = 500;

/// The state one color owns: the balances of the accounts in one shard, and its counters.
#[derive(Debug)]
struct Shard {
    /// `balances[a / SHARDS]` is the balance of account `a` (with `a % SHARDS` this shard).
    balances: Vec<u64>,
    debits: u64,
    credits: u64,
    rejected: u64,
}

/// The bank: one `ColorCell` per shard, each in its own color.
type Bank = Arc<Vec<ColorCell<Shard>>>;

/// What one client did.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    done: u64,
    cross_shard: u64,
    rejected: u64,
}

/// A small xorshift64* generator: enough randomness for picking accounts, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n
    }
}

/// Takes `amount` from `account` if it has that much. Runs in the account's shard color.
fn debit(shard: &mut Shard, account: usize, amount: u64) -> bool {
    let balance = &mut shard.balances[account / SHARDS];
    if *balance >= amount {
        *balance -= amount;
        shard.debits += 1;
        true
    } else {
        shard.rejected += 1;
        false
    }
}

/// Adds `amount` to `account`. Runs in the account's shard color.
fn credit(shard: &mut Shard, account: usize, amount: u64) {
    shard.balances[account / SHARDS] += amount;
    shard.credits += 1;
}

/// One client: `TRANSFERS_PER_CLIENT` transfers between random accounts.
async fn client(bank: Bank, seed: u64) -> Tally {
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    for _ in 0..TRANSFERS_PER_CLIENT {
        let from = rng.below(ACCOUNTS as u64) as usize;
        let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
        let amount = 1 + rng.below(MAX_AMOUNT);
        let (src, dst) = (&bank[from % SHARDS], &bank[to % SHARDS]);

        let ok = if src.color() == dst.color() {
            // Both accounts in one shard: one critical section does the whole transfer.
            in_color(src.color(), async {
                src.with(|s| {
                    let ok = debit(s, from, amount);
                    if ok {
                        credit(s, to, amount);
                    }
                    ok
                })
            })
            .await
        } else {
            // Debit in the source shard's color, then credit in the destination's.
            let ok = in_color(src.color(), async { src.with(|s| debit(s, from, amount)) }).await;
            if ok {
                in_color(dst.color(), async { dst.with(|s| credit(s, to, amount)) }).await;
                tally.cross_shard += 1;
            }
            ok
        };
        if ok {
            tally.done += 1;
        } else {
            tally.rejected += 1;
        }
    }
    tally
}

fn main() -> std::io::Result<()> {
    let rt = Runtime::new()?;
    let workers = rt.handle().metrics().workers();
    println!(
        "hue bank: {ACCOUNTS} accounts in {SHARDS} shard colors, {CLIENTS} clients x \
         {TRANSFERS_PER_CLIENT} transfers, {workers} workers\n"
    );

    let bank: Bank = Arc::new(
        (0..SHARDS)
            .map(|i| {
                let accounts = (i..ACCOUNTS).step_by(SHARDS).count();
                let shard = Shard {
                    balances: vec![INITIAL_BALANCE; accounts],
                    debits: 0,
                    credits: 0,
                    rejected: 0,
                };
                ColorCell::new(Color::of(&("bank-shard", i)), shard)
            })
            .collect(),
    );
    let initial_total = INITIAL_BALANCE * ACCOUNTS as u64;

    // A plain thread samples the metrics while the clients run, to see the colors in use.
    let running = Arc::new(AtomicBool::new(true));
    let peak_colors = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (handle, running, peak) = (rt.handle().clone(), running.clone(), peak_colors.clone());
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                peak.fetch_max(handle.metrics().active_colors(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };

    let start = Instant::now();
    let (tally, shard_stats, total) = rt.block_on(async {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| hue::spawn_colored(Color::fresh(), client(bank.clone(), i as u64 + 1)))
            .collect();
        let mut tally = Tally::default();
        for c in clients {
            let t = c.await.expect("client failed");
            tally.done += t.done;
            tally.cross_shard += t.cross_shard;
            tally.rejected += t.rejected;
        }

        // Every transfer has finished: sum the shards, each read in its own color.
        let mut stats = Vec::new();
        let mut total = 0;
        for shard in bank.iter() {
            let (sum, debits, credits, rejected) = in_color(shard.color(), async {
                shard.with(|s| {
                    (
                        s.balances.iter().sum::<u64>(),
                        s.debits,
                        s.credits,
                        s.rejected,
                    )
                })
            })
            .await;
            total += sum;
            stats.push((sum, debits, credits, rejected));
        }
        (tally, stats, total)
    });
    let elapsed = start.elapsed();
    running.store(false, Ordering::Relaxed);
    sampler.join().expect("sampler thread panicked");

    let attempted = (CLIENTS * TRANSFERS_PER_CLIENT) as u64;
    assert_eq!(tally.done + tally.rejected, attempted);
    println!(
        "{attempted} transfers in {:.1} ms: {} done ({} across shards), {} rejected (insufficient funds)\n",
        elapsed.as_secs_f64() * 1e3,
        tally.done,
        tally.cross_shard,
        tally.rejected
    );
    println!(
        "{:<8} {:>10} {:>8} {:>8} {:>9}",
        "shard", "balance", "debits", "credits", "rejected"
    );
    for (i, (sum, debits, credits, rejected)) in shard_stats.iter().enumerate() {
        println!("{i:<8} {sum:>10} {debits:>8} {credits:>8} {rejected:>9}");
    }
    let rejected: u64 = shard_stats.iter().map(|s| s.3).sum();
    assert_eq!(rejected, tally.rejected, "shards and clients disagree");

    println!("\ntotal conserved: {total} == {initial_total}");
    assert_eq!(total, initial_total, "money was created or lost");

    let m = rt.handle().metrics();
    println!(
        "\n{:<8} {:>9} {:>7} {:>13} {:>11} {:>13}",
        "worker", "polls", "steals", "stolen tasks", "long polls", "longest poll"
    );
    for w in 0..m.workers() {
        let wm = m.worker(w);
        println!(
            "{w:<8} {:>9} {:>7} {:>13} {:>11} {:>10.1} ms",
            wm.polls,
            wm.steals,
            wm.stolen_tasks,
            wm.long_polls,
            wm.longest_poll.as_secs_f64() * 1e3
        );
    }
    println!(
        "all      {:>9} {:>7} {:>13} {:>11}",
        m.polls(),
        m.steals(),
        (0..m.workers())
            .map(|w| m.worker(w).stolen_tasks)
            .sum::<u64>(),
        m.long_polls()
    );
    println!(
        "\nactive colors: {} at most while the clients ran (of {SHARDS} shards + {CLIENTS} \
         clients + color 0), {} now",
        peak_colors.load(Ordering::Relaxed),
        m.active_colors()
    );
    Ok(())
}
