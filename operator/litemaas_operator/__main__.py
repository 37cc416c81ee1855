"""``python -m litemaas_operator``."""

import sys

from .cli import main

sys.exit(main())
