"""Installing the plugin into a researcher's own environment (their torch, JupyterLab 4, Captum and
nothing else of ours) changes nothing they had, and the library and its Captum adapter work there
without ART and torchattacks; the other adapters say which extra installs them.

Runs in .ci/run's researcher environment, which sets ``ART_REPS_WHEEL`` to the built wheel and
holds torch 2.5.1, torchvision 0.20.1, Captum 0.7 and JupyterLab 4 (.ci/environments); skips elsewhere."""
import importlib.metadata
import json
import os
import re
import subprocess
import sys

import pytest

WHEEL = os.environ.get("ART_REPS_WHEEL")
pytestmark = pytest.mark.skipif(not WHEEL, reason="runs in .ci/run's researcher environment (ART_REPS_WHEEL unset)")

USE = """
import sys
import torch
import art_reps, art_reps.captum
assert not {"art", "torchattacks"} & set(sys.modules), "art_reps imported a framework it does not need"
model = art_reps.load_model("l2_eps1")
x = art_reps.data.balanced(1).images[:2]
result = art_reps.invert(model, x, layer="avgpool", steps=5)
assert result.images.shape == x.shape and torch.isfinite(result.losses).all()
maps = art_reps.captum.RepresentationSensitivity(model, "layer3").attribute(x, target=0)
assert maps.shape == x.shape
for extra in ("art", "torchattacks"):
    try:
        __import__(f"art_reps.{extra}")
    except ImportError as error:
        assert f'pip install "art-reps[{extra}]"' in str(error), str(error)
    else:
        raise AssertionError(f"art_reps.{extra} imported without its framework")
print("used with torch", torch.__version__)
"""


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> dict:
    return {_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def changes(extra: str, before: dict, report) -> dict:
    """name -> (installed, planned) for every installed package that installing the wheel with
    ``extra`` would change (pip's dry run)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"{WHEEL}[{extra}]", "--dry-run", "--report",
                    str(report)], check=True)
    installs = json.loads(report.read_text())["install"]
    planned = {_name(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}
    assert "art-reps" in planned
    return {n: (before[n], v) for n, v in planned.items() if n in before}


def test_the_plugin_installs_beside_the_researchers_packages_and_works_there(tmp_path):
    before = installed()
    assert before["jupyterlab"].startswith("4.") and "torch" in before and "captum" in before
    assert not {"art-reps", "torchattacks", "adversarial-robustness-toolbox"} & before.keys()
    # the check can fail: torchattacks' requests~=2.25.1 pin would move JupyterLab's requests
    assert changes("torchattacks", before, tmp_path / "torchattacks.json")["requests"][1].startswith("2.25.")
    assert changes("captum", before, tmp_path / "captum.json") == {}, "installed packages would change"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"{WHEEL}[captum]"], check=True)
    after = installed()
    assert {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v} == {}
    used = subprocess.run([sys.executable, "-c", USE], capture_output=True, text=True)
    assert used.returncode == 0, used.stderr[-3000:]
    assert f"used with torch {before['torch']}" in used.stdout
