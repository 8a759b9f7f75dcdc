//! Approved snapshots of what a target did, in insta's `.snap` format and layout ([`format`],
//! [`store`]): `DIR/<scenario>.snap` accepted, `DIR/<scenario>.snap.new` pending, so Rust users
//! can keep `cargo insta review`; the harness reads and writes them itself, without a Rust
//! toolchain. Changes are shown as line diffs ([`diff`]); pending snapshots are accepted or
//! rejected all at once or one by one ([`review`]).

pub mod diff;
pub mod format;
pub mod review;
pub mod store;

pub use format::SnapFile;
pub use store::{SnapshotDir, SnapshotError};
