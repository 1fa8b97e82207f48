#!/usr/bin/env bash
# Idle memory of Account Linker: total RSS and PSS of the app and all its processes (main + WebKit
# web and network processes), N seconds after start, under Xvfb with a fresh keyring. Prints the median
# of RUNS runs. Run on demand (not part of the test command):
#   benches/idle-memory.sh [path/to/account-linker]   (default: target/release/account-linker)
# Environment: RUNS (default 5), SETTLE seconds before measuring (default 8).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${1:-$ROOT/target/release/account-linker}"
RUNS="${RUNS:-5}" SETTLE="${SETTLE:-8}"
[ -x "$BIN" ] || { echo "no binary at $BIN (cargo build --release -p account-linker)" >&2; exit 2; }
export BIN RUNS SETTLE ROOT NO_AT_BRIDGE=1
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
export HOME="$WORK/home" XDG_DATA_HOME="$WORK/home/.local/share" XDG_CONFIG_HOME="$WORK/home/.config" XDG_CACHE_HOME="$WORK/home/.cache"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
unset DISPLAY DBUS_SESSION_BUS_ADDRESS

dbus-run-session -- xvfb-run -a -s "-screen 0 1280x900x24" bash -c '
  "$ROOT/scripts/session-keyring" start bench
  tree() { local p=$1; echo "$p"; for c in $(ps -o pid= --ppid "$p"); do tree "$c"; done; }
  kb() { awk -v k="$2" "\$1==k\":\" {s+=\$2} END {print s+0}" "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
  rss=() pss=()
  for i in $(seq 1 "$RUNS"); do
    ACCOUNT_LINKER_HOME="$HOME/al-$i" "$BIN" 2>/dev/null & app=$!
    sleep "$SETTLE"
    r=0 p=0 n=0
    for pid in $(tree "$app"); do r=$((r + $(kb "$pid" Rss))); p=$((p + $(kb "$pid" Pss))); n=$((n+1)); done
    rss+=("$r") pss+=("$p")
    printf "run %d: %d processes, RSS %d MiB, PSS %d MiB\n" "$i" "$n" $((r/1024)) $((p/1024))
    kill "$app"; wait "$app" 2>/dev/null || true
  done
  median() { printf "%s\n" "$@" | sort -n | awk "{a[NR]=\$1} END {print a[int((NR+1)/2)]}"; }
  printf "idle memory after %ss, median of %d: RSS %d MiB, PSS %d MiB (%s)\n" "$SETTLE" "$RUNS" \
    $(( $(median "${rss[@]}") / 1024 )) $(( $(median "${pss[@]}") / 1024 )) "$(basename "$BIN")"
  "$ROOT/scripts/session-keyring" stop
'
