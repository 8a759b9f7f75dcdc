//! Helpers shared by the harness's test binaries.

use std::path::PathBuf;

/// Replaces the text between `start` and `end` markers of the workspace README with `content`,
/// or, unless `UPDATE_README` is set, fails if it differs: generated tables cannot go stale.
pub fn check_readme_section(start: &str, end: &str, content: &str, how_to_update: &str) {
    let path: PathBuf = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md is readable");
    let (before, rest) = readme
        .split_once(start)
        .unwrap_or_else(|| panic!("README.md has no {start} marker"));
    let (_, after) = rest
        .split_once(end)
        .unwrap_or_else(|| panic!("README.md has no {end} marker"));
    let expected = format!("{before}{start}\n{content}{end}{after}");
    if std::env::var("UPDATE_README").is_ok() {
        std::fs::write(&path, &expected).expect("README.md is writable");
    } else {
        assert_eq!(readme, expected, "README.md is stale: {how_to_update}");
    }
}
