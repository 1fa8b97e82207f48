//! A bare Tauri v2 hello-world: one window, one page, one command. It is the floor Account Linker is
//! measured against (`benches/app.sh`): same tauri, same features, same release profile, nothing else.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::time::{SystemTime, UNIX_EPOCH};

fn unix_us() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros())
}

/// The page calls this once on load; it prints when, in the same words as the app's log line.
#[tauri::command]
fn ready() {
    eprintln!("INFO bare_app: first IPC call from the window unix_us={}", unix_us());
}

fn main() {
    // The same start-up steps the app logs at debug level, for comparing where the time goes.
    eprintln!("DEBUG bare_app: start-up unix_us={} step=\"main\"", unix_us());
    tauri::Builder::default()
        .setup(|_| {
            eprintln!("DEBUG bare_app: start-up unix_us={} step=\"setup (window made)\"", unix_us());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!())
        .expect("the bare app runs");
}
