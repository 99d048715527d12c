# Shared by scripts/test.sh and scripts/demo.sh: system packages, virtual environment, package install.
# Idempotent: packages already present are not reinstalled; the venv and the CMake build dir are reused.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FACEMASK_VENV:-$ROOT/.venv}"

SYSTEM_PACKAGES=(
  g++ cmake ninja-build pkg-config python3-dev python3-venv
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-libav gstreamer1.0-opencv opencv-data
  gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 libgirepository1.0-dev libcairo2-dev
  valgrind
)

log() { printf '\033[1m[facemask-ds]\033[0m %s\n' "$*" >&2; }

ensure_system_packages() {
  local missing=()
  if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${SYSTEM_PACKAGES[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
  else
    log "not a Debian/Ubuntu system: make sure the equivalents of these are installed: ${SYSTEM_PACKAGES[*]}"
    return 0
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  local cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system packages. Run as root, then re-run this script:"
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive $cmd" >&2
    exit 1
  fi
  log "installing ${#missing[@]} system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $cmd -qq >/dev/null
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
}

install_package() {  # $1 = extras, e.g. "test"
  log "building and installing facemask-ds[$1] (CMake build dir is reused between runs)"
  local extra=()
  # FACEMASK_BUILD_DIR: a private CMake build dir (parallel checkouts/developers must not share one)
  [ -n "${FACEMASK_BUILD_DIR:-}" ] && extra+=("-Cbuild-dir=$FACEMASK_BUILD_DIR")
  python -m pip install -q --disable-pip-version-check "${extra[@]}" "$ROOT[$1]"
}
