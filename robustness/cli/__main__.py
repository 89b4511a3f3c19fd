"""``python -m robustness.cli`` is ``robustness``."""

import sys

from . import main

sys.exit(main())
