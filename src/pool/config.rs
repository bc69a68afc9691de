//! What every pool is configured with — name, size, timeout, `on_unhandled`
//! — held once for both builders ([`TaskPoolBuilder`](super::TaskPoolBuilder)
//! and [`ThreadedTaskPoolBuilder`](super::ThreadedTaskPoolBuilder)) and
//! handed, resolved, to the pool (and to a threaded pool's thread).

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
