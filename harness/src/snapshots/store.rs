//! The snapshot folder: one `<scenario>.snap` per scenario (accepted), and beside it
//! `<scenario>.snap.new` (pending) when a run saw something else, as insta lays them out.

use std::path::{Path, PathBuf};

use crate::snapshots::format::SnapFile;

/// What can go wrong with the folder or its files: always naming the path.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a snapshot file: {message}")]
    Malformed { path: String, message: String },
    #[error("{0}")]
    Config(String),
}

/// A folder of snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotDir {
    dir: PathBuf,
}

/// The suffix of an accepted snapshot.
pub const ACCEPTED: &str = ".snap";
/// The suffix of a pending one.
pub const PENDING: &str = ".snap.new";

impl SnapshotDir {
    /// The folder `dir`, which need not exist yet (it is created by the first write). A path
    /// that exists and is not a folder is refused.
    pub fn new(dir: impl Into<PathBuf>) -> Result<SnapshotDir, SnapshotError> {
        let dir = dir.into();
        if dir.exists() && !dir.is_dir() {
            return Err(SnapshotError::Config(format!(
                "the snapshot folder {} is a file, not a folder",
                dir.display()
            )));
        }
        Ok(SnapshotDir { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `DIR/<name>.snap`.
    pub fn accepted_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{ACCEPTED}"))
    }

    /// `DIR/<name>.snap.new`.
    pub fn pending_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{PENDING}"))
    }

    /// The accepted snapshot of `name`, if there is one.
    pub fn accepted(&self, name: &str) -> Result<Option<SnapFile>, SnapshotError> {
        read(&self.accepted_path(name))
    }

    /// The pending snapshot of `name`, if there is one.
    pub fn pending(&self, name: &str) -> Result<Option<SnapFile>, SnapshotError> {
        read(&self.pending_path(name))
    }

    /// Writes `file` as the accepted snapshot of `name` and removes its pending one.
    pub fn write_accepted(&self, name: &str, file: &SnapFile) -> Result<PathBuf, SnapshotError> {
        let path = self.accepted_path(name);
        write(&self.dir, &path, &file.render())?;
        self.remove_pending(name)?;
        Ok(path)
    }

    /// Writes `file` as the pending snapshot of `name`.
    pub fn write_pending(&self, name: &str, file: &SnapFile) -> Result<PathBuf, SnapshotError> {
        let path = self.pending_path(name);
        write(&self.dir, &path, &file.render())?;
        Ok(path)
    }

    /// Removes the pending snapshot of `name`, if any.
    pub fn remove_pending(&self, name: &str) -> Result<(), SnapshotError> {
        let path = self.pending_path(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(SnapshotError::Io {
                action: "remove",
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// The names of the pending snapshots, sorted (none when the folder does not exist).
    pub fn pending_names(&self) -> Result<Vec<String>, SnapshotError> {
        self.names(PENDING)
    }

    /// The names of the accepted snapshots, sorted (none when the folder does not exist).
    pub fn accepted_names(&self) -> Result<Vec<String>, SnapshotError> {
        self.names(ACCEPTED)
    }

    /// The names of the files ending in `suffix`.
    fn names(&self, suffix: &str) -> Result<Vec<String>, SnapshotError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(SnapshotError::Io {
                    action: "read the folder",
                    path: self.dir.display().to_string(),
                    source,
                })
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| SnapshotError::Io {
                action: "read the folder",
                path: self.dir.display().to_string(),
                source,
            })?;
            let file_name = entry.file_name();
            if let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(suffix)) {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Makes the pending snapshot of `name` the accepted one.
    pub fn accept(&self, name: &str) -> Result<PathBuf, SnapshotError> {
        let pending = self.pending_path(name);
        // Read first: a malformed pending file is refused, never made the accepted one.
        let Some(file) = self.pending(name)? else {
            return Err(SnapshotError::Config(format!(
                "no pending snapshot {}",
                pending.display()
            )));
        };
        self.write_accepted(name, &file)
    }

    /// Drops the pending snapshot of `name`, keeping the accepted one.
    pub fn reject(&self, name: &str) -> Result<(), SnapshotError> {
        self.remove_pending(name)
    }
}

fn read(path: &Path) -> Result<Option<SnapFile>, SnapshotError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SnapshotError::Io {
                action: "read",
                path: path.display().to_string(),
                source,
            })
        }
    };
    let malformed = |message: String| SnapshotError::Malformed {
        path: path.display().to_string(),
        message,
    };
    let text = String::from_utf8(bytes).map_err(|_| malformed("it is not UTF-8 text".into()))?;
    SnapFile::parse(&text).map(Some).map_err(malformed)
}

fn write(dir: &Path, path: &Path, text: &str) -> Result<(), SnapshotError> {
    std::fs::create_dir_all(dir).map_err(|source| SnapshotError::Io {
        action: "create the folder",
        path: dir.display().to_string(),
        source,
    })?;
    std::fs::write(path, text).map_err(|source| SnapshotError::Io {
        action: "write",
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "stripe-harness-store-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn file(body: &str) -> SnapFile {
        SnapFile::with_body(body)
    }

    #[test]
    fn pending_snapshots_are_accepted_or_rejected() {
        let dir = SnapshotDir::new(temp("cycle")).unwrap();
        assert_eq!(dir.pending_names().unwrap(), Vec::<String>::new());
        dir.write_pending("b", &file("2")).unwrap();
        dir.write_pending("a", &file("1")).unwrap();
        assert_eq!(dir.pending_names().unwrap(), vec!["a", "b"]);
        assert!(dir.accepted_names().unwrap().is_empty());
        dir.accept("a").unwrap();
        assert_eq!(dir.accepted_names().unwrap(), vec!["a"]);
        assert_eq!(dir.accepted("a").unwrap().unwrap().body, "1");
        dir.reject("b").unwrap();
        assert!(dir.accepted("b").unwrap().is_none());
        assert!(dir.pending_names().unwrap().is_empty());
        assert!(dir
            .accept("b")
            .unwrap_err()
            .to_string()
            .contains("b.snap.new"));
        let _ = std::fs::remove_dir_all(dir.path());
    }

    #[test]
    fn a_malformed_file_is_named_and_never_accepted() {
        let dir = SnapshotDir::new(temp("malformed")).unwrap();
        std::fs::create_dir_all(dir.path()).unwrap();
        std::fs::write(dir.pending_path("x"), "no header").unwrap();
        let err = dir.accept("x").unwrap_err().to_string();
        assert!(err.contains("x.snap.new is not a snapshot file"), "{err}");
        assert!(dir.accepted("x").unwrap().is_none());
        std::fs::write(dir.accepted_path("y"), [0xff, 0xfe]).unwrap();
        let err = dir.accepted("y").unwrap_err().to_string();
        assert!(err.contains("y.snap") && err.contains("UTF-8"), "{err}");
        let _ = std::fs::remove_dir_all(dir.path());
    }

    #[test]
    fn a_file_is_no_snapshot_folder() {
        let path = temp("file");
        std::fs::write(&path, "x").unwrap();
        let err = SnapshotDir::new(&path).unwrap_err().to_string();
        assert!(err.contains("is a file"), "{err}");
        let _ = std::fs::remove_file(&path);
    }
}
