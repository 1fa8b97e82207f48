//! Notices when the account file is replaced by anyone else, the command line included, so the window shows
//! it and the refresher reschedules without polling: inotify on the data folder for `accounts.json` being
//! renamed into place (the store always writes a temporary file and renames it) or removed. The app's own
//! writes are told where they are made; the rename from its own temporary file is not reported again.

use std::path::Path;
use std::time::Duration;

/// How long a burst of changes may take before it is reported once.
pub const SETTLE: Duration = Duration::from_millis(150);

/// Calls `on_change` after the file `file_name` in `dir` changed, unless every change was a rename from
/// `own_temp` (this process's own writes); runs until the watch fails. Must run inside a tokio runtime.
#[cfg(target_os = "linux")]
pub async fn changes(dir: &Path, file_name: &str, own_temp: &str, mut on_change: impl FnMut()) -> std::io::Result<()> {
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
    let watched = AddWatchFlags::IN_MOVED_FROM | AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_CLOSE_WRITE | AddWatchFlags::IN_DELETE;
    inotify.add_watch(dir, watched)?;
    // `new` is deprecated for fds that might be closed while registered; this one is owned by the value
    // inside the `AsyncFd` and lives exactly as long as the registration.
    #[allow(deprecated)]
    let fd = AsyncFd::new(Fd(inotify))?;
    loop {
        let mut ready = fd.readable().await?;
        let mut events = match ready.try_io(|fd| fd.get_ref().0.read_events().map_err(std::io::Error::from)) {
            Ok(result) => result?,
            Err(_would_block) => continue,
        };
        if !events.iter().any(|e| e.name.as_deref().is_some_and(|n| n == file_name)) {
            continue;
        }
        tokio::time::sleep(SETTLE).await;
        // What came meanwhile belongs to this report.
        while let Ok(more) = fd.get_ref().0.read_events() {
            events.extend(more);
        }
        if changed_by_another(&events, file_name, own_temp) {
            on_change();
        }
    }
}

/// Whether `events` hold a change of `file_name` other than a rename from `own_temp`: a rename from
/// another name (another process's temporary file), a write in place or a removal. A rename whose
/// source is not among the events counts as another's.
#[cfg(target_os = "linux")]
fn changed_by_another(events: &[nix::sys::inotify::InotifyEvent], file_name: &str, own_temp: &str) -> bool {
    use nix::sys::inotify::AddWatchFlags;
    let is = |e: &nix::sys::inotify::InotifyEvent, name: &str| e.name.as_deref().is_some_and(|n| n == name);
    let own_renames: Vec<u32> = events.iter().filter(|e| e.mask.contains(AddWatchFlags::IN_MOVED_FROM) && is(e, own_temp)).map(|e| e.cookie).collect();
    events.iter().filter(|e| is(e, file_name)).any(|e| !(e.mask.contains(AddWatchFlags::IN_MOVED_TO) && own_renames.contains(&e.cookie)))
}

/// Elsewhere the window learns of changes when it reloads.
#[cfg(not(target_os = "linux"))]
pub async fn changes(_dir: &Path, _file_name: &str, _own_temp: &str, _on_change: impl FnMut()) -> std::io::Result<()> {
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
        let watcher = tokio::spawn(async move { changes(&path, "accounts.json", "accounts.json.tmp-1", move || tx.send(()).expect("send")).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        std::fs::write(dir.path().join("other.json"), "{}").expect("write");
        assert!(tokio::time::timeout(SETTLE * 3, rx.recv()).await.is_err(), "another file is not reported");
        // Another process's store: its own temporary file, renamed into place; twice at once.
        let store = AccountStore::new(dir.path().join("accounts.json"));
        store.save(&[]).expect("save");
        store.save(&[]).expect("save again at once");
        tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("reported").expect("one");
        assert!(tokio::time::timeout(SETTLE * 3, rx.recv()).await.is_err(), "a burst is reported once");
        watcher.abort();
    }

    #[tokio::test]
    async fn the_processs_own_writes_are_not_reported_but_one_by_another_among_them_is() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = AccountStore::new(dir.path().join("accounts.json"));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (path, own) = (dir.path().to_owned(), store.temp_file_name());
        let watcher = tokio::spawn(async move { changes(&path, "accounts.json", &own, move || tx.send(()).expect("send")).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.save(&[]).expect("save");
        store.save(&[]).expect("save again");
        assert!(tokio::time::timeout(SETTLE * 3, rx.recv()).await.is_err(), "own writes are not reported");
        // The command line's write between two of ours.
        store.save(&[]).expect("save");
        let other = dir.path().join("accounts.json.tmp-other");
        std::fs::write(&other, r#"{"version":1,"accounts":[]}"#).expect("write");
        std::fs::rename(&other, dir.path().join("accounts.json")).expect("rename");
        store.save(&[]).expect("save");
        tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("reported").expect("one");
        // A removal by someone else.
        std::fs::remove_file(dir.path().join("accounts.json")).expect("remove");
        tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("removal reported").expect("one");
        watcher.abort();
    }
}
