//! [`JoinError`]: why a task produced no output.

use std::any::Any;
use std::fmt;
use std::io;

/// A task failed to produce its output: it panicked, or it was cancelled (by
/// [`JoinHandle::abort`](crate::JoinHandle::abort) or by the runtime shutting down).
///
/// # Examples
///
/// ```
/// let err = hue_executor::block_on(async {
///     hue_executor::spawn(async { panic!("boom") }).await.unwrap_err()
/// });
/// assert!(err.is_panic());
/// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// ```
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// Boxed once more so that a `JoinError` (and so a finished task's stored output) is one
    /// pointer wide.
    Panic(Box<Panic>),
}

struct Panic {
    payload: Box<dyn Any + Send + 'static>,
    /// The payload's text, read when the error is made, so `&JoinError` never touches the
    /// payload (which is not `Sync`).
    message: Option<String>,
}

// SAFETY: the only non-`Sync` part is the payload, and no `&self` method reaches it: shared
// access reads only `message`; the payload leaves by value (`into_panic`, `try_into_panic`).
unsafe impl Sync for JoinError {}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        let message = payload
            .downcast_ref::<&'static str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        JoinError {
            repr: Repr::Panic(Box::new(Panic { payload, message })),
        }
    }

    /// Whether the task was cancelled, by `abort` or by the runtime shutting down.
    ///
    /// ```
    /// # hue_executor::block_on(async {
    /// let task = hue_executor::spawn(std::future::pending::<()>());
    /// task.abort();
    /// assert!(task.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// ```
    /// # hue_executor::block_on(async {
    /// let err = hue_executor::spawn(async { panic!() }).await.unwrap_err();
    /// assert!(err.is_panic());
    /// # });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic's payload, to inspect or to `std::panic::resume_unwind` with.
    ///
    /// # Panics
    ///
    /// If the error is not a panic (see [`try_into_panic`](Self::try_into_panic)).
    ///
    /// ```
    /// # hue_executor::block_on(async {
    /// let err = hue_executor::spawn(async { panic!("bad") }).await.unwrap_err();
    /// // Payloads are commonly a `&'static str` or a `String`.
    /// let payload = err.into_panic();
    /// let text = payload
    ///     .downcast_ref::<&str>()
    ///     .map(|s| s.to_string())
    ///     .or_else(|| payload.downcast_ref::<String>().cloned());
    /// assert_eq!(text.as_deref(), Some("bad"));
    /// # });
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task's error")
    }

    /// The panic's payload, or the error itself if the task was cancelled.
    ///
    /// ```
    /// # hue_executor::block_on(async {
    /// let task = hue_executor::spawn(std::future::pending::<()>());
    /// task.abort();
    /// assert!(task.await.unwrap_err().try_into_panic().is_err());
    /// # });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(panic) => Ok(panic.payload),
            Repr::Cancelled => Err(self),
        }
    }

    fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(panic) => panic.message.as_deref(),
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("task was cancelled"),
            (Repr::Panic(_), Some(msg)) => write!(f, "task panicked with message {msg:?}"),
            (Repr::Panic(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("JoinError::Cancelled"),
            (Repr::Panic(_), Some(msg)) => write!(f, "JoinError::Panic({msg:?}, ...)"),
            (Repr::Panic(_), None) => f.write_str("JoinError::Panic(...)"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    /// A cancelled task becomes `ErrorKind::Interrupted`, a panicked one `ErrorKind::Other`;
    /// the `JoinError` itself is the `io::Error`'s inner error.
    fn from(err: JoinError) -> io::Error {
        let kind = if err.is_cancelled() {
            io::ErrorKind::Interrupted
        } else {
            io::ErrorKind::Other
        };
        io::Error::new(kind, err)
    }
}
