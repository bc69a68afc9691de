//! What every pool is configured with — name, size, timeout, `on_unhandled`
//! — held once for both builders ([`TaskPoolBuilder`](super::TaskPoolBuilder)
//! and [`ThreadedTaskPoolBuilder`](super::ThreadedTaskPoolBuilder)), set by
//! the same four methods ([`pool_setters!`]) and handed, resolved, to the
//! pool (and to a threaded pool's thread).

use crate::report::{Hook, Reporter, Unhandled};
use std::fmt;
use std::time::Duration;

/// The name of a pool that was given none.
const DEFAULT_NAME: &str = "task-pool";

/// A pool's settings as a builder collects them.
#[derive(Default)]
pub(crate) struct PoolConfig {
    pub(crate) name: Option<String>,
    /// `0`: unlimited.
    pub(crate) size: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) hook: Option<Hook>,
}

/// A pool's settings, resolved: the name defaulted, the hook made the pool's
/// sink, `Duration::MAX` made no timeout. Cheap to clone.
#[derive(Clone)]
pub(crate) struct PoolSettings {
    pub(crate) name: String,
    pub(crate) size: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) report: Reporter,
}

impl PoolConfig {
    pub(crate) fn resolve(self) -> PoolSettings {
        let name = self.name.unwrap_or_else(|| DEFAULT_NAME.to_owned());
        PoolSettings {
            report: Unhandled::new(name.clone(), self.hook),
            name,
            size: self.size,
            timeout: self.timeout.filter(|t| *t != Duration::MAX),
        }
    }
}

impl fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConfig")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("timeout", &self.timeout)
            .field("on_unhandled", &self.hook.is_some())
            .finish()
    }
}

/// Writes the setters of a [`PoolConfig`] (`name`, `size`, `timeout`,
/// `on_unhandled`) into a builder's `impl` block; `$($config).+` is the path
/// from `self` to its `PoolConfig`.
macro_rules! pool_setters {
    ($($config:ident).+) => {
        /// Names the pool, for its errors and its `on_unhandled` line (default
        /// `"task-pool"`); a threaded pool's thread takes the name too
        /// (`std::thread::current().name()` in a task), and a name with a NUL
        /// byte makes its `start` fail with `InvalidName`.
        pub fn name(mut self, name: impl Into<String>) -> Self {
            self.$($config).+.name = Some(name.into());
            self
        }

        /// At most `size` tasks run at once; the rest wait in FIFO order.
        /// `0` (the default) is unlimited. Services do not take a place.
        ///
        /// A task holds its place while it awaits a nested `run` of its own
        /// pool: with `size(1)` that run could never start, so it gets
        /// `Err(WouldDeadlock)` at once. With a larger size, nested runs
        /// deadlock only when every place is held by a task waiting that way
        /// — keep such nesting below the size, or use a second pool.
        pub fn size(mut self, size: usize) -> Self {
            self.$($config).+.size = size;
            self
        }

        /// Cancels a task running longer than `timeout` from its start (time
        /// waiting in the buffer does not count); its handle yields
        /// `TimedOut`. `Duration::MAX` is no limit. Services are not timed.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.$($config).+.timeout = Some(timeout);
            self
        }

        /// Receives every `Panicked` or `TimedOut` outcome that no handle will
        /// read, and the panics of users' code outside a task's poll (a
        /// destructor; a threaded pool's context drop and `on_stop`).
        /// Default: one line on stderr. A hook that panics is reported once
        /// on stderr and otherwise ignored: it never takes the pool down.
        pub fn on_unhandled(
            mut self,
            hook: impl Fn($crate::TaskError) + Send + Sync + 'static,
        ) -> Self {
            self.$($config).+.hook = Some(Box::new(hook));
            self
        }
    };
}
pub(crate) use pool_setters;
