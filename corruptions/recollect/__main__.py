"""``python -m corruptions.recollect``: see :mod:`corruptions.recollect.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
