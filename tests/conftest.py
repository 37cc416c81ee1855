"""Suite-wide pytest setup: only registers the cluster harness (tests/harness/plugin.py).

Put fixtures in the conftest.py of the test directory that needs them, not here.
"""

import sys
from pathlib import Path

# `harness` lives beside this file; make it importable whatever pytest's import mode is.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["harness.plugin"]
