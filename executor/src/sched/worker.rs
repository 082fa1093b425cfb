//! A worker thread: find a color, run a batch of its tasks, repeat; steal when out of work;
//! park when there is none anywhere.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_deque::{Steal, Worker as Deque};

use super::block_on::{hand_off, is_handoff};
use super::color_queue::{ColorQueue, Turn};
use super::colors::Closed;
use super::colors::{Buried, TaskJoin};
use super::context::{enter as enter_context, Current, ThreadContext, WorkerLocal};
use super::lone::{leave_lone, LeftLone};
use super::membership::{clone_queue, Joined, Leaving, TaskColor};
use super::section::Move;
use super::shared::{Runnable, Shared};
use super::task_list::{Batch, Released};
use super::{enter, push_into, schedule, BATCH, DRIVER_INTERVAL, INBOX_INTERVAL};
use crate::clock::coarse_now_ns;
use crate::metrics::WorkerCounters;
use crate::task::{Notified, RawTask, RunResult};
use crate::Color;

/// The worker thread's body: runs until the runtime shuts down.
pub(crate) fn run(index: usize, shared: Arc<Shared>, deque: Deque<Runnable>) {
    let ctx = ThreadContext::new(shared.clone(), Some(WorkerLocal::new(index, deque)));
    let _enter = enter_context(&ctx);
    let mut worker = Worker {
        index,
        shared,
        ctx: &ctx,
        local: ctx
            .worker
            .as_ref()
            .expect("a worker's context has its local part"),
        tick: 0,
        searching: false,
        clock: coarse_now_ns(),
        rng: 0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03),
    };
    worker.run();
}

/// The run loop's own state, and its view of the thread's context.
struct Worker<'a> {
    index: usize,
    shared: Arc<Shared>,
    ctx: &'a ThreadContext,
    /// The worker's part of `ctx`.
    local: &'a WorkerLocal,
    tick: u32,
    searching: bool,
    rng: u64,
    /// Coarse time at the end of the last poll (or of the last park): the next poll's start.
    clock: u64,
}

impl Worker<'_> {
    fn run(&mut self) {
        while !self.shared.is_shutdown() {
            if let Some(runnable) = self.next_local() {
                self.found_work();
                self.share_backlog();
                self.run_runnable(runnable);
                continue;
            }
            if !self.searching && self.shared.steal {
                self.searching = self.shared.idle.try_start_searching();
            }
            if self.searching {
                if let Some(runnable) = self.steal() {
                    self.found_work();
                    self.run_runnable(runnable);
                    continue;
                }
                self.searching = false;
                self.shared.idle.stop_searching();
            }
            self.park();
        }
        if self.searching {
            self.shared.idle.stop_searching();
        }
        self.local.color_cache.borrow_mut().clear();
        drop(self.local.next.take());
        self.flush_buried();
    }

    /// About to run a color while others wait in the local deque: if a worker sleeps and none
    /// is searching, wake one to steal them. A color queued alone does not wake anyone when it
    /// is queued (it will run right after the current poll, see `schedule_color`), but that
    /// poll may be long, or be followed by others: at the start of each turn the colors still
    /// queued behind it are offered to idle workers (tokio wakes a parked worker whenever its
    /// run queue holds more than the task about to run, for the same reason). The check is
    /// two relaxed loads when everyone is busy.
    fn share_backlog(&self) {
        if !self.local.deque.is_empty() && self.shared.idle.may_notify() {
            self.shared.notify_one();
        }
    }

    fn metrics(&self) -> &WorkerCounters {
        &self.shared.workers[self.index].metrics
    }

    /// Leaving the searching state with work in hand: if we were the last searcher, there may
    /// be more work, so wake another worker to look (tokio's rule).
    fn found_work(&mut self) {
        if self.searching {
            self.searching = false;
            if self.shared.idle.stop_searching() {
                self.shared.notify_one();
            }
        }
    }

    fn next_local(&mut self) -> Option<Runnable> {
        self.tick = self.tick.wrapping_add(1);
        if self.tick % DRIVER_INTERVAL == 0 {
            self.maintenance();
        }
        if self.tick % INBOX_INTERVAL == 0 {
            if let Some(queue) = self.pop_inbox() {
                self.local.next_streak.set(0);
                return Some(queue);
            }
        }
        if let Some(queue) = self.local.next.take() {
            self.local.next_streak.set(self.local.next_streak.get() + 1);
            return Some(queue);
        }
        self.local.next_streak.set(0);
        self.local.deque.pop().or_else(|| self.pop_inbox())
    }

    fn pop_inbox(&self) -> Option<Runnable> {
        let inbox = &self.shared.workers[self.index].inbox;
        loop {
            match inbox.steal_batch_and_pop(&self.local.deque) {
                Steal::Success(runnable) => return Some(runnable),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// Polls the driver without blocking, if no one else drives it (S7: I/O is seen even when
    /// every worker is busy).
    fn maintenance(&self) {
        if let Some(guard) = self.shared.try_lock_driver() {
            guard.driver.park(Some(Duration::ZERO));
            WorkerCounters::bump(&self.metrics().driver_polls);
        }
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Steals queued colors (half of a victim's deque, or a batch of its inbox), starting at a
    /// random victim. Each stolen color is whole: a queue handle, never part of one.
    fn steal(&mut self) -> Option<Runnable> {
        let n = self.shared.workers.len();
        let start = (self.next_rand() % n as u64) as usize;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            let remote = &self.shared.workers[victim];
            let found = steal_from(|| remote.stealer.steal_batch_and_pop(&self.local.deque))
                .or_else(|| steal_from(|| remote.inbox.steal_batch_and_pop(&self.local.deque)));
            if let Some(runnable) = found {
                // The colors taken are counted when they run here (`run_color`): a color can be
                // stolen back before it runs, and then it never moved.
                WorkerCounters::bump(&self.metrics().steals);
                return Some(runnable);
            }
        }
        None
    }

    /// Runs what this worker popped from a run queue.
    fn run_runnable(&mut self, runnable: Runnable) {
        match runnable {
            Runnable::Color(queue) => self.run_color(queue),
            Runnable::Task(task) => self.run_lone(task),
        }
    }

    /// Runs a color this worker now owns (it popped it from a run queue): a batch of at most
    /// [`BATCH`] tasks, then, if nothing else is queued on this worker, further batches of the
    /// same color without going back through the deque (a turn each, for the fairness ticks).
    fn run_color(&mut self, queue: Arc<ColorQueue>) {
        let previous_home = queue.home.swap(self.index, Relaxed);
        WorkerCounters::bump(&self.metrics().colors_run);
        let batch = queue.tasks.begin_run(BATCH);
        // A color from the next-run slot (the streak counts it) was made runnable here by tasks
        // moving into it: it was never queued elsewhere, so it was not stolen.
        let from_next = self.local.next_streak.get() > 0;
        if previous_home != self.index && !from_next {
            // Otherwise only a thief runs a color away from its home: it and its tasks moved
            // here.
            WorkerCounters::bump(&self.metrics().stolen_colors);
            WorkerCounters::add(&self.metrics().stolen_tasks, batch.len() as u64);
        }
        self.turn(queue, batch, None);
    }

    /// Runs a lone color (`lone`): its task, as often as it wakes itself while nothing else
    /// waits on this worker (a turn each). If the color becomes shared during a run (the task
    /// spawns into it, or a joiner's queue is adopted), the rest is a turn of its new queue.
    fn run_lone(&mut self, task: Notified) {
        WorkerCounters::bump(&self.metrics().colors_run);
        let raw = task.raw();
        // SAFETY: we hold the task's notification: its home is ours to move.
        let previous_home = unsafe { TaskColor::of(raw) }.set_home(self.index);
        // As in `run_color`: away from its home, and not from the next-run slot, it was
        // stolen.
        if previous_home != self.index && self.local.next_streak.get() == 0 {
            WorkerCounters::bump(&self.metrics().stolen_colors);
            WorkerCounters::bump(&self.metrics().stolen_tasks);
        }
        let mut task = task;
        loop {
            self.ctx.poll.current.set(Current::Lone(raw));
            WorkerCounters::bump(&self.metrics().polls);
            let result = RawTask::run(task);
            self.time_poll();
            let request = self.ctx.poll.pending_move.take();
            let current = self.ctx.poll.current.replace(Current::None);
            if let Current::Queue(queue) = current {
                // The color became shared: this worker owns its queue now.
                // SAFETY: the task's membership (or, if it completed, its entry in this turn's
                // released list) keeps the queue alive.
                let queue = unsafe { clone_queue(queue) };
                let requeue = match result {
                    RunResult::Requeue(task) => match request {
                        Some(to) if to.leaves(&queue) => {
                            self.move_task(&queue, task, to);
                            None
                        }
                        _ => Some(task),
                    },
                    RunResult::Done => None,
                };
                self.turn(queue, Batch::default(), requeue);
                return;
            }
            // The end of a turn, counted for the fairness ticks as a color's turn is.
            let keep_going = self.may_continue();
            let RunResult::Requeue(again) = result else {
                return;
            };
            // SAFETY: the notification keeps the task alive.
            let color = unsafe { TaskColor::of(raw) }.color();
            match request {
                Some(to) if to.leaves_lone(color) => return self.move_lone(again, to),
                _ => {}
            }
            if !keep_going {
                // Back of our deque; with other colors there, an idle worker may steal.
                self.local.deque.push(Runnable::Task(again));
                if self.local.deque.len() > 1 {
                    self.shared.notify_one();
                }
                return;
            }
            WorkerCounters::bump(&self.metrics().colors_run);
            task = again;
        }
    }

    /// Runs `batch` of `queue`, a color this worker owns (`Running`), then further batches
    /// while nothing else waits here. `requeue`: a task of the color to queue at its tail with
    /// the end of the first batch.
    fn turn(&mut self, queue: Arc<ColorQueue>, mut batch: Batch, mut requeue: Option<Notified>) {
        let queue_ptr = Arc::as_ptr(&queue);
        self.ctx.poll.current.set(Current::Queue(queue_ptr));
        loop {
            // A task of this color woken during the last poll of the batch: queued together
            // with the end of the turn (one lock); no poll of this color happens in between.
            while let Some(task) = batch.pop() {
                if is_handoff(task) {
                    // A `block_on` caller is next in this color: give it the color (still
                    // `Running`), with the rest of the batch back at the head.
                    debug_assert!(
                        requeue.is_none(),
                        "a requeue comes only after a whole batch"
                    );
                    let released = self.local.released.take();
                    queue.tasks.put_back_front(batch, released);
                    self.ctx.poll.current.set(Current::None);
                    self.retire(&queue, released);
                    // SAFETY: `task` is a handoff node queued by `acquire_or_enqueue`; its
                    // owner waits for exactly this.
                    unsafe { hand_off(task) };
                    return;
                }
                // Counted before the poll, so a snapshot taken by whoever the poll wakes sees it.
                WorkerCounters::bump(&self.metrics().polls);
                // SAFETY: the queue owned the entry's notification reference; now we do.
                let notified = unsafe { Notified::from_raw(task) };
                let result = RawTask::run(notified);
                self.time_poll();
                let request = self.ctx.poll.pending_move.take();
                if let RunResult::Requeue(notified) = result {
                    match request {
                        Some(to) if to.leaves(&queue) => self.move_task(&queue, notified, to),
                        _ => {
                            // SAFETY: a requeued task's notification keeps it alive.
                            let part = unsafe { TaskColor::of(notified.raw()) };
                            if !part.is_in(queue_ptr) {
                                schedule(notified);
                            } else if batch.is_empty() {
                                requeue = Some(notified);
                            } else {
                                push_into(&queue, notified);
                            }
                        }
                    }
                }
            }
            let keep_going = self.may_continue();
            let released = self.local.released.take();
            let turn =
                queue
                    .tasks
                    .finish_turn(requeue.take(), keep_going.then_some(BATCH), released);
            // Dropping the released tasks may run user `Drop` code (a join waker's): it must
            // not look like it runs in this color, which may already run elsewhere.
            self.ctx.poll.current.set(Current::None);
            self.retire(&queue, released);
            match turn {
                Turn::Continue(next) => {
                    WorkerCounters::bump(&self.metrics().colors_run);
                    self.ctx.poll.current.set(Current::Queue(queue_ptr));
                    batch = next;
                }
                Turn::Rescheduled { moved_in: true } => {
                    // Tasks moved in during the turn: they are sections waiting (see
                    // `WorkerLocal::next`).
                    self.ctx.schedule_next(queue);
                    return;
                }
                Turn::Rescheduled { moved_in: false } => {
                    // More arrived: back of our deque (we are its home now). If other colors
                    // wait there too, an idle worker may come and steal.
                    self.local.deque.push(Runnable::Color(queue));
                    if self.local.deque.len() > 1 {
                        self.shared.notify_one();
                    }
                    return;
                }
                Turn::Idle => return,
            }
        }
    }

    /// Times a poll (see [`crate::clock`]): it ran from the end of the previous one (or the
    /// last wake-up) to now.
    fn time_poll(&mut self) {
        let now = coarse_now_ns();
        let took = now.saturating_sub(self.clock);
        self.clock = now;
        let m = &self.shared.workers[self.index].metrics;
        if took >= self.shared.long_poll_ns {
            WorkerCounters::bump(&m.long_polls);
        }
        if took > m.longest_poll_ns.load(Relaxed) {
            m.longest_poll_ns.store(took, Relaxed);
        }
    }

    /// Moves a task that asked for it during its poll (S6) from `from` (the color this worker
    /// is running) to `target`: it leaves `from`'s member list and membership, joins `target`,
    /// and is queued at the back of `target`'s queue like any task that became runnable.
    ///
    /// The task is not polled at once in an idle `target` (a turn nested in `from`'s): the
    /// nested poll would hold `from` for as long as the task runs, and a task that returns
    /// from a short section to long work of its own would keep the section's color busy
    /// meanwhile, so every other task wanting that color would queue behind it.
    fn move_task(&mut self, from: &Arc<ColorQueue>, task: Notified, target: Move) {
        let raw = task.raw();
        let Ok((color, joined)) = self.join_target(raw, target) else {
            // Shutting down: stay in `from` (the shutdown walk drops it there).
            drop(task);
            return;
        };
        // A task is in one member list at a time: leave `from`'s before joining `to`'s.
        from.tasks.remove_member(raw);
        self.finish_move(task, color, joined);
    }

    /// Moves a lone color's task that asked for it (S6) to `target`, as
    /// [`move_task`](Self::move_task) does from a shared color.
    fn move_lone(&mut self, task: Notified, target: Move) {
        let raw = task.raw();
        let Ok((color, joined)) = self.join_target(raw, target) else {
            drop(task);
            return;
        };
        match leave_lone(&self.shared, raw) {
            LeftLone::Left(entry) => {
                // The entry's reference is the old holder's, which `finish_move` hands on.
                let _ = entry.into_raw();
                self.finish_move(task, color, joined);
            }
            LeftLone::Shared(queue) => {
                // A joiner had made the color shared: the task was a member of `queue`, which
                // this worker adopted and now owns; it leaves it like any member, and the
                // turn this worker took over ends.
                queue.tasks.remove_member(raw);
                self.finish_move(task, color, joined);
                if queue.tasks.finish_run() {
                    self.shared.schedule_color(queue);
                }
            }
        }
    }

    /// Joins `target` for a moving task (whose notification this worker holds): alone if the
    /// color is empty (or fresh and free), else as a member. Named colors go through this
    /// worker's color cache, which keeps them shared.
    fn join_target(&self, task: RawTask, target: Move) -> Result<(Color, Joined), Closed> {
        let color = match target {
            Move::Joined(membership) => {
                return Ok((membership.queue().color, Joined::Member(membership)))
            }
            Move::Color(color) if !color.is_fresh() => {
                let membership = self.ctx.join(color)?;
                return Ok((color, Joined::Member(membership)));
            }
            Move::Color(color) => color,
        };
        // A reference for a lone entry, in case the color is free.
        task.ref_inc();
        // SAFETY: the reference just taken goes to the map on `Lone`.
        let joined = unsafe {
            self.shared
                .colors
                .join_task(&self.shared, color, Some(self.index), task)
        };
        match joined {
            Ok(TaskJoin::Lone) => {
                // SAFETY: we hold the task's notification: its home is ours to set.
                unsafe { TaskColor::of(task) }.set_home(self.index);
                Ok((color, Joined::Lone(self.shared.clone())))
            }
            Ok(TaskJoin::Member(membership)) => {
                // SAFETY: the reference taken above, not used; the notification holds another.
                unsafe { task.drop_ref() };
                Ok((color, Joined::Member(membership)))
            }
            Err(closed) => {
                // SAFETY: as above.
                unsafe { task.drop_ref() };
                Err(closed)
            }
        }
    }

    /// The moving task, out of its old color's lists, takes its new color `joined` and enters
    /// it. Its old membership (if it had one) leaves; if it now is lone, its old holder's
    /// scheduler reference is dropped (the new entry took one of its own).
    fn finish_move(&mut self, task: Notified, color: Color, joined: Joined) {
        let raw = task.raw();
        let lone = matches!(joined, Joined::Lone(_));
        // SAFETY: we hold the task's notification: the right to change its color.
        let left = unsafe { TaskColor::of(raw).set(color, joined) };
        if lone {
            // SAFETY: the old member list's (or entry's) reference; the notification holds
            // another, so it is not the last.
            unsafe { raw.drop_ref() };
        }
        match enter(task, Some(self.index), true) {
            Some(Runnable::Color(queue)) => self.ctx.schedule_next(queue),
            Some(Runnable::Task(task)) => self.ctx.schedule_next_lone(task),
            None => {}
        }
        if let Some(empty) = left.and_then(Joined::membership).and_then(|m| m.leave()) {
            self.bury(Buried::Queue(empty));
        }
    }

    /// The tasks that completed during a turn have left the member list: their memberships
    /// leave `queue`'s color together, then the list's references to them are dropped.
    fn retire(&mut self, queue: &Arc<ColorQueue>, mut released: Released) {
        if released.len() == 0 {
            return;
        }
        let mut leaving = Leaving::new(queue.clone());
        released.for_each(|task| {
            // SAFETY: we ran the task to completion in this turn; no one else touches the
            // color of a completed task, and the member list's reference keeps it alive.
            let joined = unsafe { TaskColor::of(task).take() };
            if let Some(membership) = joined.and_then(Joined::membership) {
                leaving.add(membership);
            }
        });
        if let Some(empty) = leaving.finish() {
            self.bury(Buried::Queue(empty));
        }
        while let Some(task) = released.pop() {
            // SAFETY: the member list's reference, kept until now.
            unsafe { task.drop_ref() };
        }
    }

    fn bury(&mut self, buried: Buried) {
        self.local.bury(&self.shared, buried);
    }

    fn flush_buried(&mut self) {
        self.local.flush_buried(&self.shared);
    }

    /// Whether the worker may run another batch of the current color at once: nothing else
    /// waits on this worker, and it is not time to look at the inbox or shut down. Counts as a
    /// turn for the fairness ticks.
    fn may_continue(&mut self) -> bool {
        self.tick = self.tick.wrapping_add(1);
        if self.tick % DRIVER_INTERVAL == 0 {
            self.maintenance();
        }
        self.tick % INBOX_INTERVAL != 0 && !self.has_local_work() && !self.shared.is_shutdown()
    }

    fn has_local_work(&self) -> bool {
        self.local.has_next()
            || !self.local.deque.is_empty()
            || !self.shared.workers[self.index].inbox.is_empty()
    }

    fn others_have_work(&self) -> bool {
        self.shared
            .workers
            .iter()
            .enumerate()
            .any(|(i, w)| i != self.index && (!w.stealer.is_empty() || !w.inbox.is_empty()))
    }

    fn park(&mut self) {
        self.flush_buried();
        let shared = &*self.shared;
        shared.idle.register_sleeper(self.index);
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        let recheck = shared.is_shutdown()
            || self.has_local_work()
            || (shared.steal && shared.idle.num_searching() == 0 && self.others_have_work());
        if !recheck {
            WorkerCounters::bump(&self.metrics().parks);
            let remote = &shared.workers[self.index];
            match shared.try_lock_driver() {
                Some(guard) => {
                    remote.parker.park(Some(guard.driver));
                    WorkerCounters::bump(&self.metrics().driver_polls);
                }
                None => remote.parker.park(None),
            }
            // Time asleep is no poll's.
            self.clock = coarse_now_ns();
        }
        if !shared.idle.unregister_sleeper(self.index) {
            // A notifier took us off the list and counted us as searching.
            self.searching = true;
        }
    }
}

fn steal_from(mut f: impl FnMut() -> Steal<Runnable>) -> Option<Runnable> {
    loop {
        match f() {
            Steal::Success(queue) => return Some(queue),
            Steal::Empty => return None,
            Steal::Retry => continue,
        }
    }
}
