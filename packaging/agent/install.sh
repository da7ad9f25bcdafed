#!/bin/sh
# Install, upgrade or uninstall the App Updater device agent as a systemd service on this
# device (docs/agent.md, "Install on a device"). Needs only Python 3.11 or later, and openssl
# for the TLS certificate. Run it from a copy of App Updater's source (it copies the agent:
# appupdater/__init__.py, appupdater/names.py and appupdater/agent/, standard library only).
#
#   sudo packaging/agent/install.sh [INIT OPTIONS]   install, or upgrade in place, and (re)start;
#                          a first install runs `appupdater-agent init` with INIT OPTIONS
#                          (--address HOST:PORT, --device NAME, --no-tls)
#   sudo packaging/agent/install.sh --uninstall      stop and remove the agent; its state
#                          folder, its user and the modules it started stay
#   sudo packaging/agent/install.sh --uninstall --purge   and remove those too
#
# DESTDIR=/some/root only copies the files under that folder (for packagers and tests): no
# user, no systemctl, no init. PYTHON=/path/to/python3 picks the interpreter.
set -eu

PREFIX=/opt/appupdater-agent
STATE=/var/lib/appupdater-agent
USER_NAME=appupdater-agent
UNIT=appupdater-agent.service
DESTDIR=${DESTDIR:-}
HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd)
ROOT=$DESTDIR$PREFIX
UNIT_FILE=$DESTDIR/etc/systemd/system/$UNIT
SYSUSERS_FILE=$DESTDIR/etc/sysusers.d/appupdater-agent.conf

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

live() {  # not a DESTDIR copy: this machine's users and services change too
  [ -z "$DESTDIR" ]
}

uninstall() {
  purge=$1
  if live && command -v systemctl >/dev/null; then
    if [ "$purge" = yes ] && systemctl is-active --quiet "$UNIT"; then
      # the modules hooks started live in the service's control group (KillMode=process
      # leaves them running when the agent stops): with the state folder they go too
      systemctl kill --kill-whom=all --signal=SIGTERM "$UNIT" || true
    fi
    systemctl disable --now "$UNIT" 2>/dev/null || true
  fi
  rm -f "$UNIT_FILE" "$SYSUSERS_FILE"
  rm -rf "$ROOT"
  if live && command -v systemctl >/dev/null; then
    systemctl daemon-reload
  fi
  if [ "$purge" = yes ]; then
    rm -rf "$DESTDIR$STATE"
    if live && id -u "$USER_NAME" >/dev/null 2>&1; then
      userdel "$USER_NAME" || echo "install.sh: the user $USER_NAME stays (userdel failed)" >&2
    fi
    echo "Removed the agent, its state folder $STATE and its user."
  else
    echo "Removed the agent. Its state folder $STATE (modules, token, certificate) and its"
    echo "user $USER_NAME stay; --uninstall --purge removes them too."
  fi
}

case "${1:-}" in
  --uninstall)
    if [ "${2:-}" = --purge ]; then uninstall yes; else uninstall no; fi
    exit 0
    ;;
  --help | -h)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

live && [ "$(id -u)" != 0 ] && fail "run it as root (sudo $0)"
[ -f "$SOURCE/appupdater/agent/server.py" ] || fail "no agent at $SOURCE/appupdater/agent"
PYTHON=${PYTHON:-$(command -v python3 || true)}
[ -n "$PYTHON" ] || fail "python3 is not installed; the agent needs Python 3.11 or later"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  fail "$PYTHON is Python $("$PYTHON" -c 'import platform; print(platform.python_version())'); the agent needs 3.11 or later"

# The agent's code: copied beside the running one, then swapped in, so an upgrade never leaves
# half a package (the running agent has its modules loaded; the restart below picks the new).
mkdir -p "$ROOT/bin" "$ROOT/share"
rm -rf "$ROOT/lib.new" "$ROOT/lib.old"
mkdir -p "$ROOT/lib.new/appupdater/agent"
cp "$SOURCE/appupdater/__init__.py" "$SOURCE/appupdater/names.py" "$ROOT/lib.new/appupdater/"
cp "$SOURCE"/appupdater/agent/*.py "$ROOT/lib.new/appupdater/agent/"
[ -d "$ROOT/lib" ] && mv "$ROOT/lib" "$ROOT/lib.old"
mv "$ROOT/lib.new" "$ROOT/lib"
rm -rf "$ROOT/lib.old"
# -I -S: only the standard library and the copied agent, whatever the environment says
cat >"$ROOT/bin/appupdater-agent" <<EOF
#!$PYTHON -IS
"""App Updater device agent, installed by packaging/agent/install.sh."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from appupdater.agent.server import main

sys.exit(main())
EOF
chmod 0755 "$ROOT/bin/appupdater-agent"
if [ -f "$SOURCE/docs/agent.md" ]; then
  install -m 0644 "$SOURCE/docs/agent.md" "$ROOT/share/agent.md"
fi
install -D -m 0644 "$HERE/$UNIT" "$UNIT_FILE"
install -D -m 0644 "$HERE/appupdater-agent.sysusers" "$SYSUSERS_FILE"
version=$("$ROOT/bin/appupdater-agent" --version)
echo "Installed $version in $PREFIX."
live || exit 0

if ! id -u "$USER_NAME" >/dev/null 2>&1; then
  if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers "$SYSUSERS_FILE"
  else
    useradd --system --user-group --home-dir "$STATE" --no-create-home \
      --shell /usr/sbin/nologin --comment "App Updater device agent" "$USER_NAME"
  fi
fi
install -d -o "$USER_NAME" -g "$USER_NAME" -m 0700 "$STATE"
if [ -e "$STATE/agent.env" ]; then
  echo "Keeping the token, certificate and options in $STATE (init ran before)."
  if [ $# -gt 0 ]; then
    echo "install.sh: $* not used: change them in $STATE/agent.env, or run init again" \
      "with --force (App Updater then needs the new token and fingerprint)" >&2
  fi
else
  runuser -u "$USER_NAME" -- "$ROOT/bin/appupdater-agent" init --state "$STATE" "$@"
fi
systemctl daemon-reload
systemctl enable --quiet "$UNIT"
systemctl restart "$UNIT"
echo "The agent runs: systemctl status appupdater-agent; journalctl -u appupdater-agent"
