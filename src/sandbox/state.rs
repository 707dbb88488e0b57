//! `zoho-auth sandbox --state FILE`: the sandbox's clients, grants and records on disk. The file is
//! written atomically (a temporary file beside it, mode 0600, then a rename) and read at start; a
//! file that cannot be read or is not a sandbox state is an error naming it, never a silent reset.
//! Paths are shown with Rust's debug quoting, which escapes control characters (the sandbox
//! imports nothing from the layers above it).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::world::{Saved, World};

/// Why a state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file exists but cannot be read.
    #[error(
        "cannot read the sandbox state file {path:?}: {source}.\n  Fix: make it readable, or pass another --state FILE."
    )]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file was read but is not a sandbox state this version understands.
    #[error(
        "the sandbox state file {path:?} is not a zoho-auth sandbox state: {reason}.\n  Fix: move it away (the sandbox then starts afresh and writes a new one), or pass another --state FILE."
    )]
    Corrupt { path: PathBuf, reason: String },
    /// The state could not be written.
    #[error(
        "cannot write the sandbox state file {path:?}: {source}.\n  Fix: check that its folder exists and is writable, or pass another --state FILE."
    )]
    Unwritable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The state file of a running sandbox and the last text written to it.
pub(crate) struct StateFile {
    path: PathBuf,
    /// The text last written; also serializes writers so an older snapshot never lands last.
    last: Mutex<String>,
}

impl StateFile {
    /// The file this state is kept in.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `path` into `world`. A missing file is a fresh start (and is written at once, so the
    /// demo clients are the same next time).
    pub(crate) fn open(path: &Path, world: &mut World) -> Result<StateFile, StateError> {
        let file = StateFile {
            path: path.to_path_buf(),
            last: Mutex::new(String::new()),
        };
        match fs::read(path) {
            Ok(bytes) => {
                let corrupt = |reason: String| StateError::Corrupt {
                    path: path.to_path_buf(),
                    reason,
                };
                let saved: Saved = serde_json::from_slice(&bytes)
                    .map_err(|e| corrupt(format!("not the expected JSON ({e})")))?;
                world.restore(saved).map_err(corrupt)?;
                *file.last.lock().unwrap_or_else(|e| e.into_inner()) =
                    String::from_utf8_lossy(&bytes).into_owned();
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StateError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
        file.write(&world.save())?;
        Ok(file)
    }

    /// Writes `text` unless it is what the file already holds.
    pub(crate) fn write(&self, text: &str) -> Result<(), StateError> {
        self.write_from(|| text.to_string())
    }

    /// Takes the snapshot while holding the file's lock, so an older snapshot never lands after a
    /// newer one, then writes it unless the file already holds it.
    pub(crate) fn write_from(&self, snapshot: impl FnOnce() -> String) -> Result<(), StateError> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let text = snapshot();
        if *last == text {
            return Ok(());
        }
        write_atomically(&self.path, text.as_bytes()).map_err(|source| StateError::Unwritable {
            path: self.path.clone(),
            source,
        })?;
        *last = text;
        Ok(())
    }
}

/// A temporary file beside `path` (mode 0600 on Unix), flushed to disk, then renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sandbox-state".to_string());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            options.mode(0o600);
            let mut file = options.open(&tmp)?;
            // The mode above applies only to a new file: a leftover keeps its own otherwise.
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        #[cfg(not(unix))]
        {
            let mut file = options.open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
