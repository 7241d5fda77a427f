"""``python -m eoclient.cli``."""

import sys

from eoclient.cli import main

sys.exit(main())
