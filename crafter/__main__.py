"""``python -m crafter``: the command line, where the ``crafter`` script is not on PATH."""

import sys

from crafter._internal.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
