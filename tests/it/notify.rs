//! Desktop notifications over a real session bus: a notification server in the test process owns
//! `org.freedesktop.Notifications` and records what the app's notifier sends it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use account_linker::accounts::Account;
use account_linker::desktop::notify::{for_notice, Notifier};
use account_linker::refresh::Notice;
use dbus::arg::PropMap;
use dbus::channel::MatchingReceiver;
use dbus::message::MatchRule;

/// One `Notify` call as the server saw it.
#[derive(Debug, Clone)]
struct Received {
    replaces: u32,
    summary: String,
    body: String,
    urgency: Option<u8>,
    desktop_entry: Option<String>,
    answered_id: u32,
}

/// Serves `org.freedesktop.Notifications` on the session bus until dropped.
struct Server {
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let (log, stopping) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let conn = dbus::blocking::Connection::new_session().expect("a session bus (run under dbus-run-session)");
            conn.request_name("org.freedesktop.Notifications", false, true, true).expect("own the notification service name");
            let next_id = std::cell::Cell::new(0u32);
            conn.start_receive(
                MatchRule::new_method_call(),
                Box::new(move |msg, c| {
                    if msg.member().as_deref() == Some("Notify") {
                        let (_app, replaces, _icon, summary, body, _actions, hints, _timeout): (String, u32, String, String, String, Vec<String>, PropMap, i32) =
                            msg.read_all().expect("Notify's arguments");
                        let id = if replaces == 0 {
                            next_id.set(next_id.get() + 1);
                            next_id.get()
                        } else {
                            replaces
                        };
                        let urgency = hints.get("urgency").and_then(|v| v.0.as_u64()).map(|u| u as u8);
                        let desktop_entry = hints.get("desktop-entry").and_then(|v| v.0.as_str().map(str::to_owned));
                        log.lock().expect("lock").push(Received { replaces, summary, body, urgency, desktop_entry, answered_id: id });
                        let _ = dbus::channel::Sender::send(c, msg.method_return().append1(id));
                    }
                    true
                }),
            );
            ready_tx.send(()).expect("ready");
            while !stopping.load(std::sync::atomic::Ordering::SeqCst) {
                conn.process(Duration::from_millis(50)).expect("serve");
            }
        });
        ready.recv_timeout(Duration::from_secs(5)).expect("the notification server started");
        Server { received, stop, thread: Some(thread) }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

fn account(id: &str, name: &str) -> Account {
    serde_json::from_value(serde_json::json!({
        "id": id, "providerId": "zaehlerfreunde", "displayName": name, "scopes": [], "tokenType": "Bearer",
        "linkedAt": 1_800_000_000u64, "expiresAt": null, "hasRefreshToken": true, "state": {"kind": "connected"}
    }))
    .expect("an account")
}

#[test]
fn notifications_reach_the_desktop_and_each_account_replaces_its_own() {
    let server = Server::start();
    let mut notifier = Notifier::new();
    let (anna, ben) = (account("acc-anna", "anna@example.org"), account("acc-ben", "ben@example.org"));
    let failing = Notice::RepeatedFailure {
        account: anna.clone(),
        provider_name: "Zählerfreunde".into(),
        failures: 3,
        error: "the token endpoint could not be reached: connection refused".into(),
    };
    let revoked = Notice::NeedsReconnect { account: anna, provider_name: "Zählerfreunde".into(), reason: "the provider revoked access".into() };
    let due = Notice::ReconnectDueSoon { account: ben, provider_name: "Youthweb".into(), expires_at: 1_800_000_600 };
    for notice in [&failing, &revoked] {
        notifier.show(&for_notice(notice, false, 1_800_000_000).expect("a notification")).expect("shown");
    }
    notifier.show(&for_notice(&due, true, 1_800_000_000).expect("a notification")).expect("shown");

    let got = server.received();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!((got[0].replaces, got[0].summary.as_str(), got[0].urgency), (0, "Refreshing keeps failing", Some(1)));
    assert!(got[0].body.contains("anna@example.org (Zählerfreunde): 3 attempts in a row failed"), "{}", got[0].body);
    // The same account's next notification replaces the first instead of piling up, and is critical.
    assert_eq!(got[1].replaces, got[0].answered_id);
    assert_eq!((got[1].summary.as_str(), got[1].urgency), ("Reconnect your account", Some(2)));
    assert!(got[1].body.contains("the provider revoked access"), "{}", got[1].body);
    // Another account gets its own, here in German.
    assert_eq!(got[2].replaces, 0);
    assert_eq!(got[2].summary, "Bald neu verbinden");
    assert!(got[2].body.contains("läuft in 10 Min. ab"), "{}", got[2].body);
    assert!(got.iter().all(|r| r.desktop_entry.as_deref() == Some("org.accountlinker.AccountLinker")));
}
