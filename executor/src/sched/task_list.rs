//! The intrusive task lists of a color: its runnable tasks in order ([`Batch`]), its live
//! tasks ([`MemberList`]), and the tasks that completed during a turn ([`Released`]).
//!
//! Each list links tasks through their headers (`queue_next`, or `list_prev`/`list_next`) and
//! owns those links while a task is in it: a color queue's lists belong to whoever holds its
//! lock, a batch taken out of it to the worker that took it. No list allocates.

use crate::task::RawTask;

/// The live tasks of one color: an intrusive doubly-linked list through the tasks'
/// `list_prev`/`list_next` links, guarded by the color queue's lock (its only owner).
pub(crate) struct MemberList {
    head: Option<RawTask>,
}

impl MemberList {
    pub(crate) fn push(&mut self, task: RawTask) {
        let h = task.header();
        // SAFETY: the links are the list's, and the caller owns the list (holds the queue's lock).
        unsafe {
            h.list_prev.with_mut(|p| *p = None);
            h.list_next.with_mut(|p| *p = self.head);
            if let Some(old) = self.head {
                old.header().list_prev.with_mut(|p| *p = Some(task));
            }
        }
        self.head = Some(task);
    }

    pub(crate) fn remove(&mut self, task: RawTask) {
        let h = task.header();
        // SAFETY: the links are the list's, and the caller owns the list (holds the queue's
        // lock); the task is in this list (it joined this color and has not left).
        unsafe {
            let prev = h.list_prev.with(|p| *p);
            let next = h.list_next.with(|p| *p);
            match prev {
                Some(prev) => prev.header().list_next.with_mut(|p| *p = next),
                None => {
                    debug_assert_eq!(self.head, Some(task));
                    self.head = next;
                }
            }
            if let Some(next) = next {
                next.header().list_prev.with_mut(|p| *p = prev);
            }
            h.list_prev.with_mut(|p| *p = None);
            h.list_next.with_mut(|p| *p = None);
        }
    }
}

/// Tasks of a color that completed during its owner's turn, linked through `queue_next` (free
/// once a task is complete): they leave the member list at the end of the turn, under the lock
/// the turn takes anyway. Each holds its membership reference until then.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Released {
    head: Option<RawTask>,
    len: usize,
}

impl Released {
    pub(crate) fn push(&mut self, task: RawTask) {
        set_next(task, self.head);
        self.head = Some(task);
        self.len += 1;
    }

    pub(crate) fn pop(&mut self) -> Option<RawTask> {
        let task = self.head?;
        self.head = next_of(task);
        self.len -= 1;
        Some(task)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn for_each(&self, mut f: impl FnMut(RawTask)) {
        let mut cur = self.head;
        while let Some(task) = cur {
            cur = next_of(task);
            f(task);
        }
    }
}

/// A FIFO of tasks linked through `queue_next`: a color queue's runnable tasks (under its
/// lock), or a batch its owner took out of it.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    head: Option<RawTask>,
    tail: Option<RawTask>,
    len: usize,
}

fn next_of(task: RawTask) -> Option<RawTask> {
    // SAFETY: the link is owned by whoever owns the list the task is in (the queue's lock
    // holder, or the batch's owner); both callers below are such owners.
    task.header().queue_next.with(|p| unsafe { *p })
}

fn set_next(task: RawTask, next: Option<RawTask>) {
    // SAFETY: as in `next_of`.
    task.header().queue_next.with_mut(|p| unsafe { *p = next })
}

impl Batch {
    pub(crate) fn push_back(&mut self, task: RawTask) {
        set_next(task, None);
        match self.tail {
            Some(tail) => set_next(tail, Some(task)),
            None => self.head = Some(task),
        }
        self.tail = Some(task);
        self.len += 1;
    }

    /// Puts `front` before this list's tasks, in order.
    pub(crate) fn prepend(&mut self, front: Batch) {
        let Some(front_tail) = front.tail else {
            return;
        };
        set_next(front_tail, self.head);
        if self.tail.is_none() {
            self.tail = Some(front_tail);
        }
        self.head = front.head;
        self.len += front.len;
    }

    /// Up to `max` tasks from the head, in order.
    pub(crate) fn take_front(&mut self, max: usize) -> Batch {
        if self.len <= max {
            return std::mem::take(self);
        }
        let mut front = Batch::default();
        while front.len < max {
            let task = self.pop().expect("len counted the tasks");
            front.push_back(task);
        }
        front
    }

    pub(crate) fn pop(&mut self) -> Option<RawTask> {
        let task = self.head?;
        self.head = next_of(task);
        if self.head.is_none() {
            self.tail = None;
        }
        self.len -= 1;
        Some(task)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }
}

impl MemberList {
    pub(crate) fn new() -> MemberList {
        MemberList { head: None }
    }

    /// Every member, each with a reference taken for the caller.
    pub(crate) fn snapshot(&self, out: &mut Vec<RawTask>) {
        let mut cur = self.head;
        while let Some(task) = cur {
            task.ref_inc();
            out.push(task);
            // SAFETY: the links are the list's, and the caller owns the list.
            cur = task.header().list_next.with(|p| unsafe { *p });
        }
    }
}
