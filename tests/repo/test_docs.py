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


def test_the_readme_states_torchs_floor_and_the_researchers_environment_ci_builds():
    readme = (ROOT / "README.md").read_text()
    torch_floor = dict(pin.split("==") for pin in floors(ROOT / "setup.cfg"))["torch"]
    assert f"beside your torch ({torch_floor} or newer)" in readme
    script = (ROOT / ".ci" / "environments").read_text()
    assert '"torch==2.5.1" "torchvision==0.20.1" "captum==0.7.*" "jupyterlab>=4"' in script
    assert "torch 2.5.1, Captum 0.7 and JupyterLab 4" in " ".join(readme.split())



def test_the_committed_tutorials_read_cleanly():
    """No output of a committed notebook shows a library's warning, a progress bar, a temporary
    folder or the machine that ran it (python notebooks/refresh.py writes them)."""
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
                assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {}), path.name
                for sign in ("IProgress not found", "/tmp/", "/site-packages/", "it/s]", "ipykernel_", "Warning:"):
                    assert sign not in text, (path.name, sign, text[:300])
