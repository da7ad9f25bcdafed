import sys

from appupdater.cli import main

sys.exit(main())
