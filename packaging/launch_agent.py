"""Entry script of the frozen `appupdater-agent` executable."""

import sys

from appupdater.agent.server import main

sys.exit(main())
