"""``python -m natsim serve|province-add|seed-foreign``: see natsim.cli."""

from __future__ import annotations

import sys

from natsim.cli import main

sys.exit(main())
