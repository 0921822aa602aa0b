"""The `art-reps` command, run as a user runs it: the demo, `models`, `layers`, and one subcommand per
method of the registry on the embedded default."""
import json
import subprocess
import sys

import pytest
import torch
from PIL import Image

from art_reps import zoo
from art_reps.cli import main
import art_reps
from art_reps.cli.methods import method_flags, run_method
from art_reps.core import METHODS


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
    far = [label for label, d in metrics["relative_distance"].items() if d["score"] > 0.2]
    assert far and all(label in metrics["warning"] for label in far)  # every model under the bar is named
    assert all(0 <= r["low"] <= r["score"] <= r["high"] <= 1 for r in metrics["stir"].values())
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


@pytest.mark.parametrize("method,argv,images,grid", [
    ("invert", ["--steps", "3"], 10, (2, 10)),
    ("invert", ["--steps", "3", "--ood"], 12, (2, 12)),
    ("visualize", ["--steps", "3", "--feature", "4", "5", "6"], 3, (1, 3)),
    ("visualize", ["--steps", "3", "--feature", "4", "5", "--start", "images", "--closeness", "10"], 10, (2, 10)),
    ("interpolate", ["--steps", "3", "--n", "4"], 20, (5, 4)),
    ("manipulate", ["--steps", "3", "--feature", "7", "--eps", "0.5"], 10, (2, 10)),
    ("sensitivity", [], 10, (2, 10)),
    ("sensitivity", ["--ood", "--model", "standard"], 12, (2, 12)),
    ("iris", ["--steps", "3", "--loss", "freq", "--start", "light-noise"], 10, (2, 10)),
    ("attack", ["--steps", "3", "--eps", "0.25"], 10, (2, 10)),
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


def test_visualize_makes_images_of_the_size_asked_for(tmp_path):
    out = tmp_path / "vis"
    assert main(["visualize", "--size", "48", "--feature", "0", "--steps", "2", "--out", str(out), "--quiet"]) == 0
    width, height = Image.open(out / "visualize.png").size
    assert (width, height) == (3 * 48, 3 * 48)  # one 48-pixel image, upscaled 3x
    assert json.loads((out / "summary.json").read_text())["settings"]["size"] == [3, 48, 48]


def test_every_registered_method_is_a_subcommand_with_its_recipe_as_defaults(capsys):
    for name, method in METHODS.items():
        with pytest.raises(SystemExit):
            main([name, "--help"])
        text = capsys.readouterr().out
        for key, value in method.defaults().items():
            flag = "--" + key.replace("_", "-")
            if flag in text and key != "fake_relu":
                help_text = " ".join(text.split(flag, 2)[-1].split("--", 1)[0].split())  # argparse wraps lines
                assert f"(default: {value})" in help_text, (name, key)
    with pytest.raises(SystemExit):
        main(["visualize", "--help"])
    assert "{pixel,fourier,maco}" in capsys.readouterr().out  # choices are listed


def test_settings_reach_the_method_and_change_the_result(tmp_path):
    a = run_method("manipulate", out=tmp_path / "a", steps=5, eps=0.1, feature=[3], progress=False)
    b = run_method("manipulate", out=tmp_path / "b", steps=5, eps=2.0, feature=[3], progress=False)
    assert a["settings"]["eps"] == 0.1 and b["settings"]["eps"] == 2.0
    assert sum(b["losses"]) < sum(a["losses"])  # a larger ball lets the feature rise further


def test_the_summary_records_the_recipe_the_run_used(tmp_path):
    summary = run_method("invert", out=tmp_path, steps=4, progress=False)
    assert summary["settings"] == {**METHODS["invert"].defaults(), "steps": 4, "seed": 0}


def test_bad_method_arguments(tmp_path, capsys):
    with pytest.raises(ValueError, match="method must be one of"):
        run_method("dream", out=tmp_path)
    with pytest.raises(ValueError, match="takes no setting"):
        run_method("sensitivity", out=tmp_path, eps=1.0)
    assert main(["invert", "--out", str(tmp_path / "x"), "--layer", "layer9", "--quiet", "--steps", "2"]) == 2
    assert "layer9" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_refused_flag_touches_no_data_and_makes_no_folder(tmp_path, monkeypatch, capsys):
    def no_data(*args, **kwargs):
        raise AssertionError("the data was built before the refusal")

    monkeypatch.setattr(art_reps.data, "digits_on_textures", no_data)
    monkeypatch.setattr(sys.modules["art_reps.data.digits_on_textures"], "digits_on_textures", no_data)
    for argv in (["invert", "--steps", "0"], ["visualize", "--param", "pink"], ["invert", "--step-size", "nan"],
                 ["iris", "--loss", "l7"], ["invert", "--batch-size", "0"]):
        with pytest.raises(SystemExit) as e:
            main([*argv, "--out", str(tmp_path / "out"), "--quiet"])
        assert e.value.code == 2
    assert main(["invert", "--layer", "nope", "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert main(["invert", "--model", "resnet9", "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert not (tmp_path / "out").exists()
    assert "Traceback" not in capsys.readouterr().err


def test_a_method_file_is_enough_for_the_command_line(tmp_path, capsys):
    """A new method declared once (what a new file in art_reps/core/methods holds) is a subcommand
    and a batch job with its own flags, and chunks as every method does."""
    from art_reps.core import Method, register
    from art_reps.core import objectives as O
    from art_reps.core.methods import Batch

    def brighten(model, images: torch.Tensor, *, layer: str, weight: float = 1.0, **options) -> art_reps.Result:
        """Raise a layer's mean activation, starting from the images."""
        return method(model, images=images, layer=layer, weight=weight, **options)

    method = Method(name="brighten", summary="raise a layer's mean activation", function=brighten,
                    prepare=lambda call: Batch(len(call.arguments["images"]), (3, 32, 32),
                                               {"start": call.arguments["images"]}),
                    objective=lambda call, chunk: call.arguments["weight"] * O.direction(
                        call.arguments["layer"], torch.ones(128)),
                    recipe=lambda a: {"steps": 4, "step_size": 0.1}, inputs=("images",))
    register(method)
    try:
        assert main(["brighten", "--weight", "2", "--out", str(tmp_path / "b"), "--quiet"]) == 0
        assert json.loads((tmp_path / "b" / "summary.json").read_text())["settings"]["weight"] == 2.0
        assert main(["batch", "brighten", "--limit", "3", "--out", str(tmp_path / "c"), "--quiet"]) == 0
        x = art_reps.data.digits_on_textures("test").images[:5]
        model = art_reps.load_model("l2_eps1")
        whole, chunked = brighten(model, x, layer="avgpool"), brighten(model, x, layer="avgpool", batch_size=2)
        assert torch.allclose(whole.images, chunked.images, atol=1e-4)
        with pytest.raises(TypeError, match="brighten\\(\\) got an unexpected keyword argument 'wieght'"):
            brighten(model, x, layer="avgpool", wieght=2)
        assert {f.name for f in method_flags(method)} >= {"weight", "steps", "step_size"}
    finally:
        METHODS.pop("brighten")


def test_a_method_says_which_files_it_could_not_read_and_what_it_left_out(tmp_path, capsys):
    """Three readable digits and one broken file: interpolate pairs the first two, says the third has
    no partner and which file it could not read, on the screen and in summary.json."""
    folder = tmp_path / "data"
    folder.mkdir()
    test = art_reps.data.digits_on_textures("test")
    for i in range(3):
        Image.fromarray((test.images[i].permute(1, 2, 0).numpy() * 255).astype("uint8")).save(folder / f"d{i}.png")
    (folder / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    assert main(["interpolate", "--data", str(folder), "--steps", "2", "--n", "3", "--out", str(out), "--quiet"]) == 0
    shown = json.loads(capsys.readouterr().out)
    summary = json.loads((out / "summary.json").read_text())
    for said in (shown, summary):
        assert [u["file"] for u in said["unreadable"]] == ["broken.png"]
        assert "the last of the 3 images has no partner and is left out" in said["left_out"]
    assert summary["images"] == 3  # one pair, three points


def test_a_labels_csv_written_by_a_spreadsheet_is_read(tmp_path):
    """Spreadsheets write UTF-8 with a byte-order mark before the first column's name."""
    from art_reps.data.folders import load_items

    folder = tmp_path / "data"
    folder.mkdir()
    test = art_reps.data.digits_on_textures("test")
    for i in range(2):
        Image.fromarray((test.images[i].permute(1, 2, 0).numpy() * 255).astype("uint8")).save(folder / f"d{i}.png")
    csv = tmp_path / "labels.csv"
    csv.write_text("file,label\nd0.png,3\nd1.png,7\n", encoding="utf-8-sig")
    assert load_items(str(folder), labels=str(csv)).labels.tolist() == [3, 7]


def test_a_warning_is_one_line_naming_the_command_not_the_source(monkeypatch, capsys):
    """A library warning reaches a command-line user as an error does: one line, no install path."""
    import importlib
    import warnings

    cli = importlib.import_module("art_reps.cli.main")

    def warns(args):
        warnings.warn("the feature read exactly 0 at every step", RuntimeWarning)
        return 0

    monkeypatch.setattr(cli, "_models", warns)
    assert main(["models"]) == 0
    err = capsys.readouterr().err
    assert err == "art-reps models: warning: the feature read exactly 0 at every step\n"
    assert warnings.showwarning is not None and warnings.showwarning.__module__ == "warnings"  # restored after
