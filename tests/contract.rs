//! The contract can be looked up: every id of `tests/CONTRACT.md` names the
//! files of its tests, and each of those files holds a test named after the
//! id (`fn <id>_…`). A renamed or moved test fails here, not silently.

use std::path::Path;

/// `(id, files)` for each `- **ID**` entry and its `Tests:` line.
fn entries(contract: &str) -> Vec<(String, Vec<String>)> {
    let mut entries: Vec<(String, Vec<String>)> = Vec::new();
    for line in contract.lines() {
        if let Some(rest) = line.strip_prefix("- **") {
            let id = rest.split("**").next().unwrap_or_default();
            entries.push((id.to_owned(), Vec::new()));
        } else if let Some(list) = line.trim_start().strip_prefix("Tests: ") {
            let (_, files) = entries.last_mut().expect("a Tests: line follows an id");
            files.extend(list.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    entries
}

#[test]
fn every_contract_id_names_tests_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let contract = std::fs::read_to_string(root.join("tests/CONTRACT.md")).unwrap();
    let entries = entries(&contract);
    assert!(entries.len() >= 40, "ids found: {}", entries.len());
    for (id, files) in entries {
        assert!(!files.is_empty(), "{id} names no test file");
        let test = format!("fn {}_", id.to_lowercase());
        for file in files {
            let text = std::fs::read_to_string(root.join(&file))
                .unwrap_or_else(|e| panic!("{id}: {file}: {e}"));
            assert!(text.contains(&test), "{id}: {file} has no `{test}…`");
        }
    }
}
