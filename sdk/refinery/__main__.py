"""``python -m refinery`` runs the rsdk command line."""

import sys

from .cli import main

sys.exit(main())
