//! A bare Tauri v2 hello-world: one window, one page, one command. It is the floor Account Linker is
//! measured against (`benches/app.sh`): same tauri, same features, same release profile, nothing else.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::time::{SystemTime, UNIX_EPOCH};

/// The page calls this once on load; it prints when, in the same words as the app's log line.
#[tauri::command]
fn ready() {
    let unix_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
    eprintln!("INFO bare_app: first IPC call from the window unix_us={unix_us}");
}

fn main() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!())
        .expect("the bare app runs");
}
