"""``python -m dreamrg.cli``: the command line."""

import sys

from dreamrg.cli import main

sys.exit(main())
