"""The how-to guides' package, boxoffice, is importable when pytest imports its modules."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "tutorial" / "code"))
