"""The install page states the floors setup.cfg declares, one row per requirement."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".ci"))

from floors import floors  # noqa: E402


def test_the_install_page_states_every_floor_of_setup_cfg():
    page = (ROOT / "docs" / "install.md").read_text()
    rows = re.findall(r"^\| ([a-z-]+)(?: \(`\[\w+\]`\))? \| ([0-9][0-9.]*) \|", page, flags=re.M)
    declared = [tuple(pin.split("==")) for pin in floors(ROOT / "setup.cfg")]
    assert rows == declared
