"""The wheel holds the library and the embedded default the demo needs, not the papers'
reproduction, and an installed wheel works outside the checkout (docs/install.md lists what it holds)."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from art_reps import zoo

ROOT = Path(__file__).resolve().parents[1]
MAX_WHEEL_MB = 6  # "a few megabytes": the code and five small models


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "-q", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp),
                    str(ROOT)], check=True, capture_output=True)
    (built,) = tmp.glob("art_reps-*.whl")
    return built


def test_the_wheel_holds_the_library_and_the_demo_models_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"art_reps"}
    weights = sorted(Path(n).stem for n in names if n.endswith(".safetensors"))
    assert weights == sorted([*zoo.list_models(), "score_dsm"])
    assert {zoo.STANDARD, zoo.ROBUST, zoo.JUDGE, *zoo.DEMO_JUDGE_MEMBERS} <= set(weights)
    assert not [n for n in names if "reproduction" in n or n.startswith(("tests/", "results/", "notebooks/"))]
    assert wheel.stat().st_size < MAX_WHEEL_MB * 2 ** 20, f"{wheel.stat().st_size / 2 ** 20:.1f} MB"


def test_an_installed_wheel_runs_the_demo_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "-q", "install", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import sys, art_reps; from art_reps.cli import main; print('FROM', art_reps.__file__); "
            "sys.exit(main(sys.argv[1:]))")
    run = subprocess.run([sys.executable, "-c", code, "demo", "--steps", "2", "--quiet", "--out", "report"],
                         cwd=elsewhere, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"FROM {site}" in run.stdout and (elsewhere / "report" / "index.html").is_file()
    studies = subprocess.run([sys.executable, "-c", "import reproduction"], cwd=elsewhere, env=env,
                             capture_output=True, text=True)
    assert studies.returncode == 1 and "No module named 'reproduction'" in studies.stderr
