//! `TaskError`: every way a task, a handle or a pool can fail.
//!
//! Errors of the user's own work never come through here: they travel in the
//! task's output type `T` (for example `JoinHandle<Result<Reply, MyError>>`).

use alloc::string::String;
use core::fmt;

/// Why a task produced no output, or why an operation on a task or a pool was
/// refused.
///
/// The lifecycle errors (`NotRunning`, `AlreadyRunning`, `WouldDeadlock`) name
/// the pool they are about, so a program with several pools can tell which one
/// was misused.
///
/// ```
/// use concurrent_tasks::TaskError;
/// let e = TaskError::NotRunning { pool: "io".into() };
/// assert_eq!(e.to_string(), "task pool `io` is not running");
/// assert!(matches!(e, TaskError::NotRunning { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskError {
    /// The task was cancelled before it produced its output.
    Cancelled,
    /// The task ran past its time limit and was cancelled.
    TimedOut,
    /// The task panicked; the string is the panic message.
    Panicked(String),
    /// A restartable task was awaited before it was ever started.
    NotStarted,
    /// The pool was used while it was not running.
    NotRunning {
        /// The pool's name (its thread name, or `"unnamed"`).
        pool: String,
    },
    /// `start` was called on a pool that is already running.
    AlreadyRunning {
        /// The pool's name.
        pool: String,
    },
    /// A blocking call was made from the pool's own thread, where it would
    /// wait for itself forever.
    WouldDeadlock {
        /// The pool's name.
        pool: String,
    },
    /// A thread name the operating system cannot take (it contains a NUL byte).
    InvalidName(String),
    /// The pool's context initialiser failed or panicked; its message.
    Init(String),
    /// The pool's bound on waiting tasks is reached.
    Full,
    /// There is no executor on this thread to spawn onto or to time against.
    NoExecutor,
    /// The output was already taken (by an earlier poll, `join` or `wait`).
    AlreadyTaken,
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("task was cancelled"),
            TaskError::TimedOut => f.write_str("task timed out"),
            TaskError::Panicked(msg) => write!(f, "task panicked: {msg}"),
            TaskError::NotStarted => f.write_str("task was never started"),
            TaskError::NotRunning { pool } => write!(f, "task pool `{pool}` is not running"),
            TaskError::AlreadyRunning { pool } => {
                write!(f, "task pool `{pool}` is already running")
            }
            TaskError::WouldDeadlock { pool } => write!(
                f,
                "blocking call on task pool `{pool}` from its own thread would deadlock; \
                 await the task instead"
            ),
            TaskError::InvalidName(name) => write!(
                f,
                "invalid thread name {name:?}: names must not contain NUL bytes"
            ),
            TaskError::Init(msg) => write!(f, "context initialiser failed: {msg}"),
            TaskError::Full => f.write_str("task pool is full"),
            TaskError::NoExecutor => f.write_str(
                "no executor on this thread: call this inside `block_on`, a pool task, \
                 or through a `LocalExecutor`",
            ),
            TaskError::AlreadyTaken => f.write_str("task output was already taken"),
        }
    }
}

impl core::error::Error for TaskError {}

// The lifecycle errors, built in one place each.
#[cfg_attr(not(feature = "std"), allow(dead_code))] // pools and blocking waits
impl TaskError {
    /// `NotRunning` for the pool named `pool`.
    pub(crate) fn not_running(pool: &str) -> Self {
        TaskError::NotRunning { pool: pool.into() }
    }

    /// `AlreadyRunning` for the pool named `pool`.
    pub(crate) fn already_running(pool: &str) -> Self {
        TaskError::AlreadyRunning { pool: pool.into() }
    }

    /// `WouldDeadlock` for a blocking call on `pool`'s own thread.
    pub(crate) fn would_deadlock(pool: &str) -> Self {
        TaskError::WouldDeadlock { pool: pool.into() }
    }

    /// `WouldDeadlock` for a blocking call that would wait for the calling
    /// thread itself (named after that thread).
    #[cfg(feature = "std")]
    pub(crate) fn would_deadlock_here() -> Self {
        Self::would_deadlock(std::thread::current().name().unwrap_or("unnamed"))
    }
}
