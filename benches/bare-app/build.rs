//! Generates the Tauri context (config, capabilities, embedded page).
fn main() {
    tauri_build::build();
}
