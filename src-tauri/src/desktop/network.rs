//! Noticing that the machine is online again, from GIO's network monitor: NetworkManager's state where
//! it runs, the kernel's routing table (netlink) where it doesn't. Runs on the GLib main context (the
//! GUI's main thread); the refresher decides what "online again" means for each account.

use gio::prelude::*;

/// Calls `online` whenever the network monitor reports a usable network after a change. The monitor
/// reports every routing change (a VPN, a container bridge), so `online` must be cheap and idempotent;
/// the refresher throttles what it does with it.
pub fn watch(online: impl Fn() + 'static) {
    let monitor = gio::NetworkMonitor::default();
    let was_available = std::cell::Cell::new(monitor.is_network_available());
    tracing::debug!(available = was_available.get(), "watching the network");
    monitor.connect_network_changed(move |_, available| {
        if available && !was_available.get() {
            tracing::info!("the network is available again");
        }
        // A route that changed while online (a VPN came up, Wi-Fi roamed) is worth a retry too.
        if available {
            online();
        }
        was_available.set(available);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const CHILD: &str = "ACCOUNT_LINKER_TEST_NETNS";

    /// The real monitor, against a real routing table: the test runs again by itself in a private
    /// network namespace (an unprivileged user namespace, so no root and nothing changes on the host),
    /// where it starts offline and then gets a default route.
    #[test]
    fn a_network_that_comes_up_is_reported() {
        if std::env::var_os(CHILD).is_none() {
            let exe = std::env::current_exe().expect("the test binary");
            let status = Command::new("unshare")
                .args(["--user", "--map-root-user", "--net", "--"])
                .arg(exe)
                .args(["--exact", "desktop::network::tests::a_network_that_comes_up_is_reported", "--test-threads=1"])
                .env(CHILD, "1")
                .env("GIO_USE_NETWORK_MONITOR", "netlink")
                .status()
                .expect("unshare (util-linux) runs");
            assert!(status.success(), "the test in its own network namespace failed: {status}");
            return;
        }
        let context = gio::glib::MainContext::default();
        let _owner = context.acquire().expect("the main context");
        let reported = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let counter = reported.clone();
        watch(move || counter.set(counter.get() + 1));
        assert!(!gio::NetworkMonitor::default().is_network_available(), "a fresh namespace has no network");
        let ip = |args: &[&str]| {
            let status = Command::new("ip").args(args).status().expect("ip (iproute2) runs");
            assert!(status.success(), "ip {args:?}");
        };
        ip(&["link", "set", "lo", "up"]);
        ip(&["route", "add", "default", "dev", "lo"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while reported.get() == 0 && std::time::Instant::now() < deadline {
            context.iteration(false);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(reported.get() >= 1, "the monitor did not report the network coming up");
        assert!(gio::NetworkMonitor::default().is_network_available());
    }
}
