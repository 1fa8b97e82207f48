#!/usr/bin/env bash
# Runs inside `dbus-run-session` (started by scripts/test.sh): unlocks a fresh gnome-keyring, then runs
# the Rust tests and the end-to-end tests, and always stops the keyring daemon at the end.
set -uo pipefail
cd "$ROOT"

# Only this session's daemon is stopped (another test run on the same machine has its own).
trap '"$ROOT/scripts/session-keyring" stop' EXIT
"$ROOT/scripts/session-keyring" start test-keyring-password || exit 1
# Fail fast, with a clear line, if the Secret Service does not answer.
if ! printf probe | secret-tool store --label='account-linker test probe' service account-linker-probe username probe; then
  echo "the Secret Service (gnome-keyring) did not start: cannot run the keyring tests" >&2
  exit 1
fi
secret-tool clear service account-linker-probe username probe

status=0
printf '\n\033[1m==> unit and integration tests (cargo test)\033[0m\n'
cargo test --workspace --exclude bare-app --no-fail-fast 2>&1 | tee "$ARTIFACTS/cargo-test.log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

printf '\n\033[1m==> unit tests of the UI'"'"'s pure logic (node --test)\033[0m\n'
(cd ui && node --test test/) || status=1

printf '\n\033[1m==> end-to-end tests (real app, WebKitGTK under Xvfb, tauri-driver)\033[0m\n'
xvfb-run -a -s "-screen 0 1280x900x24" node tests/e2e/run.mjs || status=1
exit "$status"
