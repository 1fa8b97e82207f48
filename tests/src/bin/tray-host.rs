//! A system tray for tests: a StatusNotifier host on the session bus, the part of KDE's, GNOME's
//! AppIndicator extension's or XFCE's panel that tray icons register with. Xvfb has none, so without
//! this the app's tray cannot be seen by a test.
//!
//! It owns `org.kde.StatusNotifierWatcher`, records the items that register, reads an item's menu the
//! way a panel does (`com.canonical.dbusmenu.GetLayout`) and clicks its entries (`Event … clicked`).
//! Commands come one per line on stdin; each answer is one line on stdout:
//!
//! ```text
//! wait-item          -> ok                      (once an item has registered; error after 20 s)
//! menu               -> [{"label":…,"enabled":…,"checked":…}, …]   (separators left out)
//! click LABEL        -> ok                      (the entry whose label starts with LABEL)
//! ```

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
use dbus::blocking::Connection;
use dbus::channel::{MatchingReceiver, Sender};
use dbus::message::{MatchRule, MessageType};
use dbus::Path;

const WATCHER: &str = "org.kde.StatusNotifierWatcher";

/// `GetLayout`'s answer: the revision, then the root node (id, properties, children as variants).
type Layout = (u32, (i32, PropMap, Vec<Variant<Box<dyn RefArg>>>));

#[derive(Debug, Clone)]
struct Entry {
    id: i32,
    label: String,
    enabled: bool,
    checked: Option<bool>,
}

fn main() {
    let conn = Connection::new_session().expect("a session bus");
    conn.request_name(WATCHER, false, true, true).expect("own the StatusNotifierWatcher name");
    let (items_tx, items) = mpsc::channel::<(String, String)>();
    conn.start_receive(
        MatchRule::new().with_type(MessageType::MethodCall),
        Box::new(move |msg, c| {
            let reply = match (msg.interface().as_deref(), msg.member().as_deref()) {
                (Some(WATCHER), Some("RegisterStatusNotifierItem")) => {
                    let service: String = msg.read1().unwrap_or_default();
                    let sender = msg.sender().map(|s| s.to_string()).unwrap_or_default();
                    // Items pass their object path (libayatana-appindicator) or their bus name.
                    let (name, path) = if service.starts_with('/') { (sender, service) } else { (service, "/StatusNotifierItem".to_owned()) };
                    eprintln!("tray-host: item registered: {name} {path}");
                    items_tx.send((name, path)).ok();
                    msg.method_return()
                }
                (Some(WATCHER), Some("RegisterStatusNotifierHost")) => msg.method_return(),
                (Some("org.freedesktop.DBus.Properties"), Some("Get")) => {
                    let (_iface, prop): (String, String) = msg.read2().unwrap_or_default();
                    match watcher_property(&prop) {
                        Some(v) => msg.method_return().append1(v),
                        None => msg.error(&"org.freedesktop.DBus.Error.UnknownProperty".into(), &std::ffi::CString::new(prop).unwrap_or_default()),
                    }
                }
                (Some("org.freedesktop.DBus.Properties"), Some("GetAll")) => {
                    let mut all: HashMap<String, Variant<Box<dyn RefArg>>> = HashMap::new();
                    for p in ["RegisteredStatusNotifierItems", "IsStatusNotifierHostRegistered", "ProtocolVersion"] {
                        if let Some(v) = watcher_property(p) {
                            all.insert(p.to_owned(), v);
                        }
                    }
                    msg.method_return().append1(all)
                }
                (Some("org.freedesktop.DBus.Introspectable"), Some("Introspect")) => msg.method_return().append1(INTROSPECTION),
                _ => msg.error(&"org.freedesktop.DBus.Error.UnknownMethod".into(), c"not served by the test tray"),
            };
            c.send(reply).ok();
            true
        }),
    );

    let (lines_tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut item: Option<(String, String)> = None;
    let mut out = std::io::stdout().lock();
    loop {
        conn.process(Duration::from_millis(20)).expect("serve the session bus");
        while let Ok(registered) = items.try_recv() {
            item = Some(registered);
        }
        let line = match lines.try_recv() {
            Ok(line) => line,
            Err(mpsc::TryRecvError::Empty) => continue,
            Err(mpsc::TryRecvError::Disconnected) => return,
        };
        let answer = match line.split_once(' ').map_or((line.as_str(), ""), |(c, a)| (c, a)) {
            ("wait-item", _) => {
                let deadline = Instant::now() + Duration::from_secs(20);
                while item.is_none() && Instant::now() < deadline {
                    conn.process(Duration::from_millis(20)).expect("serve the session bus");
                    while let Ok(registered) = items.try_recv() {
                        item = Some(registered);
                    }
                }
                if item.is_some() { "ok".to_owned() } else { "error: no tray item registered".to_owned() }
            }
            ("menu", _) => match item.as_ref().map(|(n, p)| menu(&conn, n, p)) {
                Some(Ok(entries)) => to_json(&entries),
                Some(Err(e)) => format!("error: {e}"),
                None => "error: no tray item registered".to_owned(),
            },
            ("click", label) => match item.as_ref().map(|(n, p)| click(&conn, n, p, label)) {
                Some(Ok(())) => "ok".to_owned(),
                Some(Err(e)) => format!("error: {e}"),
                None => "error: no tray item registered".to_owned(),
            },
            (other, _) => format!("error: unknown command {other:?}"),
        };
        writeln!(out, "{answer}").ok();
        out.flush().ok();
    }
}

fn watcher_property(name: &str) -> Option<Variant<Box<dyn RefArg>>> {
    match name {
        "RegisteredStatusNotifierItems" => Some(Variant(Box::new(Vec::<String>::new()))),
        "IsStatusNotifierHostRegistered" => Some(Variant(Box::new(true))),
        "ProtocolVersion" => Some(Variant(Box::new(0i32))),
        _ => None,
    }
}

/// The menu's entries, depth first, separators left out.
fn menu(conn: &Connection, name: &str, path: &str) -> Result<Vec<Entry>, String> {
    let (menu_path, proxy) = menu_proxy(conn, name, path)?;
    let (_revision, layout): Layout = proxy
        .method_call("com.canonical.dbusmenu", "GetLayout", (0i32, -1i32, Vec::<String>::new()))
        .map_err(|e| format!("GetLayout on {menu_path}: {e}"))?;
    let mut entries = Vec::new();
    for child in &layout.2 {
        walk(&*child.0, &mut entries);
    }
    Ok(entries)
}

fn menu_proxy<'a>(conn: &'a Connection, name: &'a str, path: &str) -> Result<(Path<'static>, dbus::blocking::Proxy<'a, &'a Connection>), String> {
    let item = conn.with_proxy(name, path.to_owned(), Duration::from_secs(5));
    let menu_path: Path<'static> = item.get("org.kde.StatusNotifierItem", "Menu").map_err(|e| format!("the item's Menu property: {e}"))?;
    Ok((menu_path.clone(), conn.with_proxy(name, menu_path, Duration::from_secs(5))))
}

/// One layout node: a struct (id, properties, children), each child a variant holding another node.
fn walk(node: &dyn RefArg, entries: &mut Vec<Entry>) {
    let mut fields = match node.as_iter() {
        Some(f) => f,
        None => return,
    };
    // A variant wraps the struct: unwrap it when the first field is not the id.
    let first = match fields.next() {
        Some(f) => f,
        None => return,
    };
    if first.as_i64().is_none() {
        walk(first, entries);
        return;
    }
    let id = first.as_i64().unwrap_or_default() as i32;
    let props = fields.next();
    let children = fields.next();
    let mut p: HashMap<String, &dyn RefArg> = HashMap::new();
    if let Some(props) = props {
        if let Some(mut it) = props.as_iter() {
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                if let Some(k) = k.as_str() {
                    p.insert(k.to_owned(), v);
                }
            }
        }
    }
    let is_separator = p.get("type").and_then(|v| v.as_iter()?.next()?.as_str().map(str::to_owned)).as_deref() == Some("separator");
    let label = p.get("label").and_then(|v| v.as_iter()?.next()?.as_str().map(str::to_owned));
    if !is_separator {
        if let Some(label) = label {
            let enabled = p.get("enabled").and_then(|v| v.as_iter()?.next()?.as_i64()).is_none_or(|b| b != 0);
            let toggle = p.get("toggle-type").and_then(|v| v.as_iter()?.next()?.as_str().map(str::to_owned));
            let state = p.get("toggle-state").and_then(|v| v.as_iter()?.next()?.as_i64());
            let checked = toggle.filter(|t| !t.is_empty()).map(|_| state == Some(1));
            entries.push(Entry { id, label: label.replace('_', ""), enabled, checked });
        }
    }
    if let Some(children) = children {
        if let Some(it) = children.as_iter() {
            for child in it {
                walk(child, entries);
            }
        }
    }
}

fn click(conn: &Connection, name: &str, path: &str, label: &str) -> Result<(), String> {
    let entries = menu(conn, name, path)?;
    let entry = entries.iter().find(|e| e.label.starts_with(label)).ok_or_else(|| format!("no menu entry {label:?} in {entries:?}"))?;
    let (_, proxy) = menu_proxy(conn, name, path)?;
    let timestamp = u32::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())).unwrap_or(0);
    proxy
        .method_call::<(), _, _, _>("com.canonical.dbusmenu", "Event", (entry.id, "clicked", Variant(0i32), timestamp))
        .map_err(|e| format!("clicking {label:?}: {e}"))
}

fn to_json(entries: &[Entry]) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let items: Vec<String> = entries
        .iter()
        .map(|e| {
            let checked = e.checked.map_or("null".to_owned(), |c| c.to_string());
            format!("{{\"label\":{},\"enabled\":{},\"checked\":{checked}}}", quote(&e.label), e.enabled)
        })
        .collect();
    format!("[{}]", items.join(","))
}

const INTROSPECTION: &str = r#"<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>"#;
