//! One writer per output directory: an exclusive OS lock on a hidden file beside it.
//!
//! Why an OS lock (`flock` through `std::fs::File::try_lock`): the kernel releases it when
//! the holder exits, however it exits (a SIGKILL included), so no stale lock is ever left
//! to clean up by hand. The file sits beside the directory, like the staging directories
//! (`.NAME.capsim-lock`), so the directory's own contents stay exactly the results; it is
//! removed when the holder is done. Removing a lock file can race with a process that
//! opened it a moment before: each holder therefore checks, once locked, that the path
//! still names the file it locked, and tries again if not.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Held while a command writes a directory; dropping it releases the lock.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Removed while still locked: a process that opens the old file after this sees
        // (by the identity check) that it no longer names the lock, and starts again.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Why a directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("another capsim is writing to {} ({holder})", dir.display())]
    Busy {
        /// The directory asked for.
        dir: PathBuf,
        /// What the holder wrote in the lock file: its process id and command.
        holder: String,
    },
    /// The lock file could not be made or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The lock file of `dir`.
pub fn lock_path(dir: &Path) -> PathBuf {
    let (parent, name) = super::sibling_name(dir);
    parent.join(format!(".{name}.capsim-lock"))
}

/// Takes the lock of `dir` at once, or says who holds it; `command` is written into the
/// lock file for whoever is refused.
///
/// # Errors
/// [`LockError::Busy`] when another process holds it, [`LockError::Io`] when the file
/// beside `dir` cannot be created or locked.
pub fn lock(dir: &Path, command: &str) -> Result<DirLock, LockError> {
    let path = lock_path(dir);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Busy {
                    dir: dir.to_path_buf(),
                    holder: if holder.is_empty() {
                        "a process that is starting".into()
                    } else {
                        holder.into()
                    },
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        // The holder before us may have removed the file between our open and our lock.
        let same = match (std::fs::metadata(&path), file.metadata()) {
            (Ok(now), Ok(ours)) => now.dev() == ours.dev() && now.ino() == ours.ino(),
            _ => false,
        };
        if !same {
            continue;
        }
        file.set_len(0).map_err(io)?;
        write!(file, "pid {}: {command}", std::process::id()).map_err(io)?;
        return Ok(DirLock { file, path });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second lock on the same directory is refused, naming the holder; another
    /// directory is independent; once the first is dropped the lock is free and its
    /// file gone.
    #[test]
    fn one_holder_at_a_time() {
        let temp = std::env::temp_dir().join(format!("capsim-lock-test-{}", std::process::id()));
        let dir = temp.join("out");
        let first = lock(&dir, "capsim run a.yaml").expect("free");
        match lock(&dir, "capsim run b.yaml") {
            Err(LockError::Busy { holder, .. }) => {
                assert_eq!(
                    holder,
                    format!("pid {}: capsim run a.yaml", std::process::id())
                );
            }
            other => panic!("expected busy, got {other:?}"),
        }
        let other = lock(&temp.join("shard=1"), "capsim run --shard 1/2").expect("independent");
        drop(first);
        assert!(!lock_path(&dir).exists(), "the lock file is removed");
        let again = lock(&dir, "capsim run c.yaml").expect("free again");
        drop((again, other));
        let _ = std::fs::remove_dir_all(&temp);
    }
}
