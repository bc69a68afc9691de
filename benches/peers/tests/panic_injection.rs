//! Containment (K1, K2, K3) under random workloads: a property test that
//! builds a threaded pool with random settings, throws a random list of
//! operations at it with panics injected wherever user code runs (a task's
//! poll, its future's drop, its output's drop, a `create_task_with` /
//! `run_with` builder, the context's drop, `on_stop`, the `on_unhandled`
//! hook), stops it with `stop_timeout`, and checks that the pool survived,
//! that every kept handle resolved exactly once to an outcome the contract
//! allows, and that every panic nobody could read was reported exactly once.
//!
//! It is a proptest rather than a cargo-fuzz target because libFuzzer aborts
//! on any panic, even one that is caught.
//!
//! This binary holds only this property test and one fixed workload run
//! through the same checks, so the panic hook it installs (silent for the
//! injected panics only, see [`silence_injected_panics`]) hides nothing of
//! any other test. The crate's own reports still reach stderr: the default
//! reporter's lines (pools without a hook) and the one-line note of a
//! panicking `on_unhandled` hook are part of what is exercised.

// The root package's test helpers, shared rather than copied.
#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{within, LONG};
use concurrent_tasks::{
    block_on, sleep, yield_now, AsyncThreadedTaskPool, BlockingThreadedTaskPool, TaskError,
    TaskHandle, ThreadedTaskPoolBuilder,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll};
use std::time::Duration;

/// Every injected panic's message starts with this.
const INJECTED: &str = "injected: ";

/// The bound given to `stop_timeout` at the end of each workload.
const STOP_BOUND: Duration = Duration::from_millis(200);

/// Drain time (ms of work per place) under which a size-limited pool surely
/// finishes its finite tasks within [`STOP_BOUND`] (half of it: the rest is
/// slack for a loaded machine).
const SURE_DRAIN_MS: u64 = 100;

/// Silences the panics this test injects on purpose (there are hundreds,
/// each would print a message and a backtrace note); every other panic (a
/// failed assertion, proptest's final report) still goes to the default
/// hook, so failures keep their message. Installed once, for the whole
/// binary: it holds only the two tests of this file.
fn silence_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            if !message.is_some_and(|m| m.starts_with(INJECTED)) {
                default(info);
            }
        }));
    });
}

// === the workload ===

/// What a task's future does when polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// Finishes at its first poll.
    Value,
    /// Sleeps that many ms, then finishes.
    Sleep(u8),
    /// Never finishes.
    Pending,
    /// Panics at its first poll.
    PanicNow,
    /// Sleeps that many ms, then panics.
    PanicAfter(u8),
}

/// A task's future: its body, and whether the future's own drop and its
/// output's drop panic.
#[derive(Clone, Copy, Debug)]
struct Spec {
    body: Body,
    future_drop_panics: bool,
    output_drop_panics: bool,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    /// `create_task(future)`; the handle is kept.
    Create(Spec),
    /// `create_task_with(builder)`, the builder panicking or building `spec`.
    CreateWith { builder_panics: bool, spec: Spec },
    /// The blocking (or `block_on`-driven) `run` of a future that finishes
    /// by itself. Turned into a `Create` when it could deadlock: a
    /// size-limited pool without a timeout whose places are all held by
    /// never-ending tasks.
    Run(Spec),
    /// As `Run`, through `run_with`.
    RunWith { builder_panics: bool, spec: Spec },
    /// Cancels one of the kept handles (if there is one): the one at this
    /// number modulo their count.
    Cancel(usize),
    /// Drops (detaches) one of the kept handles (if there is one), picked
    /// as by `Cancel`.
    Detach(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrontKind {
    Blocking,
    Async,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ContextKind {
    /// No context (`C = ()`).
    None,
    Plain,
    PanicsOnDrop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HookKind {
    /// No `on_unhandled`: the default reporter writes on stderr.
    Default,
    /// A hook that records what it receives.
    Record,
    /// A hook that records what it receives, then panics.
    RecordThenPanic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnStopKind {
    None,
    /// Yields, drops the context, returns.
    Fine,
    /// Panics before returning its future (the context is dropped while
    /// unwinding, so its own drop stays quiet).
    PanicsAtOnce,
    /// Yields, drops the context, then panics.
    PanicsLater,
}

#[derive(Clone, Debug)]
struct Settings {
    front: FrontKind,
    size: usize,
    timeout_ms: Option<u64>,
    daemon: bool,
    context: ContextKind,
    hook: HookKind,
    on_stop: OnStopKind,
}

#[derive(Clone, Debug)]
struct Workload {
    settings: Settings,
    ops: Vec<Op>,
}

// === strategies ===

fn finite_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        3 => Just(Body::Value),
        3 => (0..=5u8).prop_map(Body::Sleep),
        2 => Just(Body::PanicNow),
        2 => (0..=5u8).prop_map(Body::PanicAfter),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![4 => finite_body(), 1 => Just(Body::Pending)]
}

fn spec_of(body: impl Strategy<Value = Body>) -> impl Strategy<Value = Spec> {
    (body, prop::bool::weighted(0.3), prop::bool::weighted(0.3)).prop_map(
        |(body, future_drop_panics, output_drop_panics)| Spec {
            body,
            future_drop_panics,
            output_drop_panics,
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => spec_of(body()).prop_map(Op::Create),
        3 => (prop::bool::weighted(0.3), spec_of(body()))
            .prop_map(|(builder_panics, spec)| Op::CreateWith { builder_panics, spec }),
        2 => spec_of(finite_body()).prop_map(Op::Run),
        1 => (prop::bool::weighted(0.3), spec_of(finite_body()))
            .prop_map(|(builder_panics, spec)| Op::RunWith { builder_panics, spec }),
        2 => any::<usize>().prop_map(Op::Cancel),
        2 => any::<usize>().prop_map(Op::Detach),
    ]
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        prop_oneof![Just(FrontKind::Blocking), Just(FrontKind::Async)],
        0..=3usize,
        prop::option::weighted(0.4, 2..=10u64),
        any::<bool>(),
        prop_oneof![
            Just(ContextKind::None),
            Just(ContextKind::Plain),
            Just(ContextKind::PanicsOnDrop)
        ],
        prop_oneof![
            1 => Just(HookKind::Default),
            2 => Just(HookKind::Record),
            2 => Just(HookKind::RecordThenPanic)
        ],
        prop_oneof![
            Just(OnStopKind::None),
            Just(OnStopKind::Fine),
            Just(OnStopKind::PanicsAtOnce),
            Just(OnStopKind::PanicsLater)
        ],
    )
        .prop_map(
            |(front, size, timeout_ms, daemon, context, hook, on_stop)| Settings {
                front,
                size,
                timeout_ms,
                daemon,
                context,
                hook,
                on_stop,
            },
        )
}

fn workload() -> impl Strategy<Value = Workload> {
    (settings(), prop::collection::vec(op(), 1..=30))
        .prop_map(|(settings, ops)| Workload { settings, ops })
}

// === the user code under test: futures, outputs, context, hooks ===

/// What the user code saw: live values, what was made, what was reported.
#[derive(Default)]
struct Probe {
    live_futures: AtomicUsize,
    live_outputs: AtomicUsize,
    /// Ids of the futures made whose drop panics.
    panicky_futures: Mutex<Vec<usize>>,
    /// Ids of the outputs made whose drop panics.
    panicky_outputs: Mutex<Vec<usize>>,
    contexts_made: AtomicUsize,
    contexts_dropped: AtomicUsize,
    /// What the `on_unhandled` hook received (with a recording hook).
    reports: Mutex<Vec<TaskError>>,
}

impl Probe {
    fn take_reports(&self) -> Vec<TaskError> {
        std::mem::take(&mut *self.reports.lock().unwrap())
    }
}

/// A task's output; its drop may panic.
struct Out {
    id: usize,
    drop_panics: bool,
    probe: Arc<Probe>,
}

impl Out {
    fn new(id: usize, drop_panics: bool, probe: &Arc<Probe>) -> Self {
        probe.live_outputs.fetch_add(1, Ordering::SeqCst);
        if drop_panics {
            probe.panicky_outputs.lock().unwrap().push(id);
        }
        Out {
            id,
            drop_panics,
            probe: probe.clone(),
        }
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        self.probe.live_outputs.fetch_sub(1, Ordering::SeqCst);
        if self.drop_panics && !std::thread::panicking() {
            panic!("{INJECTED}output drop #{}", self.id);
        }
    }
}

impl fmt::Debug for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Out(#{})", self.id)
    }
}

/// Drops an output the test received, as its owner: a panic of its drop is
/// the test's own business (and silenced).
fn dispose(out: Out) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(out)));
}

/// A task's future: runs its [`Body`]; its own drop may panic. A named type
/// rather than an `async` block, so its drop runs when the pool drops the
/// future (an `async` block drops what it captured when it returns, inside
/// its last poll).
struct TaskFuture {
    id: usize,
    drop_panics: bool,
    probe: Arc<Probe>,
    inner: Pin<Box<dyn Future<Output = Out> + Send>>,
}

impl TaskFuture {
    fn new(id: usize, spec: Spec, probe: &Arc<Probe>) -> Self {
        probe.live_futures.fetch_add(1, Ordering::SeqCst);
        if spec.future_drop_panics {
            probe.panicky_futures.lock().unwrap().push(id);
        }
        let out_probe = probe.clone();
        let inner = async move {
            match spec.body {
                Body::Value => {}
                Body::Sleep(ms) => sleep(Duration::from_millis(ms.into())).await,
                Body::Pending => pending::<()>().await,
                Body::PanicNow => panic!("{INJECTED}poll #{id}"),
                Body::PanicAfter(ms) => {
                    sleep(Duration::from_millis(ms.into())).await;
                    panic!("{INJECTED}poll #{id}");
                }
            }
            Out::new(id, spec.output_drop_panics, &out_probe)
        };
        TaskFuture {
            id,
            drop_panics: spec.future_drop_panics,
            probe: probe.clone(),
            inner: Box::pin(inner),
        }
    }
}

impl Future for TaskFuture {
    type Output = Out;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out> {
        self.inner.as_mut().poll(cx)
    }
}

impl Drop for TaskFuture {
    fn drop(&mut self) {
        self.probe.live_futures.fetch_sub(1, Ordering::SeqCst);
        if self.drop_panics && !std::thread::panicking() {
            panic!("{INJECTED}future drop #{}", self.id);
        }
    }
}

/// The pool's context; its drop may panic.
struct Ctx {
    drop_panics: bool,
    probe: Arc<Probe>,
}

impl Drop for Ctx {
    fn drop(&mut self) {
        self.probe.contexts_dropped.fetch_add(1, Ordering::SeqCst);
        if self.drop_panics && !std::thread::panicking() {
            panic!("{INJECTED}ctx drop");
        }
    }
}

/// A `create_task_with` / `run_with` builder: panics, or builds `spec`.
fn builder<C>(
    id: usize,
    panics: bool,
    spec: Spec,
    probe: &Arc<Probe>,
) -> impl FnOnce(&C) -> TaskFuture + Send + 'static {
    let probe = probe.clone();
    move |_ctx: &C| {
        if panics {
            panic!("{INJECTED}builder #{id}");
        }
        TaskFuture::new(id, spec, &probe)
    }
}

// === the two fronts, behind one enum ===

enum Pool<C: 'static> {
    Blocking(BlockingThreadedTaskPool<C>),
    Async(AsyncThreadedTaskPool<C>),
}

impl<C: 'static> Pool<C> {
    fn start(&self) -> Result<(), TaskError> {
        match self {
            Pool::Blocking(p) => p.start(),
            Pool::Async(p) => block_on(p.start()),
        }
    }

    fn create(&self, future: TaskFuture) -> Result<TaskHandle<Out>, TaskError> {
        match self {
            Pool::Blocking(p) => p.create_task(future),
            Pool::Async(p) => p.create_task(future),
        }
    }

    fn create_with(
        &self,
        make: impl FnOnce(&C) -> TaskFuture + Send + 'static,
    ) -> Result<TaskHandle<Out>, TaskError> {
        match self {
            Pool::Blocking(p) => p.create_task_with(make),
            Pool::Async(p) => p.create_task_with(make),
        }
    }

    fn run<F>(&self, future: F) -> Result<F::Output, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Pool::Blocking(p) => p.run(future),
            Pool::Async(p) => block_on(p.run(future)),
        }
    }

    fn run_with(
        &self,
        make: impl FnOnce(&C) -> TaskFuture + Send + 'static,
    ) -> Result<Out, TaskError> {
        match self {
            Pool::Blocking(p) => p.run_with(make),
            Pool::Async(p) => block_on(p.run_with(make)),
        }
    }

    fn stop_timeout(&self, bound: Duration) -> Result<usize, TaskError> {
        match self {
            Pool::Blocking(p) => p.stop_timeout(bound),
            Pool::Async(p) => futures_lite::future::block_on(p.stop_timeout(bound)),
        }
    }

    fn stop(&self) -> Result<(), TaskError> {
        match self {
            Pool::Blocking(p) => p.stop(),
            Pool::Async(p) => block_on(p.stop()),
        }
    }

    fn is_running(&self) -> bool {
        match self {
            Pool::Blocking(p) => p.is_running(),
            Pool::Async(p) => p.is_running(),
        }
    }
}

/// Applies the settings shared by every context type (after `context`,
/// which resets `on_stop`).
fn configure<P, C: 'static>(
    mut b: ThreadedTaskPoolBuilder<P, C>,
    s: &Settings,
    probe: &Arc<Probe>,
) -> ThreadedTaskPoolBuilder<P, C> {
    b = b.name("injected").size(s.size).daemon(s.daemon);
    if let Some(ms) = s.timeout_ms {
        b = b.timeout(Duration::from_millis(ms));
    }
    if s.hook != HookKind::Default {
        let (probe, panics) = (probe.clone(), s.hook == HookKind::RecordThenPanic);
        b = b.on_unhandled(move |err| {
            probe.reports.lock().unwrap().push(err);
            if panics {
                panic!("{INJECTED}on_unhandled");
            }
        });
    }
    let kind = s.on_stop;
    if kind != OnStopKind::None {
        b = b.on_stop(move |ctx: C| {
            if kind == OnStopKind::PanicsAtOnce {
                panic!("{INJECTED}on_stop");
            }
            async move {
                yield_now().await;
                drop(ctx);
                if kind == OnStopKind::PanicsLater {
                    panic!("{INJECTED}on_stop");
                }
            }
        });
    }
    b
}

fn with_context<P>(
    b: ThreadedTaskPoolBuilder<P>,
    s: &Settings,
    probe: &Arc<Probe>,
) -> ThreadedTaskPoolBuilder<P, Ctx> {
    let (made_by, drop_panics) = (probe.clone(), s.context == ContextKind::PanicsOnDrop);
    let b = b.context(move || {
        made_by.contexts_made.fetch_add(1, Ordering::SeqCst);
        Ok::<_, String>(Ctx {
            drop_panics,
            probe: made_by.clone(),
        })
    });
    configure(b, s, probe)
}

// === the model ===

/// How a task was made.
#[derive(Clone, Copy, Debug)]
enum Made {
    Future(Spec),
    Builder { panics: bool, spec: Spec },
}

impl Made {
    /// The body of the future, if one was built.
    fn body(self) -> Option<Body> {
        match self {
            Made::Future(spec)
            | Made::Builder {
                panics: false,
                spec,
            } => Some(spec.body),
            Made::Builder { panics: true, .. } => None,
        }
    }

    fn builder_panics(self) -> bool {
        matches!(self, Made::Builder { panics: true, .. })
    }
}

/// An outcome, as the model speaks of it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Expect {
    Ok,
    Panicked(String),
    Cancelled,
    TimedOut,
}

/// A handle the workload kept.
struct Kept {
    id: usize,
    made: Made,
    cancelled: bool,
    handle: TaskHandle<Out>,
}

/// A task whose handle the workload dropped.
struct Detached {
    id: usize,
    made: Made,
    cancelled: bool,
}

struct Model {
    size: usize,
    timeout_ms: Option<u64>,
    kept: Vec<Kept>,
    detached: Vec<Detached>,
    /// Ids whose output was handed to the test (`run`, a kept handle).
    received: BTreeSet<usize>,
    /// Tasks created (not by `run`).
    created: usize,
    /// Never-ending tasks not cancelled through their handle (detached ones
    /// included: they keep their place).
    pending_uncancelled: usize,
    /// Milliseconds of work of the created tasks, counted as if they ran
    /// one after the other (a never-ending task counts its timeout).
    work_ms: u64,
}

impl Model {
    fn new(s: &Settings) -> Self {
        Model {
            size: s.size,
            timeout_ms: s.timeout_ms,
            kept: Vec::new(),
            detached: Vec::new(),
            received: BTreeSet::new(),
            created: 0,
            pending_uncancelled: 0,
            work_ms: 0,
        }
    }

    /// A `run` now could wait forever: every place of a size-limited pool
    /// without a timeout is (or will be) held by a never-ending task.
    fn run_could_deadlock(&self) -> bool {
        self.size > 0 && self.timeout_ms.is_none() && self.pending_uncancelled >= self.size
    }

    fn created(&mut self, id: usize, made: Made, handle: TaskHandle<Out>) {
        self.created += 1;
        let cap = |ms: u64| self.timeout_ms.map_or(ms, |t| ms.min(t)) + 2;
        self.work_ms += match made.body() {
            None => 0,
            Some(Body::Value | Body::PanicNow) => 1,
            Some(Body::Sleep(ms) | Body::PanicAfter(ms)) => cap(ms.into()),
            Some(Body::Pending) => {
                self.pending_uncancelled += 1;
                self.timeout_ms.map_or(2, |t| t + 2)
            }
        };
        self.kept.push(Kept {
            id,
            made,
            cancelled: false,
            handle,
        });
    }

    fn cancel(&mut self, pick: usize) {
        if self.kept.is_empty() {
            return;
        }
        let i = pick % self.kept.len();
        let kept = &mut self.kept[i];
        kept.handle.cancel();
        if !kept.cancelled {
            kept.cancelled = true;
            if kept.made.body() == Some(Body::Pending) {
                self.pending_uncancelled -= 1;
            }
        }
    }

    fn detach(&mut self, pick: usize) {
        if self.kept.is_empty() {
            return;
        }
        let i = pick % self.kept.len();
        let Kept {
            id,
            made,
            cancelled,
            handle,
        } = self.kept.remove(i);
        drop(handle);
        self.detached.push(Detached {
            id,
            made,
            cancelled,
        });
    }

    /// The stop's bound may cancel a task that was still waiting for a
    /// place: a size-limited pool whose places are all held by never-ending
    /// tasks, or with more work per place than surely drains in time.
    fn may_be_stuck(&self) -> bool {
        if self.size == 0 {
            return false;
        }
        let held = if self.timeout_ms.is_none() {
            self.pending_uncancelled.min(self.size)
        } else {
            0
        };
        let free = (self.size - held) as u64;
        free == 0 || self.work_ms / free >= SURE_DRAIN_MS
    }

    /// What a task made as `made` may end with when left alone.
    fn natural(&self, id: usize, made: Made) -> BTreeSet<Expect> {
        let timed = self.timeout_ms.is_some();
        let mut set = BTreeSet::new();
        let Some(body) = made.body() else {
            set.insert(Expect::Panicked(format!("{INJECTED}builder #{id}")));
            return set;
        };
        match body {
            Body::Value => {
                set.insert(Expect::Ok);
            }
            Body::Sleep(ms) => {
                set.insert(Expect::Ok);
                if timed && ms > 0 {
                    set.insert(Expect::TimedOut);
                }
            }
            Body::Pending => {
                set.insert(if timed {
                    Expect::TimedOut
                } else {
                    Expect::Cancelled
                });
            }
            Body::PanicNow => {
                set.insert(Expect::Panicked(format!("{INJECTED}poll #{id}")));
            }
            Body::PanicAfter(ms) => {
                set.insert(Expect::Panicked(format!("{INJECTED}poll #{id}")));
                if timed && ms > 0 {
                    set.insert(Expect::TimedOut);
                }
            }
        }
        set
    }

    /// What a created task's handle may give after the stop.
    fn allowed(&self, id: usize, made: Made, cancelled: bool) -> BTreeSet<Expect> {
        let mut set = self.natural(id, made);
        if cancelled || (self.may_be_stuck() && !made.builder_panics()) {
            set.insert(Expect::Cancelled);
        }
        set
    }
}

/// Checks the outcome of task `id` against `allowed`; takes (and disposes
/// of) its output.
fn check_outcome(
    id: usize,
    outcome: Result<Out, TaskError>,
    allowed: &BTreeSet<Expect>,
    model: &mut Model,
) -> Expect {
    let got = match outcome {
        Ok(out) => {
            assert_eq!(out.id, id, "task #{id} gave the output of task #{}", out.id);
            model.received.insert(id);
            dispose(out);
            Expect::Ok
        }
        Err(TaskError::Panicked(message)) => Expect::Panicked(message),
        Err(TaskError::Cancelled) => Expect::Cancelled,
        Err(TaskError::TimedOut) => Expect::TimedOut,
        Err(other) => panic!("task #{id}: unexpected error {other:?} (allowed: {allowed:?})"),
    };
    assert!(
        allowed.contains(&got),
        "task #{id}: got {got:?}, allowed {allowed:?}"
    );
    got
}

// === running a workload ===

fn execute(workload: Workload) {
    let probe = Arc::new(Probe::default());
    let s = &workload.settings;
    match (s.front, s.context) {
        (FrontKind::Blocking, ContextKind::None) => {
            let b = configure(BlockingThreadedTaskPool::builder(), s, &probe);
            exercise(Pool::Blocking(b.build()), &workload, &probe);
        }
        (FrontKind::Blocking, _) => {
            let b = with_context(BlockingThreadedTaskPool::builder(), s, &probe);
            exercise(Pool::Blocking(b.build()), &workload, &probe);
        }
        (FrontKind::Async, ContextKind::None) => {
            let b = configure(AsyncThreadedTaskPool::builder(), s, &probe);
            exercise(Pool::Async(b.build()), &workload, &probe);
        }
        (FrontKind::Async, _) => {
            let b = with_context(AsyncThreadedTaskPool::builder(), s, &probe);
            exercise(Pool::Async(b.build()), &workload, &probe);
        }
    }
}

fn exercise<C: 'static>(pool: Pool<C>, workload: &Workload, probe: &Arc<Probe>) {
    let s = &workload.settings;
    let mut model = Model::new(s);
    pool.start().expect("the pool starts");

    for (id, op) in workload.ops.iter().enumerate() {
        let run = match *op {
            Op::Run(spec) => Some(Made::Future(spec)),
            Op::RunWith {
                builder_panics,
                spec,
            } => Some(Made::Builder {
                panics: builder_panics,
                spec,
            }),
            _ => None,
        };
        let create = match (*op, run) {
            (Op::Create(spec), _) => Some(Made::Future(spec)),
            (
                Op::CreateWith {
                    builder_panics,
                    spec,
                },
                _,
            ) => Some(Made::Builder {
                panics: builder_panics,
                spec,
            }),
            (_, Some(made)) if model.run_could_deadlock() => Some(made),
            _ => None,
        };
        if let Some(made) = create {
            let handle = match made {
                Made::Future(spec) => pool.create(TaskFuture::new(id, spec, probe)),
                Made::Builder { panics, spec } => {
                    pool.create_with(builder::<C>(id, panics, spec, probe))
                }
            };
            let handle = handle.unwrap_or_else(|e| panic!("create #{id} refused: {e:?}"));
            model.created(id, made, handle);
        } else if let Some(made) = run {
            let outcome = match made {
                Made::Future(spec) => pool.run(TaskFuture::new(id, spec, probe)),
                Made::Builder { panics, spec } => {
                    pool.run_with(builder::<C>(id, panics, spec, probe))
                }
            };
            let allowed = model.natural(id, made);
            check_outcome(id, outcome, &allowed, &mut model);
        } else {
            match *op {
                Op::Cancel(pick) => model.cancel(pick),
                Op::Detach(pick) => model.detach(pick),
                _ => unreachable!("every other op creates or runs"),
            }
        }
    }

    // The stop returns, with an answer: the pool thread did not die.
    let cancelled_by_bound = pool
        .stop_timeout(STOP_BOUND)
        .unwrap_or_else(|e| panic!("stop_timeout failed: {e:?}"));
    assert!(!pool.is_running(), "the pool runs on after its stop");

    // Every kept handle has its outcome, once, and an allowed one.
    let stuck = model.may_be_stuck();
    let kept = std::mem::take(&mut model.kept);
    let mut cancelled_unasked = 0;
    for mut k in kept {
        assert!(
            k.handle.is_finished(),
            "task #{} ({:?}) has no outcome after the stop returned",
            k.id,
            k.made
        );
        let outcome = k
            .handle
            .wait_timeout(LONG)
            .unwrap_or_else(|| panic!("task #{} did not resolve", k.id));
        let allowed = model.allowed(k.id, k.made, k.cancelled);
        if check_outcome(k.id, outcome, &allowed, &mut model) == Expect::Cancelled && !k.cancelled {
            cancelled_unasked += 1;
        }
        let again = k.handle.wait_timeout(LONG);
        assert!(
            matches!(again, Some(Err(TaskError::AlreadyTaken))),
            "task #{}: waiting again gave {again:?}",
            k.id
        );
    }

    // What the stop's bound cancelled.
    let n = cancelled_by_bound;
    assert!(
        n <= model.created,
        "stop_timeout says {n} tasks were cancelled, of {} created",
        model.created
    );
    assert!(
        cancelled_unasked <= n,
        "{cancelled_unasked} kept tasks were cancelled by the stop, which counts {n}"
    );
    let never_ending = if s.timeout_ms.is_none() {
        model.pending_uncancelled
    } else {
        0
    };
    if stuck {
        assert!(
            n >= never_ending,
            "{never_ending} never-ending tasks, yet stop_timeout cancelled {n}"
        );
    } else {
        assert_eq!(
            n, never_ending,
            "stop_timeout cancelled {n} tasks; the never-ending ones left were {never_ending}"
        );
    }

    // Every future was dropped (on the pool thread), every output too.
    assert_eq!(
        probe.live_futures.load(Ordering::SeqCst),
        0,
        "futures left alive after the stop"
    );
    assert_eq!(
        probe.live_outputs.load(Ordering::SeqCst),
        0,
        "outputs left alive after the stop and the reads"
    );
    if s.context != ContextKind::None {
        assert_eq!(probe.contexts_made.load(Ordering::SeqCst), 1);
        assert_eq!(probe.contexts_dropped.load(Ordering::SeqCst), 1);
    }

    // Every failure nobody could read was reported, exactly once.
    if s.hook != HookKind::Default {
        check_reports(&probe.take_reports(), probe, &model, s, stuck);
    }

    // The same pool value starts again and serves.
    pool.start().expect("the pool starts again after the stop");
    assert!(pool.is_running());
    assert_eq!(pool.run(async { 1 }), Ok(1));
    pool.stop().expect("the second stop");
    assert!(!pool.is_running());
    if s.context != ContextKind::None {
        assert_eq!(probe.contexts_made.load(Ordering::SeqCst), 2);
        assert_eq!(probe.contexts_dropped.load(Ordering::SeqCst), 2);
    }
    if s.hook != HookKind::Default {
        let reports = probe.take_reports();
        let teardown = reports.len();
        assert_eq!(
            teardown,
            expected_teardown_reports(s),
            "reports of the second run: {reports:?}"
        );
        for report in reports {
            let TaskError::Panicked(m) = &report else {
                panic!("unexpected report {report:?}");
            };
            assert!(m.contains("injected: ctx drop") || m.contains("injected: on_stop"));
        }
    }
}

/// Reports of the teardown (context drop, `on_stop`) at each stop.
fn expected_teardown_reports(s: &Settings) -> usize {
    let ctx_panics = s.context == ContextKind::PanicsOnDrop;
    match s.on_stop {
        OnStopKind::None | OnStopKind::Fine => usize::from(ctx_panics),
        OnStopKind::PanicsAtOnce | OnStopKind::PanicsLater => 1,
    }
}

/// Checks what the `on_unhandled` hook received during the first run.
fn check_reports(reports: &[TaskError], probe: &Probe, model: &Model, s: &Settings, stuck: bool) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut teardown = 0;
    let mut timeouts = 0;
    for report in reports {
        match report {
            TaskError::TimedOut => timeouts += 1,
            TaskError::Panicked(m) => {
                let at = m
                    .find(INJECTED)
                    .unwrap_or_else(|| panic!("a reported panic that was not injected: {m:?}"));
                let key = &m[at + INJECTED.len()..];
                if key == "ctx drop" || key == "on_stop" {
                    teardown += 1;
                } else {
                    *counts.entry(key.to_owned()).or_default() += 1;
                }
            }
            other => panic!("on_unhandled received {other:?}"),
        }
    }
    assert!(
        timeouts == 0 || s.timeout_ms.is_some(),
        "{timeouts} TimedOut reported by a pool without a timeout"
    );
    assert!(
        timeouts <= model.detached.len(),
        "{timeouts} TimedOut reported for {} detached tasks",
        model.detached.len()
    );
    assert_eq!(
        teardown,
        expected_teardown_reports(s),
        "teardown reports (context drop, on_stop): {reports:?}"
    );

    // key → (least, most) times it must be reported.
    let mut bounds: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for &id in probe.panicky_futures.lock().unwrap().iter() {
        bounds.insert(format!("future drop #{id}"), (1, 1));
    }
    for &id in probe.panicky_outputs.lock().unwrap().iter() {
        if !model.received.contains(&id) {
            bounds.insert(format!("output drop #{id}"), (1, 1));
        }
    }
    for d in &model.detached {
        match d.made.body() {
            None => {
                let least = usize::from(!d.cancelled);
                bounds.insert(format!("builder #{}", d.id), (least, 1));
            }
            Some(Body::PanicNow | Body::PanicAfter(_)) => {
                let sure = match d.made.body() {
                    Some(Body::PanicAfter(ms)) => s.timeout_ms.is_none() || ms == 0,
                    _ => true,
                };
                let least = usize::from(sure && !d.cancelled && !stuck);
                bounds.insert(format!("poll #{}", d.id), (least, 1));
            }
            Some(_) => {}
        }
    }
    for (key, &(least, most)) in &bounds {
        let got = counts.get(key).copied().unwrap_or(0);
        assert!(
            (least..=most).contains(&got),
            "`{key}` reported {got} times, expected {least}..={most}; reports: {reports:?}"
        );
    }
    for key in counts.keys() {
        assert!(
            bounds.contains_key(key),
            "`{key}` reported, though nobody should hear of it; reports: {reports:?}"
        );
    }
}

proptest! {
    // Regressions live beside this file
    // (`panic_injection.proptest-regressions`).
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    /// K1, K2, K3: random workloads with panics injected wherever user code
    /// runs; the pool survives, every kept handle resolves once to an
    /// allowed outcome, unread failures are reported once, and the pool
    /// starts again.
    #[test]
    fn k1_random_pool_workloads_with_injected_panics_resolve_every_handle_and_stop_returns(
        workload in workload()
    ) {
        silence_injected_panics();
        within(Duration::from_secs(20), move || execute(workload));
    }
}

/// The same checks on one fixed workload that reaches every injection
/// point, on both fronts: a quick, deterministic witness next to the
/// random search.
#[test]
fn k1_a_fixed_workload_with_every_injection_point_passes_the_same_checks() {
    silence_injected_panics();
    let spec = |body, future_drop_panics, output_drop_panics| Spec {
        body,
        future_drop_panics,
        output_drop_panics,
    };
    let ops = vec![
        Op::Create(spec(Body::Value, true, true)),
        Op::Create(spec(Body::Sleep(3), true, false)),
        Op::Create(spec(Body::Pending, true, false)),
        Op::Create(spec(Body::PanicNow, true, false)),
        Op::Create(spec(Body::PanicAfter(2), false, false)),
        Op::CreateWith {
            builder_panics: true,
            spec: spec(Body::Value, false, false),
        },
        Op::CreateWith {
            builder_panics: false,
            spec: spec(Body::Pending, true, false),
        },
        Op::Run(spec(Body::Sleep(1), true, true)),
        Op::RunWith {
            builder_panics: true,
            spec: spec(Body::Value, false, false),
        },
        Op::RunWith {
            builder_panics: false,
            spec: spec(Body::PanicNow, true, false),
        },
        // Cancel the never-ending task #2, detach the panicking #3 and the
        // output-dropping #0, keep the rest.
        Op::Cancel(2),
        Op::Detach(3),
        Op::Detach(0),
        Op::Create(spec(Body::Value, false, true)),
        Op::Detach(5),
    ];
    for front in [FrontKind::Blocking, FrontKind::Async] {
        let settings = Settings {
            front,
            size: 0,
            timeout_ms: None,
            daemon: false,
            context: ContextKind::PanicsOnDrop,
            hook: HookKind::RecordThenPanic,
            on_stop: OnStopKind::Fine,
        };
        let workload = Workload {
            settings,
            ops: ops.clone(),
        };
        within(Duration::from_secs(20), move || execute(workload));
    }
}
