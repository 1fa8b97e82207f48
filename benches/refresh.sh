#!/usr/bin/env bash
# Refresher benchmarks, run on demand (not part of the test command): a burst of 1,000 accounts due at
# once against the Zählerfreunde emulator, side by side with the emulator's own throughput and the
# keyring's; the cost of a keyring call with one session per process and with one per call; then the idle
# app's CPU time and wake-ups over 60 s with 3 linked accounts. Runs in a
# throwaway HOME with its own D-Bus session, unlocked gnome-keyring and Xvfb display; prints a table.
#   benches/refresh.sh
# Environment: ACCOUNTS (1000; 0 skips the burst), CALLS (200 keyring calls each way; 0 skips), RUNS (3),
# IDLE_SECS (60), APP (default target/release/account-linker, built when missing; APP=none skips the idle
# measurement).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
APP="${APP:-${CARGO_TARGET_DIR:-$ROOT/target}/release/account-linker}"
if [ "$APP" != none ] && [ ! -x "$APP" ]; then cargo build --release -p account-linker; fi
cargo bench -p account-linker-tests --bench refresh --no-run
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
export HOME="$WORK/home" XDG_DATA_HOME="$WORK/home/.local/share" XDG_CONFIG_HOME="$WORK/home/.config"
export XDG_CACHE_HOME="$WORK/home/.cache" NO_AT_BRIDGE=1
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS
if [ "$APP" = none ]; then unset APP; else export APP; fi
echo "machine: $(nproc) cores, $(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
dbus-run-session -- xvfb-run -a -s "-screen 0 1280x900x24" bash -c '
  scripts/session-keyring start bench
  status=0
  cargo bench --quiet -p account-linker-tests --bench refresh || status=$?
  scripts/session-keyring stop
  exit $status
'
