# shellcheck shell=bash
# Shared helpers for the set-up scripts. Sourced, never executed.
set -euo pipefail

OMERO_DEPLOY_CACHE="${OMERO_DEPLOY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/omero-deploy}"
OMERO_DEPLOY_VENV="${OMERO_DEPLOY_VENV:-$OMERO_DEPLOY_CACHE/venv}"
OMERO_DEPLOY_WHEELHOUSE="${OMERO_DEPLOY_WHEELHOUSE:-$OMERO_DEPLOY_CACHE/wheelhouse}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export OMERO_DEPLOY_CACHE OMERO_DEPLOY_VENV OMERO_DEPLOY_WHEELHOUSE REPO_ROOT
mkdir -p "$OMERO_DEPLOY_CACHE"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: install Debian packages that are missing (apt-get update once).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# debian_mirror: the Debian archive URI the machine's own apt configuration names for its release.
# Reads deb822 (*.sources) and one-line (*.list) formats; never a hard-coded host.
debian_mirror() {
  local codename
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  python3 - "$codename" /etc/apt/sources.list /etc/apt/sources.list.d/* <<'PY'
import re, sys, pathlib
codename, files = sys.argv[1], sys.argv[2:]
found = []
for name in files:
    p = pathlib.Path(name)
    if not p.is_file():
        continue
    text = p.read_text(errors="replace")
    if name.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.strip()
            if "deb" in fields.get("types", "").split() and codename in fields.get("suites", "").split():
                found += fields.get("uris", "").split()
    else:
        for line in text.splitlines():
            line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(line) >= 3 and line[0] == "deb" and line[2] == codename:
                found.append(line[1])
if not found:
    sys.exit("no apt source for the release %r in %s" % (codename, " ".join(files)))
print(found[0].rstrip("/"))
PY
}

venv_bin() { printf '%s/bin/%s' "$OMERO_DEPLOY_VENV" "$1"; }
