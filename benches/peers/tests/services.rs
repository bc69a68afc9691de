//! S2 under a peer runtime: an async pool's `stop_timeout` awaited on
//! tokio's current-thread runtime (the rest of S1–S5 is in the root
//! package's `tests/services.rs`).

// The root package's test helpers, shared rather than copied.
#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{within, LONG};
use concurrent_tasks::{sleep, AsyncThreadedTaskPool, TaskError};
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

#[test]
fn s2_an_async_stop_timeout_under_tokio_returns_the_cancelled_count() {
    within(LONG, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let pool = AsyncThreadedTaskPool::builder().start().await.unwrap();
            let stuck = pool.create_task(std::future::pending::<()>()).unwrap();
            let quick = pool.create_task(sleep(10 * MS)).unwrap();
            // A tokio timer keeps running meanwhile: the stop does not block.
            let ticker = tokio::spawn(async {
                tokio::time::sleep(5 * MS).await;
                "ticked"
            });
            assert_eq!(pool.stop_timeout(50 * MS).await, Ok(1));
            assert_eq!(ticker.await.unwrap(), "ticked");
            assert_eq!(quick.await, Ok(()));
            assert_eq!(stuck.await, Err(TaskError::Cancelled));
        });
    });
}
