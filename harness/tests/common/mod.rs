//! Helpers shared by the harness's test binaries (each uses some of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use stripe_harness::Scenario;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A scenario of the library (`scenarios/<name>.toml`).
pub fn scenario(name: &str) -> Scenario {
    Scenario::load(&workspace().join("scenarios").join(format!("{name}.toml")))
        .unwrap_or_else(|e| panic!("scenario {name}: {e}"))
}

/// The reference target's binary, built if needed.
pub fn reference_binary() -> PathBuf {
    built(&["-p", "reference-target"], "reference-target")
}

/// The hostile example target's binary, built if needed.
pub fn hostile_binary() -> PathBuf {
    built(
        &["-p", "stripe-harness", "--example", "hostile_target"],
        "examples/hostile_target",
    )
}

/// Builds with `cargo build --quiet <args>` (a no-op when up to date) and returns the debug
/// artefact at `relative` in the target directory.
fn built(args: &[&str], relative: &str) -> PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .arg("build")
        .arg("--quiet")
        .args(args)
        .current_dir(workspace())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build {args:?} failed");
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("target"));
    target_dir.join("debug").join(relative)
}

/// Replaces the text between `start` and `end` markers of the workspace README with `content`,
/// or, unless `UPDATE_README` is set, fails if it differs: generated tables cannot go stale.
pub fn check_readme_section(start: &str, end: &str, content: &str, how_to_update: &str) {
    let path = workspace().join("README.md");
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
