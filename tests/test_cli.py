"""The `art-reps` command, run as a user runs it."""
import json
import subprocess
import sys

import pytest
import torch

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
    assert metrics["models"]["judges"] == [zoo.DEMO_JUDGE] and set(metrics["recognised"]) == {zoo.DEMO_JUDGE}
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


def test_models_lists_the_embedded_cards():
    result = subprocess.run([sys.executable, "-m", "art_reps.cli", "models"], capture_output=True, text=True,
                            check=True)
    rows = [line for line in result.stdout.splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == zoo.list_models()
    robust = next(r for r in rows if r.startswith(f"| `{zoo.ROBUST}` |"))
    assert f"| {zoo.model_card(zoo.ROBUST)['clean_accuracy']:.3f} |" in robust


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
    (["invert", "--device", "meta", "--steps", "2"], "--device 'meta' holds shapes, not values"),
    (["batch", "invert", "--device", "meta", "--steps", "2"], "--device 'meta' holds shapes, not values"),
    (["invert", "--per-class", "100000", "--steps", "2"], "per_class must be an int in [1, 100]"),
    (["manipulate", "--feature", "500", "--steps", "2"], "feature 500 is outside layer 'avgpool', which has 128"),
    (["sensitivity", "--layer", "nope"], "layer must be ''"),
    (["invert", "--layer", "nope", "--steps", "2"], "layer 'nope' does not exist"),
    (["batch", "invert", "--size", "0", "--steps", "2"], "size must be an int"),
    (["batch", "sensitivity", "--layer", "nope"], "layer must be ''"),
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


class Picky(torch.nn.Module):
    """A model that checks its input's size, as timm's ViTs do."""

    def forward(self, x):
        if x.shape[-1] != 224:
            raise AssertionError("Input width (32) doesn't match model (224).")
        return x.mean((2, 3))


@pytest.mark.parametrize("command", [["sensitivity"], ["invert", "--steps", "2"], ["layers", "--size", "32"],
                                     ["batch", "sensitivity", "--limit", "2"]])
def test_a_model_refusing_its_input_is_one_line_and_exit_2(command, tmp_path, monkeypatch, capsys):
    from art_reps.cli import batch, methods

    def picky(*args, **kwargs):
        return Picky(), {}

    monkeypatch.setattr(methods, "load_model_spec", picky)
    monkeypatch.setattr(batch, "load_model_spec", picky)
    out = [] if command[0] == "layers" else ["--out", str(tmp_path / "out"), "--quiet"]
    assert main([*command, "--layer", "", *out] if command[0] != "layers" else command) == 2
    err = capsys.readouterr().err
    assert "the model refused its input: Input width (32) doesn't match model (224)." in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_a_scripted_models_error_is_one_line(tmp_path, capsys):
    path = tmp_path / "picky.pt"
    torch.jit.script(Picky()).save(str(path))
    assert main(["invert", "--model", str(path), "--layer", "", "--steps", "2", "--out", str(tmp_path / "out"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the model refused its input" in err and "Input width (32) doesn't match model (224)." in err
    assert len(err.strip().splitlines()) == 1


def torch_cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


HELP_OPTIONS = ("--seed", "--model", "--models", "--layer", "--model-1", "--steps", "--batch-size")


def assert_every_default_shown(text: str) -> None:
    """Every option of :data:`HELP_OPTIONS` in a command's ``--help`` says its default."""
    text = " ".join(text.split()).split("options:", 1)[1]
    for option in HELP_OPTIONS:
        if f"{option} " in text:
            after = text.split(f"{option} ", 1)[1].split(" --", 1)[0]
            assert "default" in after, (option, after)


@pytest.mark.parametrize("command", [["invert"], ["sensitivity"], ["demo"], ["batch", "invert"]])
def test_help_shows_every_default(command, capsys):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    assert_every_default_shown(capsys.readouterr().out)
