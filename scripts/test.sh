#!/usr/bin/env bash
# Installs whatever is missing, then runs every test: unit tests, integration tests against the demo
# provider and a real Secret Service, and end-to-end tests that drive the real app in a WebKitGTK window
# under Xvfb. Everything runs in a throwaway HOME with its own D-Bus session and keyring.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
started=$(date +%s)

ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_toolchain
ensure_ui
ensure_e2e_packages
ensure_tauri_driver

log "building the app, the demo provider and the tests"
cargo build --quiet -p account-linker -p account-linker-tests --bins
cargo test --quiet --workspace --exclude bare-app --no-run

# A throwaway HOME: gnome-keyring persists its keyring there, and a second run with another password
# would find it locked. Cargo and rustup keep their own homes.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
ARTIFACTS="$ROOT/.artifacts"
rm -rf "$ARTIFACTS" && mkdir -p "$ARTIFACTS"
WORK="$(mktemp -d -t account-linker-test.XXXXXX)"
export HOME="$WORK/home" XDG_DATA_HOME="$WORK/home/.local/share" XDG_CONFIG_HOME="$WORK/home/.config"
export XDG_CACHE_HOME="$WORK/home/.cache" NO_AT_BRIDGE=1 ARTIFACTS WORK ROOT
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS

status=0
dbus-run-session -- bash "$ROOT/scripts/test-session.sh" || status=$?
rm -rf "$WORK"
log "test command finished in $(( $(date +%s) - started )) s with status $status"
exit "$status"
