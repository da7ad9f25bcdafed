#!/usr/bin/env bash
# Build the self-contained one-folder App Updater for Linux with PyInstaller, check it with
# --self-test, and pack it:
#   dist/AppUpdater/                                  the app folder (run ./appupdater)
#   dist/AppUpdater-VERSION-linux-ARCH.tar.gz         the same, to hand out
# Usage: packaging/build-frozen.sh   (PYTHON=python3.12 to build with another Python;
# APPUPDATER_BUILD_DIR for the build venv and PyInstaller's work files, default build/frozen)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=${APPUPDATER_BUILD_DIR:-$root/build/frozen}
dist=$root/dist
python=${PYTHON:-python3}

echo "== build venv in $work/venv"
"$python" -m venv --clear "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
# the package as a wheel would install it, not the checkout: what is frozen is what ships
"$work/venv/bin/python" -m pip install -q "$root" "pyinstaller>=6.10,<7"

echo "== PyInstaller"
rm -rf "$dist/AppUpdater"
# from the work folder, so the checkout's appupdater/ cannot shadow the installed package
(cd "$work" && "$work/venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --workpath "$work/pyinstaller" --distpath "$dist" "$here/appupdater.spec")

app=$dist/AppUpdater
# beside the executables, not in _internal/ where PyInstaller puts data files
install -m 755 "$here/install-user.sh" "$app/install-user.sh"

echo "== check"
"$app/appupdater" --version
"$app/appupdater-agent" --help >/dev/null
"$app/appupdater" --self-test
# the menu and login entries it writes, in a throw-away home
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
env -i PATH=/usr/bin:/bin HOME="$home" sh "$app/install-user.sh" --autostart
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$home"/.local/share/applications/*.desktop \
        "$home"/.config/autostart/*.desktop
fi
env -i PATH=/usr/bin:/bin HOME="$home" sh "$app/install-user.sh" --uninstall

version=$("$app/appupdater" --version | awk '{print $2}')
archive=$dist/AppUpdater-$version-linux-$(uname -m).tar.gz
tar -C "$dist" -czf "$archive" AppUpdater
echo "== built"
echo "folder:  $app ($(du -sh "$app" | cut -f1), $(find "$app" -type f | wc -l) files)"
echo "archive: $archive ($(du -h "$archive" | cut -f1))"
