//! Where failures nobody will read go: a pool's `on_unhandled` hook, or one
//! line on stderr by default.
//!
//! A neutral sink: the executor, the pools and the task primitives hand it a
//! [`TaskError`] and know nothing of what happens next. Only `Panicked` and
//! `TimedOut` are reported (a `Cancelled` is what somebody asked for).
//!
//! The hook is user code: it is called through the crate's panic guard. A
//! hook that panics is reported once per sink on stderr and otherwise
//! ignored; the default reporter never panics (a closed stderr is ignored).

use crate::error::TaskError;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

/// A user's `on_unhandled` hook.
pub(crate) type Hook = Box<dyn Fn(TaskError) + Send + Sync>;

/// A shared [`Unhandled`] sink.
pub(crate) type Reporter = Arc<Unhandled>;

/// See the module docs.
pub(crate) struct Unhandled {
    /// Who reports (a pool's name), for the default line and the note about
    /// a panicking hook.
    source: String,
    hook: Option<Hook>,
    /// The hook panicked once already (said once on stderr).
    hook_panicked: AtomicBool,
}

impl Unhandled {
    /// A sink for `source` that calls `hook`, or writes one line on stderr
    /// without one.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // pools
    pub(crate) fn new(source: impl Into<String>, hook: Option<Hook>) -> Reporter {
        Arc::new(Unhandled {
            source: source.into(),
            hook,
            hook_panicked: AtomicBool::new(false),
        })
    }

    /// Hands `error` on if it is a failure somebody should hear about.
    pub(crate) fn report(&self, error: TaskError) {
        if !matches!(error, TaskError::Panicked(_) | TaskError::TimedOut) {
            return;
        }
        match &self.hook {
            None => stderr_line(format_args!(
                "concurrent_tasks: pool `{}`: unhandled task failure: {error}",
                self.source
            )),
            Some(hook) => {
                if let Err(message) = crate::guard::call_user(|| hook(error)) {
                    if !self.hook_panicked.swap(true, Ordering::Relaxed) {
                        stderr_line(format_args!(
                            "concurrent_tasks: pool `{}`: the on_unhandled hook panicked \
                             ({message}); later panics of it are ignored",
                            self.source
                        ));
                    }
                }
            }
        }
    }
}

impl fmt::Debug for Unhandled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unhandled")
            .field("source", &self.source)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

/// Writes one line on stderr, ignoring every error (a closed pipe, a full
/// disk): reporting must never panic.
#[cfg(feature = "std")]
fn stderr_line(line: fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Without `std` there is no stderr: a failure without a hook is dropped.
#[cfg(not(feature = "std"))]
fn stderr_line(_line: fmt::Arguments<'_>) {}

#[cfg(test)]
mod tests;
