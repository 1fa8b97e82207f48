//! One long-lived Secret Service session per process, behind the `keyring` crate's credential API.
//!
//! The `keyring` crate's own Secret Service credential opens a new D-Bus connection and a new encrypted
//! (Diffie-Hellman) session for every call, two for a write. A thousand accounts refreshing at once then
//! mean thousands of connections to the keyring daemon in minutes, and each call pays for a key exchange.
//! Here one thread owns a single `SecretService` connection and session and serves every keyring call of
//! the process in turn (the Secret Service answers one at a time anyway). It reconnects once when the
//! daemon has gone away (restarted, session closed) and tries the call again.
//!
//! Items are the ones `keyring`'s own credential makes (attributes `service`, `username`,
//! `target = default`, `application = rust-keyring`, in the default collection), so entries written by
//! either are found by the other and by `secret-tool search service account-linker`.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::OnceLock;

use dbus_secret_service::{EncryptionType, Error as SsError, Item, SecretService};
use keyring::credential::{Credential, CredentialApi};
use keyring::Error as KeyringError;

/// The collection (the `keyring` crate's "target") every entry lives in.
const TARGET: &str = "default";

/// A keyring entry served by the process's shared Secret Service session.
#[derive(Debug, Clone)]
pub struct SessionCredential {
    service: String,
    user: String,
}

impl SessionCredential {
    /// The entry for `user` under `service`.
    pub fn new(service: &str, user: &str) -> Self {
        Self { service: service.to_owned(), user: user.to_owned() }
    }

    /// A `keyring` entry backed by this credential.
    pub fn entry(service: &str, user: &str) -> keyring::Entry {
        keyring::Entry::new_with_credential(Box::new(Self::new(service, user)))
    }

    fn call(&self, op: Op) -> Result<Reply, KeyringError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let request = Request { service: self.service.clone(), user: self.user.clone(), op, reply };
        worker()
            .send(request)
            .map_err(|_| KeyringError::PlatformFailure("the keyring session thread has stopped".into()))?;
        answer
            .recv()
            .map_err(|_| KeyringError::PlatformFailure("the keyring session thread stopped before answering".into()))?
    }
}

impl CredentialApi for SessionCredential {
    fn set_secret(&self, secret: &[u8]) -> keyring::Result<()> {
        self.call(Op::Set(secret.to_vec())).map(|_| ())
    }

    fn get_secret(&self) -> keyring::Result<Vec<u8>> {
        match self.call(Op::Get)? {
            Reply::Secret(secret) => Ok(secret),
            Reply::Done => Err(KeyringError::PlatformFailure("the keyring session answered a read without a secret".into())),
        }
    }

    fn delete_credential(&self) -> keyring::Result<()> {
        self.call(Op::Delete).map(|_| ())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

enum Op {
    Get,
    Set(Vec<u8>),
    Delete,
}

enum Reply {
    Secret(Vec<u8>),
    Done,
}

struct Request {
    service: String,
    user: String,
    op: Op,
    reply: mpsc::SyncSender<Result<Reply, KeyringError>>,
}

/// Why one attempt failed: the Secret Service said so, or there is no (single) matching item.
enum Failure {
    Service(SsError),
    Keyring(KeyringError),
}

impl From<SsError> for Failure {
    fn from(e: SsError) -> Self {
        Failure::Service(e)
    }
}

/// The channel to the session thread, started on first use.
fn worker() -> &'static mpsc::Sender<Request> {
    static WORKER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
    WORKER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("keyring-session".into())
            .spawn(move || serve(rx))
            .expect("the keyring session thread could not be started");
        tx
    })
}

/// The session thread: owns the connection and answers requests in order until every sender is gone.
fn serve(requests: mpsc::Receiver<Request>) {
    let mut session: Option<SecretService> = None;
    for request in requests {
        let result = answer(&mut session, &request);
        // The caller may have given up; nothing to do then.
        let _ = request.reply.send(result);
    }
}

/// Runs one request, connecting first if needed, and once more on a fresh connection if the daemon went
/// away. Reads, writes and deletes are all safe to repeat.
fn answer(session: &mut Option<SecretService>, request: &Request) -> Result<Reply, KeyringError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        if session.is_none() {
            let encryption = EncryptionType::Dh;
            *session = Some(SecretService::connect(encryption).map_err(platform_failure)?);
        }
        let service = session.as_ref().expect("connected above");
        match perform(service, request) {
            Ok(reply) => return Ok(reply),
            Err(Failure::Service(e)) if attempt == 1 && connection_lost(&e) => {
                tracing::info!(error = %e, "the keyring session was lost; reconnecting");
                *session = None;
            }
            Err(Failure::Service(e)) => return Err(keyring::secret_service::decode_error(e)),
            Err(Failure::Keyring(e)) => return Err(e),
        }
    }
}

fn perform(ss: &SecretService, request: &Request) -> Result<Reply, Failure> {
    let search = HashMap::from([("service", request.service.as_str()), ("username", request.user.as_str()), ("target", TARGET)]);
    let found = ss.search_items(search)?;
    let items: Vec<&Item<'_>> = found.unlocked.iter().chain(found.locked.iter()).collect();
    if items.len() > 1 {
        return Err(ambiguous(&items));
    }
    let item = items.first();
    match (&request.op, item) {
        (Op::Get, Some(item)) => {
            item.ensure_unlocked()?;
            Ok(Reply::Secret(item.get_secret()?))
        }
        (Op::Set(secret), Some(item)) => {
            item.ensure_unlocked()?;
            item.set_secret(secret, "text/plain")?;
            Ok(Reply::Done)
        }
        (Op::Set(secret), None) => {
            let collection = ss.get_default_collection()?;
            if collection.is_locked()? {
                collection.unlock()?;
            }
            let label = format!("{}@{}:{TARGET}", request.user, request.service);
            let attributes = HashMap::from([
                ("service", request.service.as_str()),
                ("username", request.user.as_str()),
                ("target", TARGET),
                ("application", "rust-keyring"),
            ]);
            collection.create_item(&label, attributes, secret, true, "text/plain")?;
            Ok(Reply::Done)
        }
        (Op::Delete, Some(item)) => {
            item.delete()?;
            Ok(Reply::Done)
        }
        (Op::Get | Op::Delete, None) => Err(Failure::Keyring(KeyringError::NoEntry)),
    }
}

fn ambiguous(items: &[&Item<'_>]) -> Failure {
    let mut credentials: Vec<Box<Credential>> = Vec::new();
    for item in items {
        match keyring::secret_service::SsCredential::new_from_item(item) {
            Ok(c) => credentials.push(Box::new(c)),
            Err(e) => return Failure::Keyring(e),
        }
    }
    Failure::Keyring(KeyringError::Ambiguous(credentials))
}

fn platform_failure(e: SsError) -> KeyringError {
    KeyringError::PlatformFailure(Box::new(e))
}

/// D-Bus errors after which the connection or the session is no good: the daemon exited or restarted
/// (its replacement knows neither our session nor our connection), or the bus dropped us.
fn connection_lost(e: &SsError) -> bool {
    match e {
        SsError::Dbus(e) => matches!(
            e.name(),
            Some(
                "org.freedesktop.DBus.Error.NoReply"
                    | "org.freedesktop.DBus.Error.Disconnected"
                    | "org.freedesktop.DBus.Error.ServiceUnknown"
                    | "org.freedesktop.DBus.Error.NameHasNoOwner"
                    | "org.freedesktop.DBus.Error.UnknownObject"
                    | "org.freedesktop.DBus.Error.UnknownMethod"
                    | "org.freedesktop.Secret.Error.NoSession"
            )
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_daemon_or_session_means_reconnect_but_a_locked_keyring_does_not() {
        let dbus = |name: &str| SsError::Dbus(dbus::Error::new_custom(name, "x"));
        assert!(connection_lost(&dbus("org.freedesktop.DBus.Error.NoReply")));
        assert!(connection_lost(&dbus("org.freedesktop.Secret.Error.NoSession")));
        assert!(connection_lost(&dbus("org.freedesktop.DBus.Error.ServiceUnknown")));
        assert!(!connection_lost(&dbus("org.freedesktop.DBus.Error.AccessDenied")));
        assert!(!connection_lost(&SsError::Locked));
        assert!(!connection_lost(&SsError::Prompt));
    }
}
