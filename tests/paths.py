"""Where the tests find the project and the team's shared data, wherever a test file sits."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CINC2020 = SHARED / "data" / "cinc2020"
MITDB = SHARED / "data" / "mitdb"
REFERENCE = SHARED / "reference"
