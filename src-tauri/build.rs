//! Generates the Tauri context and one permission per app command (from `src/ipc/command_list.rs`), so
//! the capability ACL applies to the app's own commands too.

include!("src/ipc/command_list.rs");

fn main() {
    let attributes =
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {e:#}");
    }
}
