"""Entry script of the frozen `appupdater` executable (PyInstaller runs a script, not an
entry point)."""

import sys

from appupdater.cli import main

sys.exit(main())
