#!/usr/bin/env bash
# Installs whatever is missing, then runs Account Linker with a local demo provider (works offline).
# Usage: scripts/run.sh            (your real keyring and config folder)
#        ACCOUNT_LINKER_HOME=/tmp/x scripts/run.sh   (everything isolated in /tmp/x)
#        scripts/run.sh --package    (instead of running: build the release .deb and AppImage)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_packages "${BUILD_PACKAGES[@]}"
ensure_toolchain
ensure_ui
if [ "${1:-}" = --package ]; then
  build_packages
  exit 0
fi
log "building the app and the demo provider"
cargo build --quiet -p account-linker -p account-linker-tests --bins

# The demo keeps its own home (config, accounts, keyring namespace), apart from your real accounts.
export ACCOUNT_LINKER_HOME="${ACCOUNT_LINKER_HOME:-$HOME/.local/share/account-linker-demo}"
mkdir -p "$ACCOUNT_LINKER_HOME"
DEMO_LOG="$(mktemp -t account-linker-demo.XXXXXX)"
start_demo_provider "$DEMO_LOG" --port "${DEMO_PORT:-0}"
# Emulators of the seed providers, with a providers.toml in the demo home pointing at them.
"$TARGET_DIR/debug/emulators" --providers-toml "$ACCOUNT_LINKER_HOME/providers.toml" >"$DEMO_LOG.emulators" 2>&1 &
EMULATORS_PID=$!
trap 'kill "$DEMO_PID" "$EMULATORS_PID" 2>/dev/null || true; rm -f "$DEMO_LOG" "$DEMO_LOG.emulators"' EXIT
for _ in $(seq 1 100); do grep -q "emulators ready" "$DEMO_LOG.emulators" 2>/dev/null && break; sleep 0.05; done
log "demo provider at $ACCOUNT_LINKER_DEMO_URL and seed-provider emulators running (user: demo, password: demo)"
log "Workfront organization for the emulator: acme"

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  # No desktop session (e.g. a bare root shell): give the app a session bus and an unlocked keyring.
  log "no D-Bus session: starting one with its own unlocked keyring"
  dbus-run-session -- bash -c '
    "$1/scripts/session-keyring" start demo || exit 1
    "$0/debug/account-linker"' "$TARGET_DIR" "$ROOT"
else
  "$TARGET_DIR/debug/account-linker"
fi
