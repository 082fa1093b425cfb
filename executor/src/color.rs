//! Colors: the unit of mutual exclusion.
//!
//! A [`Color`] is a plain `u64`. Tasks of one color are never polled at the same time (S1);
//! tasks of different colors may be. Colors are keyed exactly (no hashing into a fixed pool of
//! slots, the pitfall of Asio's 193 strand implementations): two colors serialize only if they
//! are equal.
//!
//! The space is split in two halves. Values below 2^63 belong to the program: [`Color::new`]
//! takes any of them and [`Color::of`] hashes keys into them. Values with the top bit set are
//! handed out by [`Color::fresh`], from a process-wide counter, so a fresh color is never equal
//! to a color made by `of` and never to another fresh color. `Color::new` accepts the top half
//! too (it is a plain newtype), but a program that makes such values by hand may collide with
//! fresh colors; that is documented rather than checked, because `new` is `const`.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// The top bit marks colors made by [`Color::fresh`].
const FRESH_BIT: u64 = 1 << 63;

/// The color of a task: tasks of one color never run in parallel.
///
/// # Examples
///
/// ```
/// use hue_executor::Color;
///
/// let shard = Color::of(&"users/17");
/// assert_eq!(shard, Color::of(&"users/17")); // stable for a key
/// assert_ne!(Color::fresh(), Color::fresh()); // fresh colors are unique
/// assert_eq!(Color::DEFAULT, Color::new(0));
/// assert_eq!(Color::from(5u64).get(), 5);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Color(u64);

impl Color {
    /// Color 0: the color of `block_on`'s future, of tasks spawned outside any task, and so of
    /// every task of a program that never names a color. Such a program behaves like a
    /// single-threaded event loop.
    pub const DEFAULT: Color = Color(0);

    /// The color with this value.
    ///
    /// Values with the top bit set are where [`Color::fresh`] draws from; avoid making those by
    /// hand.
    ///
    /// ```
    /// # use hue_executor::Color;
    /// assert_eq!(Color::new(7).get(), 7);
    /// ```
    pub const fn new(value: u64) -> Color {
        Color(value)
    }

    /// A stable color for a key: equal keys give equal colors for the life of the process.
    ///
    /// Use it to give every task that touches one piece of state (a connection, a cache shard,
    /// a user) the same color. The result is never [`Color::DEFAULT`] and never a fresh color.
    /// The hash is SipHash with fixed keys, so it does not change between runs of one build;
    /// do not persist colors across builds.
    ///
    /// ```
    /// # use hue_executor::Color;
    /// let a = Color::of(&42u32);
    /// assert_eq!(a, Color::of(&42u32));
    /// assert_ne!(a, Color::DEFAULT);
    /// ```
    pub fn of<K: Hash + ?Sized>(key: &K) -> Color {
        #[allow(deprecated)]
        let mut hasher =
            std::hash::SipHasher::new_with_keys(0x6875_652d_636f_6c6f, 0x7273_2d6b_6579_7321);
        key.hash(&mut hasher);
        let value = hasher.finish() & !FRESH_BIT;
        Color(if value == 0 { 1 } else { value })
    }

    /// A color no other task uses: the way to say "this may run in parallel with everything".
    ///
    /// Never [`Color::DEFAULT`]; never equal to a color from [`Color::of`] or another call.
    ///
    /// ```
    /// # use hue_executor::Color;
    /// let (a, b) = (Color::fresh(), Color::fresh());
    /// assert_ne!(a, b);
    /// assert_ne!(a, Color::DEFAULT);
    /// ```
    pub fn fresh() -> Color {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Color(FRESH_BIT | (n & !FRESH_BIT))
    }

    /// The color's value.
    ///
    /// ```
    /// # use hue_executor::Color;
    /// assert_eq!(Color::new(3).get(), 3);
    /// ```
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Whether this color came from [`Color::fresh`].
    ///
    /// ```
    /// # use hue_executor::Color;
    /// assert!(Color::fresh().is_fresh());
    /// assert!(!Color::new(1).is_fresh());
    /// ```
    pub const fn is_fresh(self) -> bool {
        self.0 & FRESH_BIT != 0
    }
}

impl From<u64> for Color {
    fn from(value: u64) -> Color {
        Color(value)
    }
}

impl fmt::Debug for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_fresh() {
            write!(f, "Color(fresh#{})", self.0 & !FRESH_BIT)
        } else {
            write!(f, "Color({})", self.0)
        }
    }
}
