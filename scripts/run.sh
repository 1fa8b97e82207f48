#!/usr/bin/env bash
# Installs whatever is missing, then runs Account Linker with a local demo provider (works offline).
# Usage: scripts/run.sh            (your real keyring and config folder)
#        ACCOUNT_LINKER_HOME=/tmp/x scripts/run.sh   (everything isolated in /tmp/x)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_packages "${BUILD_PACKAGES[@]}"
ensure_toolchain
ensure_ui
log "building the app and the demo provider"
cargo build --quiet -p account-linker -p account-linker-tests --bins

DEMO_LOG="$(mktemp -t account-linker-demo.XXXXXX)"
start_demo_provider "$DEMO_LOG" --port "${DEMO_PORT:-0}"
trap 'kill "$DEMO_PID" 2>/dev/null || true; rm -f "$DEMO_LOG"' EXIT
log "demo provider at $ACCOUNT_LINKER_DEMO_URL (user: demo, password: demo)"

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  # No desktop session (e.g. a bare root shell): give the app a session bus and an unlocked keyring.
  log "no D-Bus session: starting one with a throwaway unlocked keyring"
  export ACCOUNT_LINKER_HOME="${ACCOUNT_LINKER_HOME:-$HOME/.local/share/account-linker-demo}"
  dbus-run-session -- bash -c '
    printf demo | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    "$0/target/debug/account-linker"' "$ROOT"
else
  "$ROOT/target/debug/account-linker"
fi
