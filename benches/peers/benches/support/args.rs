//! The command line of a bench binary, as criterion reads it: whether this
//! is a real benchmark run (`cargo bench`, not `cargo test --benches`,
//! `--list` or `--profile-time`) and its filter. The extras a bench prints
//! after criterion (a summary, a report) run only in a real run.

/// Options of criterion's command line that take a value (so the value is
/// not read as a filter).
const VALUE_OPTIONS: &[&str] = &[
    "-c",
    "--color",
    "--colour",
    "-s",
    "--save-baseline",
    "-b",
    "--baseline",
    "--baseline-lenient",
    "--load-baseline",
    "--format",
    "--profile-time",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

/// `Some(filter)` in a real benchmark run (`None`: no filter), else `None`.
pub fn real_run() -> Option<Option<String>> {
    let mut bench = false;
    let mut filter = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => bench = true,
            "--test" | "--list" | "--ignored" => return None,
            a if a.starts_with("--profile-time") => return None,
            a if VALUE_OPTIONS.contains(&a) => {
                args.next();
            }
            a if a.starts_with('-') => {}
            a => filter = filter.or_else(|| Some(a.to_owned())),
        }
    }
    bench.then_some(filter)
}

/// `true` in a real run whose filter, if any, matches `name` (the filter
/// is a part of `name`, or names a part of it).
pub fn wanted(name: &str, key: &str) -> bool {
    match real_run() {
        None => false,
        Some(None) => true,
        Some(Some(f)) => f.contains(key) || name.contains(f.as_str()),
    }
}
