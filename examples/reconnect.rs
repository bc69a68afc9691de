//! A request that survives a flaky connection: the use case of the
//! `RestartableTask` of the Python library asyncio-concurrent-tasks.
//!
//! A "link" thread drops and restores a simulated connection at random. On
//! each drop it cancels the task, on each restore it starts it again, which
//! sends the request once more (the task's `f`). A reader thread plays the
//! server: it answers some requests, and a reply only gets through while the
//! connection that carried the request is still up. The first reply that
//! gets through completes the task; the main thread just waits for it.
//!
//! ```sh
//! cargo run --example reconnect
//! ```

use concurrent_tasks::{sleep, BlockingThreadedTaskPool, RestartableTask, TaskError};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// A small xorshift: random enough for a simulation, no dependency.
struct XorShift(u64);

impl XorShift {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos());
        XorShift(u64::from(nanos) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The simulated connection: up or down, and which connection it is (every
/// restore is a new one).
#[derive(Default)]
struct Link {
    up: AtomicBool,
    generation: AtomicU64,
}

/// A request on the wire: the attempt that sent it, on which connection.
struct Request {
    attempt: usize,
    generation: u64,
}

fn main() -> Result<(), TaskError> {
    let began = Instant::now();
    let link = Arc::new(Link::default());
    link.up.store(true, Ordering::SeqCst);
    let (wire, server_inbox) = mpsc::channel::<Request>();
    let attempts = Arc::new(AtomicUsize::new(0));

    // The attempts run on a pool thread; `f` is called by whoever starts.
    let pool = BlockingThreadedTaskPool::builder().name("net").start()?;
    let task: RestartableTask<String> = {
        let (link, attempts) = (link.clone(), attempts.clone());
        RestartableTask::new(move || {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            let generation = link.generation.load(Ordering::SeqCst);
            let wire = wire.clone();
            async move {
                sleep(Duration::from_millis(1)).await; // writing takes a moment
                println!("  attempt {attempt}: request sent on connection {generation}");
                let _ = wire.send(Request {
                    attempt,
                    generation,
                });
            }
        })
        .timeout(Duration::from_secs(1))
    };
    task.start_on(&pool)?;

    // The server: answers about one request in three, after a short delay.
    // A reply is lost when the connection that carried the request is gone.
    let server = {
        let (task, link) = (task.clone(), link.clone());
        std::thread::spawn(move || {
            let mut rng = XorShift::seeded();
            while let Ok(request) = server_inbox.recv_timeout(Duration::from_secs(5)) {
                std::thread::sleep(Duration::from_millis(2 + rng.below(10)));
                let same = link.generation.load(Ordering::SeqCst) == request.generation
                    && link.up.load(Ordering::SeqCst);
                // From the 10th attempt on the server always answers, so the
                // example ends quickly whatever the dice say.
                if (request.attempt >= 10 || rng.below(3) == 0) && same {
                    let reply = format!("pong to attempt {}", request.attempt);
                    if task.set_result(reply) {
                        return;
                    }
                } else {
                    println!("  attempt {}: no reply got through", request.attempt);
                }
            }
        })
    };

    // The flaky link: drop on a whim, restore soon after.
    let flaky = {
        let (task, link) = (task.clone(), link.clone());
        std::thread::spawn(move || {
            let mut rng = XorShift::seeded();
            let (mut drops, mut restores) = (0, 0);
            while !task.is_finished() {
                std::thread::sleep(Duration::from_millis(3 + rng.below(15)));
                if link.up.load(Ordering::SeqCst) {
                    link.up.store(false, Ordering::SeqCst);
                    if task.cancel() {
                        drops += 1;
                        println!("connection lost: attempt cancelled");
                    }
                } else {
                    link.generation.fetch_add(1, Ordering::SeqCst);
                    link.up.store(true, Ordering::SeqCst);
                    if task.start() {
                        restores += 1;
                        println!("connection back: request sent again");
                    }
                }
            }
            (drops, restores)
        })
    };

    let reply = task.wait_timeout(Duration::from_secs(10));
    let (drops, restores) = flaky.join().expect("link thread");
    server.join().expect("server thread");
    pool.stop()?;
    match reply {
        Some(Ok(reply)) => println!(
            "got {reply:?} after {} attempts ({drops} drops, {restores} restarts) in {:?}",
            attempts.load(Ordering::SeqCst),
            began.elapsed()
        ),
        Some(Err(error)) => println!("gave up: {error}"),
        None => println!("no reply within 10 s"),
    }
    Ok(())
}
