# Shared helpers for the provisioning scripts. Sourced, never run.
# Everything is cached under $SCANFLOW_CACHE (default ~/.cache/scanflow) so that a fresh
# clone of the repository (CI) reuses what an earlier run built.
set -euo pipefail
SCANFLOW_CACHE="${SCANFLOW_CACHE:-$HOME/.cache/scanflow}"
SCANFLOW_BIN="$SCANFLOW_CACHE/bin"
mkdir -p "$SCANFLOW_CACHE" "$SCANFLOW_BIN"

say()  { printf '[provision] %s\n' "$*"; }
die()  { printf '[provision] ERROR: %s\n' "$*" >&2; exit 1; }
# have NAME VERSION: true when a stamp says NAME VERSION was installed completely.
have() { [ -f "$SCANFLOW_CACHE/stamps/$1" ] && [ "$(cat "$SCANFLOW_CACHE/stamps/$1")" = "$2" ]; }
stamp() { mkdir -p "$SCANFLOW_CACHE/stamps"; printf '%s' "$2" > "$SCANFLOW_CACHE/stamps/$1"; changed; }
# changed: records that this run installed or built something (scripts/provision reports it).
changed() { touch "$SCANFLOW_CACHE/.changed-by-this-run"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not on PATH: $2"; }
