"""The tutorial's package is importable when pytest imports its modules for doctests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "tutorial" / "code"))
