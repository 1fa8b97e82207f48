//! Locks shared with other processes of the app (the GUI's refresher and `account-linker token` run at
//! once), as `flock`-style locks on small files beside the account file.
//!
//! A lock is held by an open file and released when it is dropped, also when the process dies, so a
//! crash never leaves a stale lock. [`RefreshLock`] also keeps a one-line journal: it says a refresh
//! request was sent and its answer not yet stored. Finding that line on the next refresh means the
//! earlier one was interrupted (crash, kill, a lost answer), so a rejection can be explained in words.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::StoreError;

/// An exclusive lock on a file, held until dropped.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Waits for and takes the exclusive lock on `path` (created if missing). Blocks the thread.
    pub fn exclusive(path: &Path) -> Result<Self, StoreError> {
        let io = |action: &'static str| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { action, path, source }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("create the folder of"))?;
        }
        let file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path).map_err(io("open"))?;
        file.lock().map_err(io("lock"))?;
        Ok(Self { file, path: path.to_path_buf() })
    }
}

/// The lock that makes one account's refresh single-flight across threads and processes, with its journal.
#[derive(Debug)]
pub struct RefreshLock {
    lock: FileLock,
}

impl RefreshLock {
    /// The lock file of `account_id` in `dir`.
    pub fn path(dir: &Path, account_id: &str) -> PathBuf {
        let safe: String = account_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        dir.join(format!("{safe}.lock"))
    }

    /// Waits for and takes the account's refresh lock. Blocks the thread.
    pub fn acquire(dir: &Path, account_id: &str) -> Result<Self, StoreError> {
        Ok(Self { lock: FileLock::exclusive(&Self::path(dir, account_id))? })
    }

    /// When an earlier refresh was sent and never finished (Unix seconds), if one was.
    pub fn interrupted(&mut self) -> Option<u64> {
        let mut text = String::new();
        self.lock.file.seek(SeekFrom::Start(0)).ok()?;
        self.lock.file.read_to_string(&mut text).ok()?;
        text.strip_prefix("in-flight ")?.trim().parse().ok()
    }

    /// Notes, durably, that a refresh request is about to be sent at `now` (Unix seconds).
    pub fn mark_in_flight(&mut self, now: u64) -> Result<(), StoreError> {
        self.write(format!("in-flight {now}\n").as_bytes())
    }

    /// Clears the journal: the answer was stored, or the provider's refusal recorded.
    pub fn finish(&mut self) -> Result<(), StoreError> {
        self.write(b"")
    }

    fn write(&mut self, content: &[u8]) -> Result<(), StoreError> {
        let path = &self.lock.path;
        let io = |action: &'static str| move |source| StoreError::Io { action, path: path.clone(), source };
        let f = &mut self.lock.file;
        f.set_len(0).map_err(io("truncate"))?;
        f.seek(SeekFrom::Start(0)).map_err(io("write"))?;
        f.write_all(content).map_err(io("write"))?;
        f.sync_data().map_err(io("flush"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn the_lock_is_exclusive_between_holders() {
        let dir = tempfile::tempdir().expect("tmp");
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (dir, inside, most) = (dir.path().to_path_buf(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    let _held = RefreshLock::acquire(&dir, "acc-1").expect("lock");
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_journal_survives_the_holder_and_is_cleared_by_finish() {
        let dir = tempfile::tempdir().expect("tmp");
        {
            let mut lock = RefreshLock::acquire(dir.path(), "a").expect("lock");
            assert_eq!(lock.interrupted(), None);
            lock.mark_in_flight(1234).expect("mark");
            // Dropped without finish: as if the process died here.
        }
        let mut lock = RefreshLock::acquire(dir.path(), "a").expect("lock");
        assert_eq!(lock.interrupted(), Some(1234));
        lock.finish().expect("finish");
        drop(lock);
        assert_eq!(RefreshLock::acquire(dir.path(), "a").expect("lock").interrupted(), None);
    }

    #[test]
    fn account_ids_cannot_escape_the_lock_folder() {
        let p = RefreshLock::path(Path::new("/x/locks"), "../../etc/passwd");
        assert_eq!(p, Path::new("/x/locks/______etc_passwd.lock"));
    }
}
