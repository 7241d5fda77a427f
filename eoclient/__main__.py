"""``python -m eoclient``: the command line."""

import sys

from eoclient.cli import main

sys.exit(main())
