#!/bin/sh
# Put App Updater in the current user's application menu: the desktop entry in
# ~/.local/share/applications and its icons in ~/.local/share/icons/hicolor.
#
#   install-user.sh               menu entry and icons
#   install-user.sh --autostart   also start App Updater in the tray at login
#   install-user.sh --uninstall   remove all of it again
#
# Run it from the frozen AppUpdater folder (it uses the appupdater beside it), or anywhere with
# appupdater on PATH (a pip install), or name one: APPUPDATER=/path/to/appupdater install-user.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${APPUPDATER:-}" ]; then
    app=$APPUPDATER
elif [ -x "$here/appupdater" ]; then
    app=$here/appupdater
elif command -v appupdater >/dev/null 2>&1; then
    app=$(command -v appupdater)
else
    echo "install-user.sh: no appupdater found beside this script or on PATH;" \
        "set APPUPDATER=/path/to/appupdater" >&2
    exit 1
fi
if [ "${1:-}" = "--uninstall" ]; then
    exec "$app" uninstall-desktop
fi
exec "$app" install-desktop "$@"
