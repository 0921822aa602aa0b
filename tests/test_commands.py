"""One `art-reps` subcommand per method, on the embedded default."""
import json

import pytest
import torch
from PIL import Image

from art_reps.cli import main
from art_reps.cli.commands import METHODS, run_method


@pytest.mark.parametrize("method,argv,images,grid", [
    ("invert", ["--steps", "3"], 10, (2, 10)),
    ("invert", ["--steps", "3", "--ood"], 12, (2, 12)),
    ("visualize", ["--steps", "3", "--features", "4", "5", "6"], 3, (1, 3)),
    ("interpolate", ["--steps", "3", "--n", "4"], 20, (5, 4)),
    ("manipulate", ["--steps", "3", "--feature", "7", "--eps", "0.5"], 10, (2, 10)),
    ("sensitivity", [], 10, (2, 10)),
    ("sensitivity", ["--ood", "--model", "standard"], 12, (2, 12)),
    ("iris", ["--steps", "3", "--loss", "freq", "--start", "light-noise"], 10, (3, 10)),
])
def test_each_method_writes_a_grid_and_a_summary(tmp_path, capsys, method, argv, images, grid):
    out = tmp_path / method
    assert main([method, "--out", str(out), "--quiet", *argv]) == 0
    printed = json.loads(capsys.readouterr().out)
    summary = json.loads((out / "summary.json").read_text())
    assert printed["images"] == summary["images"] == images == len(summary["losses"])
    rows, cols = grid
    width, height = Image.open(out / f"{method}.png").size
    assert (height - 2) // (3 * 32 + 2) == rows and (width - 2) // (3 * 32 + 2) == cols
    assert all(v == v for v in summary["losses"])  # no NaN


def test_settings_reach_the_method_and_change_the_result(tmp_path):
    a = run_method("manipulate", out=tmp_path / "a", steps=5, eps=0.1, progress=False)
    b = run_method("manipulate", out=tmp_path / "b", steps=5, eps=2.0, progress=False)
    assert a["settings"]["eps"] == 0.1 and b["settings"]["eps"] == 2.0
    assert sum(b["losses"]) < sum(a["losses"])  # a larger ball lets the feature rise further


def test_bad_method_arguments(tmp_path, capsys):
    with pytest.raises(ValueError, match="method must be one of"):
        run_method("dream", out=tmp_path)
    with pytest.raises(ValueError, match="takes no setting"):
        run_method("invert", out=tmp_path, eps=1.0)
    assert main(["invert", "--out", str(tmp_path), "--layer", "layer9", "--quiet", "--steps", "2"]) == 2
    assert "layer9" in capsys.readouterr().err
    assert set(METHODS) == {"invert", "visualize", "interpolate", "manipulate", "sensitivity", "iris"}
