"""An installed wheel (not the editable checkout) finds the saved results through the project it
runs in, or through --results, and says so in one line when there are none."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = (tmp / "dist").glob("art_reps-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp / "site"), str(wheel)], check=True,
                   capture_output=True, timeout=600)
    return tmp


def art_reps(installed, *argv, cwd):
    env = {**os.environ, "PYTHONPATH": str(installed / "site")}
    code = ("import sys, art_reps; from art_reps.cli import main; print('FROM', art_reps.__file__); "
            "sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_an_installed_wheel_renders_the_saved_results(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    given = art_reps(installed, "reproduce", "--from-results", "--results", str(ROOT / "results"), cwd=elsewhere)
    assert given.returncode == 0, given.stderr[-2000:]
    from reproduction import science

    tables = "\n\n".join(science.render(science.RESULTS.load()).values())
    assert f"FROM {installed / 'site'}" in given.stdout and tables in given.stdout
    found = art_reps(installed, "beyond-anchors", "--from-results", cwd=ROOT / "notebooks")  # a sub-folder
    assert found.returncode == 0, found.stderr[-2000:]
    missing = art_reps(installed, "pipeline-study", "--from-results", cwd=elsewhere)
    assert missing.returncode == 2 and "no saved results at" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
