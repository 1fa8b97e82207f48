#!/usr/bin/env bash
# Account Linker against the floor of its own stack, run on demand (not part of the test command): start to
# interactive, memory, idle cost (window open and closed to the tray), link latency, binary and .deb size,
# side by side with a bare Tauri v2 hello-world (benches/bare-app) built with the same tauri and profile.
# Builds what it needs (release), then runs in a throwaway HOME with its own D-Bus session, unlocked
# gnome-keyring and Xvfb display, and prints a table (details: tests/benches/app.rs). About 9 minutes.
#   benches/app.sh                    the release profile of Cargo.toml
#   benches/app.sh --default-profile  the same with cargo's default release settings (no LTO, 16 codegen
#                                     units, unwind, not stripped, opt-level 3), built apart in
#                                     $CARGO_TARGET_DIR/default-profile: the "before" of the tuned profile
# Environment: RUNS (5), IDLE_RUNS (3), IDLE_SECS (60), SETTLE (8), LINKS (20); APP (another build of the
# app to measure instead of the one built here); CARGO_TARGET_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"
ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_toolchain
ensure_ui

BENCH_TARGET="$TARGET_DIR"
PROFILE_NOTE="Cargo.toml's [profile.release]"
if [ "${1:-}" = --default-profile ]; then
  BENCH_TARGET="$TARGET_DIR/default-profile"
  PROFILE_NOTE="cargo's default release settings"
  export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_STRIP=none
  export CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_OPT_LEVEL=3
fi
log "building the app and the bare app (release) in $BENCH_TARGET"
build_started=$(date +%s)
# One cargo call for both, so they share every dependency with the same features.
CARGO_TARGET_DIR="$BENCH_TARGET" nice -n 5 cargo build --quiet --release -p account-linker -p bare-app
# The bench itself (sign-ins, /proc sampling) uses the debug build of the workspace, already there for
# the tests: a release build of it would rebuild the whole tauri stack with the tests' features.
nice -n 5 cargo bench --quiet --profile dev -p account-linker-tests --bench app --no-run
log "built in $(( $(date +%s) - build_started )) s"
# APP may name another build of the app (e.g. an older one, to measure a change before and after).
export APP="${APP:-$BENCH_TARGET/release/account-linker}" BARE="$BENCH_TARGET/release/bare-app" BENCH_TARGET
DEB="$(ls -t "$BENCH_TARGET"/release/bundle/deb/*.deb 2>/dev/null | head -n1 || true)"
export DEB

webkit="$(dpkg-query -W -f='${Version}' libwebkit2gtk-4.1-0 2>/dev/null || echo unknown)"
echo "machine: $(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo), $(nproc) cores, \
$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), Debian $(cat /etc/debian_version), WebKitGTK $webkit"
echo "profile: $PROFILE_NOTE; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
WORK="$(mktemp -d -t account-linker-bench.XXXXXX)"; trap 'rm -rf "$WORK"' EXIT
export HOME="$WORK/home" XDG_DATA_HOME="$WORK/home/.local/share" XDG_CONFIG_HOME="$WORK/home/.config"
export XDG_CACHE_HOME="$WORK/home/.cache" XDG_RUNTIME_DIR="$WORK/runtime" NO_AT_BRIDGE=1
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS
status=0
dbus-run-session -- xvfb-run -a -s "-screen 0 1280x900x24" bash -c '
  scripts/session-keyring start bench
  status=0
  cargo bench --quiet --profile dev -p account-linker-tests --bench app || status=$?
  scripts/session-keyring stop
  exit $status
' || status=$?

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
