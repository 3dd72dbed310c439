"""``python -m changer.plugin.commands`` runs `changer` (for torchrun and for tests without the console script)."""

import sys

from changer.plugin.commands.main import main

sys.exit(main())
