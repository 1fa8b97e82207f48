# Shared by scripts/run.sh and scripts/test.sh: install whatever is missing, idempotently.
# Sourced, not run. Every install step checks first, so a second run installs nothing.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PATH="$HOME/.cargo/bin:$PATH"
# Where cargo builds: CARGO_TARGET_DIR when set, as cargo itself does.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# System packages Tauri/WebKitGTK need to build and run (Debian 12).
BUILD_PACKAGES=(build-essential pkg-config libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
  libgtk-3-dev libssl-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev libdbus-1-dev
  gnome-keyring dbus dbus-x11 xdg-utils)
# Extra packages for the tests: a virtual display, the WebDriver for WebKitGTK, keyring tools.
TEST_PACKAGES=(xvfb xauth webkit2gtk-driver libsecret-tools desktop-file-utils python3-xlib iproute2 util-linux)
TAURI_DRIVER_VERSION=2.1.0

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_toolchain() {
  command -v cargo >/dev/null || { echo "cargo is not installed: install Rust (rustup, 1.90 or newer) first" >&2; exit 2; }
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ensure_packages nodejs npm
  fi
}

ensure_ui() {
  if [ ! -d "$ROOT/ui/node_modules" ] || [ "$ROOT/ui/package-lock.json" -nt "$ROOT/ui/node_modules/.package-lock.json" ]; then
    log "installing UI packages"
    (cd "$ROOT/ui" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  # The UI is embedded in the binary: rebuilt only when a source changed, or every run would relink the app.
  if [ ! -f "$ROOT/ui/dist/app.js" ] || [ -n "$(cd "$ROOT/ui" && find src i18n styles icons index.html build.mjs package-lock.json -newer dist/app.js -print -quit)" ]; then
    log "building the UI"
    (cd "$ROOT/ui" && npm run --silent build)
  fi
}

ensure_e2e_packages() {
  if [ ! -d "$ROOT/tests/e2e/node_modules" ] || [ "$ROOT/tests/e2e/package-lock.json" -nt "$ROOT/tests/e2e/node_modules/.package-lock.json" ]; then
    log "installing end-to-end test packages"
    (cd "$ROOT/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_tauri_driver() {
  if ! tauri-driver --help >/dev/null 2>&1; then
    log "installing tauri-driver $TAURI_DRIVER_VERSION"
    cargo install --locked --quiet "tauri-driver@$TAURI_DRIVER_VERSION"
  fi
}

# Starts the demo provider in the background; sets DEMO_PID and ACCOUNT_LINKER_DEMO_URL.
start_demo_provider() {
  local out="$1"; shift
  "$TARGET_DIR/debug/demo-provider" "$@" >"$out" 2>&1 &
  DEMO_PID=$!
  for _ in $(seq 1 100); do
    if grep -q "listening on" "$out" 2>/dev/null; then break; fi
    sleep 0.05
  done
  ACCOUNT_LINKER_DEMO_URL="$(sed -n 's/^demo-provider listening on //p' "$out" | head -n1)"
  [ -n "$ACCOUNT_LINKER_DEMO_URL" ] || { echo "the demo provider did not start:" >&2; cat "$out" >&2; exit 1; }
  export ACCOUNT_LINKER_DEMO_URL
}

# The release packages: the Tauri CLI from npm (its native binary ships in the package) builds the release
# binary and the .deb, checks the .deb's desktop entry, then tries the AppImage (the CLI downloads
# linuxdeploy for it, which fails offline; the .deb is kept either way).
build_packages() {
  local cli="$ROOT/packaging/node_modules/.bin/tauri"
  if [ ! -x "$cli" ] || [ "$ROOT/packaging/package-lock.json" -nt "$ROOT/packaging/node_modules/.package-lock.json" ]; then
    log "installing the Tauri CLI (npm)"
    (cd "$ROOT/packaging" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  ensure_packages dpkg-dev file
  log "building the release binary and the .deb (a clean release build takes several minutes)"
  (cd "$ROOT/src-tauri" && "$cli" build --ci --bundles deb)
  local deb
  deb="$(ls -t "$TARGET_DIR"/release/bundle/deb/*.deb | head -n1)"
  check_deb "$deb"
  log "building the AppImage"
  if (cd "$ROOT/src-tauri" && "$cli" bundle --ci --bundles appimage); then
    log "AppImage: $(ls -t "$TARGET_DIR"/release/bundle/appimage/*.AppImage | head -n1)"
  else
    log "AppImage not built (see the error above); the .deb is: $deb"
  fi
  log "install with: sudo apt install $deb"
}

# Smoke check of a .deb: the binary, the icons, and a desktop entry that handles the app's URI scheme.
check_deb() {
  local deb="$1" listing entry
  listing="$(dpkg-deb -c "$deb")"
  for path in usr/bin/account-linker usr/share/icons/hicolor/128x128/apps/account-linker.png "usr/share/applications/Account Linker.desktop"; do
    grep -qE " (\./)?$path\$" <<<"$listing" || { echo "the .deb lacks $path" >&2; exit 1; }
  done
  entry="$(dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards "*usr/share/applications/Account Linker.desktop")"
  grep -qx 'MimeType=x-scheme-handler/org.accountlinker.app;' <<<"$entry" || { echo "the desktop entry does not handle org.accountlinker.app:" >&2; echo "$entry" >&2; exit 1; }
  grep -q '^Exec=.* %u$' <<<"$entry" || { echo "the desktop entry's Exec takes no URL (%u)" >&2; exit 1; }
  log ".deb checked: $deb ($(stat -c %s "$deb") bytes)"
}
