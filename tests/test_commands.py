"""One `art-reps` subcommand per method of the registry, on the embedded default."""
import json
import sys

import pytest
import torch
from PIL import Image

import art_reps
from art_reps.cli import main
from art_reps.cli.methods import method_flags, run_method
from art_reps.core import METHODS


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
