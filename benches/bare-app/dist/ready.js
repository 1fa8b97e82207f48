// The one IPC call, on load (what Account Linker's first command is to its window).
window.__TAURI_INTERNALS__.invoke('ready');
