//! B8 with a calendar: the `OnTimePeriodicTask::schedule` example of the
//! crate's docs ("every day at 09:00 in Paris" with chrono and chrono-tz),
//! compiled and run here because the crate itself takes no time-zone
//! dependency, not even for its doctests.

use chrono::{DateTime, Days, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use concurrent_tasks::OnTimePeriodicTask;
use std::time::{Duration, SystemTime};

fn nine_in_paris_after(last: SystemTime) -> Option<SystemTime> {
    let local = DateTime::<Utc>::from(last).with_timezone(&Paris);
    let mut day = local.date_naive();
    loop {
        // `earliest`: the first 09:00 of a fall-back day; `None` (try the
        // next day) when 09:00 does not exist.
        if let Some(nine) = Paris
            .from_local_datetime(&day.and_hms_opt(9, 0, 0)?)
            .earliest()
        {
            let nine = SystemTime::from(nine.with_timezone(&Utc));
            if nine > last {
                return Some(nine);
            }
        }
        day = day.checked_add_days(Days::new(1))?;
    }
}

#[test]
fn b8_the_docs_paris_schedule_skips_the_missing_hour() {
    // 28 March 2026, 09:00 in Paris (08:00 UTC); clocks go forward that night.
    let first = SystemTime::from(Utc.with_ymd_and_hms(2026, 3, 28, 8, 0, 0).unwrap());
    let second = nine_in_paris_after(first).unwrap();
    assert_eq!(
        second.duration_since(first).unwrap(),
        Duration::from_secs(23 * 3600)
    );

    let daily_report = OnTimePeriodicTask::new(|| async { /* send the report */ }, first)
        .schedule(nine_in_paris_after);
    drop(daily_report);
}
