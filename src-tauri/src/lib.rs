//! Account Linker: connect accounts at OAuth2 providers by clicking, and keep them connected.
//!
//! The domain (`oauth`, `providers`, `vault`, `accounts`, `linker`) never imports `tauri`; the Tauri
//! layer (`ipc`, `windows`) adapts it to the desktop. This file only assembles the app.

pub mod accounts;
pub mod cli;
pub mod desktop;
pub mod diagnostics;
pub mod ipc;
pub mod linker;
pub mod oauth;
pub mod paths;
pub mod providers;
pub mod refresh;
pub mod vault;
pub mod windows;

use std::sync::Arc;

use tauri::Manager;

/// Starts the desktop app, or runs a command-line subcommand (see [`cli`]) without a window.
pub fn run() {
    let args: Vec<String> = std::env::args().collect();
    if cli::wants_cli(&args) {
        // The command line speaks in its own words; log lines only for warnings unless asked.
        init_logging("warn");
        std::process::exit(cli::main(&args));
    }
    init_logging("info");
    startup_phase("main");
    let paths = paths::AppPaths::from_env();
    let catalogue = providers::Catalogue::load(&paths.config_dir);
    for problem in catalogue.problems() {
        tracing::warn!(%problem, "provider configuration problem; the other providers stay usable");
    }
    let linker = match linker::Linker::new(&paths, catalogue) {
        Ok(l) => Arc::new(l),
        Err(e) => {
            eprintln!("account-linker: cannot start: {e}");
            std::process::exit(1);
        }
    };
    startup_phase("linker ready");
    tracing::info!(data_dir = %paths.data_dir.display(), keyring_service = linker.vault().service(), "starting");
    let background = args.iter().any(|a| a == desktop::autostart::BACKGROUND_FLAG);
    let accounts_file = paths.accounts_file();
    let app = tauri::Builder::default()
        // First: a second start (the OS handing over a redirect to the app's scheme, or the user starting
        // the app again) is detected before anything else runs, and its URL goes to this process.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(paths.instance_id())
                .callback(|app, args, _cwd| {
                    // A URL argument reaches `on_open_url` below through the deep-link plugin.
                    if args.len() <= 1 {
                        windows::show_main(app);
                    }
                })
                .build(),
        )
        .plugin(tauri_plugin_deep_link::init())
        .manage(linker)
        .manage(ipc::EarlyOutcomes::default())
        .setup(move |app| {
            let handle = app.handle().clone();
            // The window comes first, before anything that may show it (a redirect the app was started
            // with): otherwise two could be made. Started in the background, it waits for the tray.
            if !background {
                windows::open_main(&handle);
            }
            startup_phase("setup (window made)");
            let linker = app.state::<Arc<linker::Linker>>().inner().clone();
            follow_redirects(&handle, linker.clone());
            startup_phase("redirects followed");
            let (notices_tx, notices_rx) = tokio::sync::mpsc::unbounded_channel();
            // The clock's timer registers with the runtime, so the refresher is made inside it.
            let refresher = tauri::async_runtime::block_on(async move {
                let (handle, _task) = refresh::spawn(linker, refresh::clock::SystemClock::new(), refresh::schedule::Policy::default(), notices_tx);
                handle
            });
            #[cfg(target_os = "linux")]
            {
                let refresher = refresher.clone();
                desktop::network::watch(move || refresher.network_up());
            }
            startup_phase("refresher and network monitor");
            app.manage(refresher);
            tauri::async_runtime::spawn(ipc::notices::forward(handle.clone(), notices_rx));
            // Changes made by another process (the command line) show at once.
            let (watched, events) = (accounts_file.clone(), handle.clone());
            let own_temp = accounts::AccountStore::new(&accounts_file).temp_file_name();
            tauri::async_runtime::spawn(async move {
                let (dir, name) = (watched.parent().unwrap_or(&watched), watched.file_name().and_then(|n| n.to_str()).unwrap_or_default());
                if let Err(e) = accounts::watch::changes(dir, name, &own_temp, || ipc::accounts_changed(&events)).await {
                    tracing::warn!(error = %e, "not watching the account file; changes from the command line show on reload");
                }
            });
            let in_tray = windows::tray::create(&handle).is_some();
            startup_phase("tray");
            if in_tray {
                // The tray starts empty; fill in the accounts linked in earlier sessions.
                let tray_app = handle.clone();
                tauri::async_runtime::spawn(async move { windows::tray::refresh(&tray_app).await });
            }
            app.manage(InTray(in_tray));
            if background && !in_tray {
                // No tray to live in: the window is the only way to the app.
                windows::open_main(&handle);
            }
            Ok(())
        })
        .invoke_handler(noting_first_call(tauri::generate_handler![
            ipc::list_providers,
            ipc::list_accounts,
            ipc::connect,
            ipc::reconnect,
            ipc::disconnect,
            ipc::refresh_account,
            ipc::account_report,
            ipc::test_api_call,
            ipc::save_report,
            ipc::continue_in_browser,
            ipc::sign_in_link,
            ipc::cancel_sign_in,
            ipc::startup_outcomes,
        ]))
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("account-linker: the window system failed: {e}");
            std::process::exit(1);
        }
    };
    app.run(|app, event| {
        // With a tray, closing the last window keeps the app (and the refresher) running; "Quit" in
        // the tray menu exits with a code, which is let through.
        if let tauri::RunEvent::ExitRequested { code: None, api, .. } = event {
            if app.try_state::<InTray>().is_some_and(|t| t.0) {
                tracing::info!("window closed; still refreshing in the tray");
                api.prevent_exit();
            }
        }
    });
}

/// The command handler, logging once when the window first calls one of the app's commands: the moment
/// the UI became interactive. `benches/app.sh` reads `unix_us` (wall clock, microseconds) to time start-up
/// from exec.
fn noting_first_call(
    commands: impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static,
) -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
    static FIRST: std::sync::Once = std::sync::Once::new();
    move |invoke| {
        FIRST.call_once(|| tracing::info!(unix_us = unix_us(), "first IPC call from the window"));
        commands(invoke)
    }
}

/// A debug log line with the wall clock (microseconds) at a step of start-up, to see where start-up time
/// goes (`ACCOUNT_LINKER_LOG=debug`, compared with exec time as `benches/app.sh` takes it).
fn startup_phase(step: &str) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug!(unix_us = unix_us(), step, "start-up");
    }
}

/// The wall clock in microseconds since the Unix epoch, as the start-up log lines carry it.
fn unix_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Redirects to the app's URI scheme: those handed over by a second start (the browser path), and one
/// this process was started with (no sign-in can be pending then: it is refused and recorded). The
/// scheme is registered with the desktop in the background.
fn follow_redirects(app: &tauri::AppHandle, linker: Arc<linker::Linker>) {
    use tauri_plugin_deep_link::DeepLinkExt;
    let (handle, on_open) = (app.clone(), linker.clone());
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            tauri::async_runtime::spawn(windows::signin::arrived(handle.clone(), on_open.clone(), url));
        }
    });
    match app.deep_link().get_current() {
        Ok(Some(urls)) => {
            for url in urls {
                tauri::async_runtime::spawn(windows::signin::arrived(app.clone(), linker.clone(), url));
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not read the link the app was started with"),
    }
    #[cfg(target_os = "linux")]
    std::thread::spawn(|| match desktop::scheme::register() {
        Ok(path) => tracing::info!(entry = %path.display(), "the app's URI scheme is registered"),
        Err(e) => tracing::warn!(error = %e, "the app's URI scheme is not registered; sign-ins in the browser can't come back"),
    });
    #[cfg(windows)]
    if let Err(e) = app.deep_link().register_all() {
        tracing::warn!(error = %e, "the app's URI scheme is not registered; sign-ins in the browser can't come back");
    }
}

/// Whether the app lives on in the tray when its window is closed.
struct InTray(bool);

/// Logs go to stderr, or to the file `ACCOUNT_LINKER_LOG_FILE` names (appended). Log lines never carry
/// secrets: the secret types print `[redacted]`, and IPC arguments are not logged.
fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACCOUNT_LINKER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let file = std::env::var_os("ACCOUNT_LINKER_LOG_FILE").and_then(|p| {
        match std::fs::OpenOptions::new().create(true).append(true).open(&p) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("account-linker: cannot log to {}: {e}; logging to stderr", std::path::Path::new(&p).display());
                None
            }
        }
    });
    match file {
        Some(f) => builder.with_ansi(false).with_writer(std::sync::Mutex::new(f)).init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
}
