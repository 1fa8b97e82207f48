//! The per-account timeline: what happened to an account and when, for support staff. Kept on disk as
//! JSON lines (`<data>/timeline/<account-id>.jsonl`), bounded: past [`MAX_EVENTS`] the oldest are
//! dropped. Events are built from types that have no field able to carry a secret: the redirect's
//! parameter *names*, HTTP statuses, OAuth error codes, durations, never a token, code or verifier.
//! Sign-ins that ended without an account and disconnected accounts go to the timeline [`APP`].

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How many events a timeline keeps; when it grows past this, the oldest fifth is dropped.
pub const MAX_EVENTS: usize = 500;

/// The timeline of what belongs to no linked account: sign-ins that ended without one, disconnections.
pub const APP: &str = "app";

/// The outcome of one request to a provider's token endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    /// Whether tokens came back.
    pub ok: bool,
    /// HTTP status, when an answer came (none when unreachable or timed out).
    pub status: Option<u16>,
    /// How long the request took.
    pub ms: u64,
    /// The OAuth `error` code, or a short description of a transport or format failure.
    pub error: Option<String>,
    /// The provider's `error_description`.
    pub error_description: Option<String>,
    /// Whether a new refresh token came with the answer.
    pub new_refresh_token: bool,
    /// The access token's lifetime as the provider stated it (`expires_in`), if it did.
    pub expires_in: Option<u64>,
}

/// Something that happened to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Event {
    /// A sign-in started.
    #[serde(rename_all = "camelCase")]
    FlowStarted {
        /// Provider id.
        provider: String,
        /// The host of the authorize page.
        authorize_host: String,
        /// The scopes asked for.
        scopes: Vec<String>,
        /// The tenant (organization host), for providers that have one.
        tenant: Option<String>,
    },
    /// The provider redirected back; only the names of the parameters are kept.
    RedirectReceived {
        /// Parameter names, e.g. `code`, `state`, `domain`.
        params: Vec<String>,
    },
    /// A redirect to the app arrived from outside (the URI scheme, a pasted URL) and belonged to no
    /// sign-in in progress: refused, nothing stored. Only its target and parameter names are kept.
    CallbackRefused {
        /// Scheme and path, e.g. `org.accountlinker.app:/oauth2/demo` (never the query).
        target: String,
        /// Parameter names, e.g. `code`, `state`.
        params: Vec<String>,
        /// Why it was refused, in words.
        reason: String,
    },
    /// A sign-in moved from the login window to the default browser (same flow, same `state`).
    HandedToBrowser {
        /// `user` (the user asked) or `embedded_refused` (the provider refused the login window).
        why: String,
    },
    /// A sign-in ended without an account.
    FlowFailed {
        /// The error code (as the UI gets it).
        code: String,
        /// What went wrong, in words.
        message: String,
    },
    /// The authorization code was exchanged for tokens.
    CodeExchange(Exchange),
    /// A refresh request.
    Refresh(Exchange),
    /// A call to the provider's API to test the token.
    #[serde(rename_all = "camelCase")]
    ApiTest {
        /// The host called.
        host: String,
        /// HTTP status, if an answer came.
        status: Option<u16>,
        /// How long it took.
        ms: u64,
        /// Why no answer came.
        error: Option<String>,
    },
    /// The account's state changed.
    StateChanged {
        /// `connected` or `needsReconnect`.
        state: String,
        /// Why.
        reason: String,
    },
    /// The keyring failed.
    KeyringError {
        /// What was being done.
        step: String,
        /// The keyring's error.
        message: String,
    },
    /// An access token was handed to another program (`account-linker token`).
    TokenHandedOut {
        /// The program that asked (the parent process of the command line), e.g. `curl (pid 4242)`.
        program: String,
    },
    /// The account was disconnected; what happened at the provider.
    Disconnected {
        /// The revocation outcome in words.
        revocation: String,
    },
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// When (Unix milliseconds, UTC).
    pub at_ms: u64,
    /// What.
    #[serde(flatten)]
    pub event: Event,
}

/// A timeline as read back: its entries, oldest first, and how many lines could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineRead {
    /// The entries, oldest first.
    pub entries: Vec<Entry>,
    /// Lines that were not valid entries (a damaged file), skipped.
    pub unreadable_lines: usize,
}

/// Why a timeline could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("could not {action} the timeline {path}: {source}")]
pub struct TimelineError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// The timelines in one folder.
#[derive(Debug, Clone)]
pub struct Timelines {
    dir: PathBuf,
}

impl Timelines {
    /// Timelines kept in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The file of one account's timeline.
    pub fn path(&self, account_id: &str) -> PathBuf {
        // Account ids are UUIDs; anything else is reduced to a safe file name.
        let safe: String = account_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        self.dir.join(format!("{safe}.jsonl"))
    }

    /// Appends an event now. Appends from several processes don't interleave (the file is locked).
    pub fn record(&self, account_id: &str, event: Event) -> Result<(), TimelineError> {
        self.append(account_id, &[Entry { at_ms: crate::refresh::schedule::wall_now(), event }])
    }

    /// Appends entries (e.g. a sign-in's, once its account exists), dropping the oldest past the bound.
    pub fn append(&self, account_id: &str, entries: &[Entry]) -> Result<(), TimelineError> {
        let path = self.path(account_id);
        let err = |action: &'static str| {
            let path = path.clone();
            move |source| TimelineError { action, path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(err("create the folder of"))?;
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(self.path(account_id)).map_err(err("open"))?;
        file.lock().map_err(err("lock"))?;
        let mut text = String::new();
        for e in entries {
            // Serialising these plain types cannot fail.
            text.push_str(&serde_json::to_string(e).unwrap_or_default());
            text.push('\n');
        }
        file.write_all(text.as_bytes()).map_err(err("write"))?;
        compact(&mut file).map_err(err("trim"))?;
        Ok(())
    }

    /// Reads an account's timeline, oldest first; an account without one has an empty timeline.
    pub fn read(&self, account_id: &str) -> Result<TimelineRead, TimelineError> {
        let path = self.path(account_id);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TimelineRead::default()),
            Err(source) => return Err(TimelineError { action: "open", path, source }),
        };
        file.lock_shared().map_err(|source| TimelineError { action: "lock", path: path.clone(), source })?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|source| TimelineError { action: "read", path, source })?;
        Ok(parse(&text))
    }

    /// Removes an account's timeline.
    pub fn remove(&self, account_id: &str) -> Result<(), TimelineError> {
        let path = self.path(account_id);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(TimelineError { action: "remove", path, source: e }),
            _ => Ok(()),
        }
    }
}

fn parse(text: &str) -> TimelineRead {
    let mut out = TimelineRead::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Entry>(line) {
            Ok(e) => out.entries.push(e),
            Err(_) => out.unreadable_lines += 1,
        }
    }
    out
}

/// Past [`MAX_EVENTS`] lines, keeps the newest four fifths (so trimming is rare). The caller holds the lock.
fn compact(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    // A cheap bound first: entries are at least ~40 bytes, so small files need no count.
    if len < (MAX_EVENTS as u64) * 40 {
        return Ok(());
    }
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_string(&mut text)?;
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_EVENTS {
        return Ok(());
    }
    let keep = &lines[lines.len() - MAX_EVENTS * 4 / 5..];
    let mut kept = keep.join("\n");
    kept.push('\n');
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(kept.as_bytes())?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(n: usize) -> Event {
        Event::StateChanged { state: "connected".into(), reason: format!("event {n}") }
    }

    #[test]
    fn records_reads_back_and_survives_a_damaged_line() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = Timelines::new(dir.path().join("timeline"));
        assert_eq!(t.read("a").expect("read"), TimelineRead::default());
        t.record("a", Event::RedirectReceived { params: vec!["code".into(), "state".into()] }).expect("record");
        t.record("a", state(1)).expect("record");
        std::fs::OpenOptions::new().append(true).open(t.path("a")).expect("open").write_all(b"{half a li\n").expect("damage");
        t.record("a", state(2)).expect("record");
        let read = t.read("a").expect("read");
        assert_eq!(read.entries.len(), 3);
        assert_eq!(read.unreadable_lines, 1);
        assert_eq!(read.entries[0].event, Event::RedirectReceived { params: vec!["code".into(), "state".into()] });
        assert!(read.entries[0].at_ms <= read.entries[2].at_ms);
        let json = serde_json::to_value(&read.entries[0]).expect("json");
        assert_eq!(json["kind"], "redirectReceived");
        assert!(json["atMs"].is_u64());
        assert!(t.read("b").expect("other account").entries.is_empty());
    }

    #[test]
    fn is_bounded_and_drops_the_oldest_first() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = Timelines::new(dir.path());
        for n in 0..(MAX_EVENTS + 150) {
            t.record("a", state(n)).expect("record");
        }
        let read = t.read("a").expect("read");
        assert!(read.entries.len() <= MAX_EVENTS && read.entries.len() >= MAX_EVENTS * 4 / 5, "{}", read.entries.len());
        assert_eq!(read.entries.last().map(|e| &e.event), Some(&state(MAX_EVENTS + 149)), "the newest is kept");
        assert_ne!(read.entries.first().map(|e| &e.event), Some(&state(0)), "the oldest went first");
    }

    #[test]
    fn hostile_account_ids_stay_inside_the_folder() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = Timelines::new(dir.path().join("timeline"));
        assert_eq!(t.path("../../etc/passwd").parent(), Some(dir.path().join("timeline").as_path()));
        t.remove("never-written").expect("removing nothing is fine");
    }
}
