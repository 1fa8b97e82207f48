//! Notices when the account file is replaced by anyone, the command line included, so the window shows it
//! and the refresher reschedules without polling: inotify on the data folder for `accounts.json` being
//! renamed into place (the store always writes a temporary file and renames it) or removed.

use std::path::Path;
use std::time::Duration;

/// How long a burst of changes may take before it is reported once.
pub const SETTLE: Duration = Duration::from_millis(150);

/// Calls `on_change` after the file `file_name` in `dir` changed; runs until the watch fails. Must run
/// inside a tokio runtime.
#[cfg(target_os = "linux")]
pub async fn changes(dir: &Path, file_name: &str, mut on_change: impl FnMut()) -> std::io::Result<()> {
    use std::os::fd::{AsFd, AsRawFd, RawFd};

    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    use tokio::io::unix::AsyncFd;

    struct Fd(Inotify);
    impl AsRawFd for Fd {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_fd().as_raw_fd()
        }
    }

    std::fs::create_dir_all(dir)?;
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    inotify.add_watch(dir, AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_CLOSE_WRITE | AddWatchFlags::IN_DELETE)?;
    // `new` is deprecated for fds that might be closed while registered; this one is owned by the value
    // inside the `AsyncFd` and lives exactly as long as the registration.
    #[allow(deprecated)]
    let fd = AsyncFd::new(Fd(inotify))?;
    let ours = |events: &[nix::sys::inotify::InotifyEvent]| events.iter().any(|e| e.name.as_deref().is_some_and(|n| n == file_name));
    loop {
        let mut ready = fd.readable().await?;
        let events = match ready.try_io(|fd| fd.get_ref().0.read_events().map_err(std::io::Error::from)) {
            Ok(result) => result?,
            Err(_would_block) => continue,
        };
        if ours(&events) {
            tokio::time::sleep(SETTLE).await;
            // What came meanwhile belongs to this report.
            while fd.get_ref().0.read_events().is_ok() {}
            on_change();
        }
    }
}

/// Elsewhere the window learns of changes when it reloads.
#[cfg(not(target_os = "linux"))]
pub async fn changes(_dir: &Path, _file_name: &str, _on_change: impl FnMut()) -> std::io::Result<()> {
    std::future::pending().await
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::accounts::AccountStore;

    #[tokio::test]
    async fn a_change_by_another_writer_is_reported_once_and_other_files_are_not() {
        let dir = tempfile::tempdir().expect("tmp");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let path = dir.path().to_owned();
        let watcher = tokio::spawn(async move { changes(&path, "accounts.json", move || tx.send(()).expect("send")).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        std::fs::write(dir.path().join("other.json"), "{}").expect("write");
        assert!(tokio::time::timeout(SETTLE * 3, rx.recv()).await.is_err(), "another file is not reported");
        let store = AccountStore::new(dir.path().join("accounts.json"));
        store.save(&[]).expect("save");
        store.save(&[]).expect("save again at once");
        tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("reported").expect("one");
        assert!(tokio::time::timeout(SETTLE * 3, rx.recv()).await.is_err(), "a burst is reported once");
        watcher.abort();
    }
}
