//! Diagnostics for support staff: the per-account timeline on disk, the token inspector (no secret
//! values, only fingerprints), and the program that asked for a token. Plain Rust, no window.

pub mod inspect;
pub mod probes;
pub mod report;
pub mod timeline;

/// The program that started this process (the parent), e.g. `curl (pid 4242)`: who a token is handed to.
#[cfg(unix)]
pub fn calling_program() -> String {
    let ppid = std::os::unix::process::parent_id();
    let name = std::fs::read_to_string(format!("/proc/{ppid}/comm")).map(|s| s.trim().to_owned()).unwrap_or_default();
    if name.is_empty() {
        format!("pid {ppid}")
    } else {
        format!("{name} (pid {ppid})")
    }
}

/// The program that started this process: not known off Unix.
#[cfg(not(unix))]
pub fn calling_program() -> String {
    "unknown".into()
}
