"""The `art-reps` command, run as a user runs it."""
import json
from pathlib import Path
import subprocess
import sys

import pytest

from art_reps import zoo
from art_reps.cli import main


def test_demo_writes_a_complete_report_and_says_when_steps_are_too_few(tmp_path):
    out = tmp_path / "report"
    assert main(["demo", "--out", str(out), "--steps", "20", "--quiet"]) == 0
    names = {p.name for p in out.iterdir()}
    for kind in ("standard", "robust"):
        assert {f"features_{kind}.png", f"sensitivity_{kind}.png"} <= names
    assert {"inversions.png", "index.html", "metrics.json"} <= names
    metrics = json.loads((out / "metrics.json").read_text())
    from reproduction import judge_controls as J

    passed = J.validated_judges()  # the judges that passed their controls; while none has, the independent ones
    expected = passed or tuple(n for n in J.NETWORK if n not in J.SHARE_MODEL_DATA)
    assert metrics["models"]["judges"] == list(expected) and set(metrics["recognised"]) == set(expected)
    assert metrics["models"]["judges_passed_controls"] == bool(passed)
    page = (out / "index.html").read_text()
    assert ("No judge has passed its controls" in page) == (not passed)
    for by_model in metrics["recognised"].values():
        for r in by_model.values():
            assert r["low"] <= r["score"] <= r["high"] and r["n"] == 30
    assert metrics["steps"] == 20 and metrics["images"] == 30
    assert metrics["warning"] and "too few steps" in metrics["warning"]  # 20 steps cannot match the targets
    page = (out / "index.html").read_text()
    assert "inversions.png" in page and "too few steps" in page and "Wilson" in page


def test_demo_rejects_an_unknown_model(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--model", "resnet9000", "--quiet"]) == 2
    assert "unknown model 'resnet9000'" in capsys.readouterr().err


def test_models_lists_the_cards_and_the_readme_shows_them():
    result = subprocess.run([sys.executable, "-m", "art_reps.cli", "models"], capture_output=True, text=True,
                            check=True)
    lines = result.stdout.strip().splitlines()
    from reproduction.train import REPLICATES

    seeds = [n for n in zoo.list_models() if n in REPLICATES]  # one line names the replicates at other seeds
    rows = [line for line in lines if line.startswith("| `")]
    assert len(rows) == len(zoo.list_models()) - len(seeds) and any(r.startswith(f"| `{zoo.ROBUST}` |") for r in rows)
    assert all(f"`{n}`" in lines[-1] for n in seeds)
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert f"<!-- models -->\n{result.stdout.strip()}\n<!-- /models -->" in readme, \
        "README's model table is not the output of `art-reps models`"


def test_models_rewrites_the_block_of_a_page(tmp_path):
    from art_reps.cli.main import models_table

    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- models -->\nstale\n<!-- /models -->\nend\n")
    assert main(["models", "--page", str(page)]) == 0
    assert page.read_text() == f"intro\n<!-- models -->\n{models_table()}\n<!-- /models -->\nend\n"


def test_steps_must_be_positive(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--steps", "0", "--quiet"]) == 2
    assert "steps must be an int" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["frobnicate"]])
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2


@pytest.mark.parametrize("argv, message", [
    (["invert", "--device", "cuda:7", "--steps", "2"], "--device 'cuda:7': no cuda device is available"),
    (["invert", "--device", "gpu", "--steps", "2"], "--device 'gpu' is not a torch device"),
    (["invert", "--per-class", "100000", "--steps", "2"], "per_class must be an int in [1, 100]"),
    (["manipulate", "--feature", "500", "--steps", "2"], "feature 500 is outside layer 'avgpool', which has 128"),
    (["sensitivity", "--layer", "nope"], "layer must be ''"),
    (["invert", "--layer", "nope", "--steps", "2"], "layer 'nope' does not exist"),
    (["batch", "invert", "--size", "0", "--steps", "2"], "size must be an int"),
    (["batch", "sensitivity", "--layer", "nope"], "layer must be ''"),
    (["reproduce", "--only", "selection", "--quick"], "--only re-measures one part of the saved full run"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    if torch_cuda_available():
        pytest.skip("this machine has a GPU")
    assert main([*argv, "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_unwritable_out_is_one_line_and_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    assert main(["invert", "--steps", "2", "--out", str(blocker / "sub"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["alignment", "stir", "metamers"])
def test_studies_that_run_on_the_cpu_take_no_device(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--device", "cuda", "--quick"])
    assert e.value.code == 2 and "unrecognized arguments: --device" in capsys.readouterr().err


def torch_cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.parametrize("command", [["invert"], ["sensitivity"], ["alignment"], ["stir"], ["metamers"], ["demo"],
                                     ["batch", "invert"]])
def test_help_shows_every_default(command, capsys):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split()).split("options:", 1)[1]
    for option in ("--seed", "--model", "--models", "--layer", "--model-1", "--steps", "--batch-size"):
        if f"{option} " in text:
            after = text.split(f"{option} ", 1)[1].split(" --", 1)[0]
            assert "default" in after, (command, option, after)
