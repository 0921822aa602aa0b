"""Your own models from the command line: every kind of model specification runs ``invert`` on a
folder of images, every refusal is one line before any work, and ``layers`` lists what --layer
can name."""
import json
import os
import subprocess
import sys

import pytest
import torch
import torchvision
from torchvision.utils import save_image

import art_reps
from art_reps.cli.main import main
from art_reps.data.folders import load_items
from art_reps.zoo.specs import load_spec, normalisation


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Ten embedded test images, one per class, in sub-folders named by their class."""
    root = tmp_path_factory.mktemp("images")
    test = art_reps.data.digits_on_textures("test")
    for c in range(10):
        i = int(torch.nonzero(test.labels == c)[0])
        (root / str(c)).mkdir()
        save_image(test.images[i], root / str(c) / f"digit{i}.png")
    return root


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A user's files: a torchvision ResNet-18 (10 classes) saved as a DataParallel-wrapped state
    dict, the same as a MadryLab checkpoint (with attacker copy and normaliser), a TorchScript file,
    a pickled model, a ResNet-34's weights and a state dict with a key missing."""
    root = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=10).eval()
    state = net.state_dict()
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, root / "resnet18.pt")
    madry = {f"module.model.{k}": v for k, v in state.items()}
    madry.update({f"module.attacker.model.{k}": v for k, v in state.items()})
    madry.update({"module.normalizer.new_mean": torch.tensor([0.5, 0.5, 0.5]).view(3, 1, 1),
                  "module.normalizer.new_std": torch.tensor([0.25, 0.25, 0.25]).view(3, 1, 1)})
    torch.save({"model": madry, "epoch": 89}, root / "madry.pt")
    torch.jit.save(torch.jit.script(art_reps.load_model("standard")), root / "scripted.pt")
    torch.save(net, root / "pickled.pt")
    torch.save(torchvision.models.resnet34(num_classes=10).state_dict(), root / "resnet34.pt")
    torch.save({k: v for k, v in state.items() if k != "layer2.0.bn1.weight"}, root / "missing.pt")
    return root, net


def _invert(args, out):
    return main(["invert", "--steps", "2", "--quiet", "--out", str(out), *args])


KINDS = {
    "embedded": lambda c: ["--model", "standard"],
    "torchvision": lambda c: ["--model", "torchvision:resnet18", "--weights", str(c / "resnet18.pt")],
    "madrylab": lambda c: ["--model", f"madrylab:{c / 'madry.pt'}"],
    "torchscript": lambda c: ["--model", str(c / "scripted.pt"), "--layer", ""],
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_specification_kind_inverts_a_folder_from_the_command_line(kind, folder, checkpoints, tmp_path):
    root, _ = checkpoints
    out = tmp_path / "out"
    assert _invert([*KINDS[kind](root), "--data", str(folder)], out) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == 10 and summary["data"] == str(folder) and (out / "invert.png").is_file()
    assert summary["model"] == KINDS[kind](root)[1]
    if kind == "madrylab":  # the checkpoint's normalisation, not ImageNet's
        assert summary["mean"] == [0.5, 0.5, 0.5] and summary["std"] == [0.25, 0.25, 0.25]


def test_a_torchvision_model_runs_with_its_weights_and_normalisation(folder, checkpoints, tmp_path):
    root, net = checkpoints
    out = tmp_path / "out"
    assert _invert(["--model", "torchvision:resnet18", "--weights", str(root / "resnet18.pt"), "--data", str(folder)],
                   out) == 0
    summary = json.loads((out / "summary.json").read_text())
    items = load_items(str(folder))
    expected = art_reps.invert(net, items.images, layer="avgpool", steps=2, seed=0, progress=False,
                               mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    assert summary["losses"] == pytest.approx(expected.losses.tolist(), abs=1e-4)
    assert summary["mean"] == [0.485, 0.456, 0.406]


def test_timm_models_load_when_timm_is_installed(checkpoints, tmp_path):
    timm = pytest.importorskip("timm", reason="timm is an optional extra (pip install 'art-reps[timm]')")
    path = tmp_path / "timm.pt"
    torch.save(timm.create_model("resnet18", num_classes=10).state_dict(), path)
    assert load_spec("timm:resnet18", weights=path).model.fc.out_features == 10


def test_without_timm_the_specification_says_how_to_get_it(checkpoints, monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(ValueError, match="timm is not installed: pip install"):
        load_spec("timm:resnet18", weights=checkpoints[0] / "resnet18.pt")


REFUSALS = {
    "wrong architecture": (lambda c: ["--model", "torchvision:resnet18", "--weights", str(c / "resnet34.pt")],
                           "another architecture"),
    "missing keys": (lambda c: ["--model", "torchvision:resnet18", "--weights", str(c / "missing.pt")],
                     "missing keys ['layer2.0.bn1.weight']"),
    "pickled file": (lambda c: ["--model", "torchvision:resnet18", "--weights", str(c / "pickled.pt")],
                     "which art_reps refuses"),
    "pickled model file": (lambda c: ["--model", str(c / "pickled.pt")], "which art_reps refuses"),
    "wrong class count": (lambda c: ["--model", "torchvision:resnet18", "--weights", str(c / "resnet18.pt"),
                                     "--num-classes", "1000"], "scores 10 classes, not --num-classes 1000"),
    "state dict as a model": (lambda c: ["--model", str(c / "resnet34.pt")], "is a state dict, not a TorchScript"),
    "no weights": (lambda c: ["--model", "torchvision:resnet18"], "needs --weights FILE"),
    "unknown model": (lambda c: ["--model", "resnet18"], "unknown model 'resnet18'"),
    "scripted inner layer": (lambda c: ["--model", str(c / "scripted.pt"), "--layer", "avgpool"],
                             "a TorchScript model can be read only at its output"),
    "bad normalisation": (lambda c: ["--model", "standard", "--mean", "imagenett"], "--mean takes numbers or a preset"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_model_that_cannot_be_used_is_refused_in_one_line_before_any_work(case, folder, checkpoints, tmp_path,
                                                                         capsys):
    args, message = REFUSALS[case]
    out = tmp_path / "out"
    assert _invert([*args(checkpoints[0]), "--data", str(folder)], out) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("art-reps invert: error:") and "\n" not in err
    assert not out.exists()


def test_labels_come_from_sub_folders_or_a_csv(folder, tmp_path):
    items = load_items(str(folder))
    assert items.labels.tolist() == list(range(10)) and items.classes == {str(c): c for c in range(10)}
    assert load_items(str(folder), labels="none").labels.tolist() == [-1] * 10
    table = tmp_path / "labels.csv"
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))
    table.write_text("file,label\n" + "".join(f"{n},{(i + 1) % 10}\n" for i, n in enumerate(names[:4])))
    assert load_items(str(folder), labels=str(table)).labels.tolist() == [1, 2, 3, 4] + [-1] * 6
    table.write_text("file,label\nnot-there.png,1\n")
    with pytest.raises(ValueError, match="no image 'not-there.png' in the folder"):
        load_items(str(folder), labels=str(table))
    (tmp_path / "named" / "cat").mkdir(parents=True)
    (tmp_path / "named" / "ant").mkdir()
    save_image(torch.rand(3, 8, 8), tmp_path / "named" / "cat" / "a.png")
    save_image(torch.rand(3, 8, 8), tmp_path / "named" / "ant" / "b.png")
    named = load_items(str(tmp_path / "named"))
    assert named.classes == {"ant": 0, "cat": 1} and named.labels.tolist() == [0, 1]  # ImageFolder's order


def test_normalisation_takes_numbers_or_presets():
    assert normalisation(["imagenet"], None) == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert normalisation(["0.5"], ["0.2", "0.3", "0.4"]) == ((0.5,), (0.2, 0.3, 0.4))
    assert normalisation(None, None, ((1.0,), (2.0,))) == ((1.0,), (2.0,))
    with pytest.raises(ValueError, match="--std must be > 0"):
        normalisation(None, ["0"])
    with pytest.raises(ValueError, match="1 or 3 numbers"):
        normalisation(["0.1", "0.2"], None)


def test_layers_lists_a_resnet50_at_224_px_with_shapes(tmp_path):
    path = tmp_path / "resnet50.pt"
    torch.save(torchvision.models.resnet50().state_dict(), path)
    proc = subprocess.run([sys.executable, "-m", "art_reps.cli", "layers", "--model", "torchvision:resnet50",
                           "--weights", str(path), "--size", "224"], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert proc.returncode == 0, proc.stderr
    rows = {name.strip(): shape for name, shape in (line.rsplit("  ", 1) for line in proc.stdout.splitlines()[1:])}
    assert rows["layer4"].strip() == "(1, 2048, 7, 7)" and rows["avgpool"].strip() == "(1, 2048, 1, 1)"
    assert rows["fc"].strip() == "(1, 1000)" and rows["layer1.0.conv1"].strip() == "(1, 64, 56, 56)"
    assert len(rows) > 150


def test_compare_two_torchvision_models_writes_a_page_that_opens_in_chromium(folder, tmp_path):
    """Two ResNet-18s with local weights (random, saved as a user would) on a folder: every figure
    present in the self-contained page, in a real headless Chromium from a file URL."""
    paths = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        paths.append(tmp_path / f"resnet18_seed{seed}.pt")
        torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), paths[-1])
    out = tmp_path / "report"
    assert main(["compare", "--model", "torchvision:resnet18", "--model", "torchvision:resnet18",
                 "--weights", str(paths[0]), "--weights", str(paths[1]), "--data", str(folder), "--steps", "3",
                 "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["models"]) >= {"resnet18_seed1", "resnet18_seed2"} and metrics["images"] == 10
    assert set(metrics["stir"]) == {"resnet18_seed2_given_resnet18_seed1", "resnet18_seed1_given_resnet18_seed2",
                                    "cka"}
    assert all(r["low"] <= r["score"] <= r["high"] for r in metrics["stir"].values())
    assert metrics["recognised"] == {}  # a folder of the user's images: no judge of ours reads them
    figures = {"inversions.png", "features_resnet18_seed1.png", "features_resnet18_seed2.png",
               "sensitivity_resnet18_seed1.png", "sensitivity_resnet18_seed2.png"}
    assert figures <= {p.name for p in out.iterdir()}
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    from conftest import CHROMIUM, FLAGS

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto((out / "index.html").as_uri())
        shown = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.title, i.complete && i.naturalWidth > 0])")
        browser.close()
    assert {title for title, _ in shown} == figures and all(ok for _, ok in shown)
    assert all(u.startswith(("file:", "data:")) for u in requests)  # one self-contained file


@pytest.mark.parametrize("args, message", [
    (["--model", "standard"], "compare takes --model twice"),
    (["--model", "standard", "--model", "torchvision:resnet18"], "give one file for each torchvision:/timm: model"),
    (["--model", "standard", "--model", "l2_eps1", "--layer", "layer9"], "layer 'layer9' does not exist"),
    (["--model", "standard", "--model", "l2_eps1", "--data", "FOLDER", "--limit", "1"], "needs at least 2 images"),
])
def test_compare_refuses_in_one_line_before_any_work(args, message, folder, tmp_path, capsys):
    out = tmp_path / "report"
    args = [str(folder) if a == "FOLDER" else a for a in args]
    assert main(["compare", *args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and not out.exists()


def test_every_method_subcommand_takes_autocast(folder, tmp_path):
    out = tmp_path / "out"
    assert _invert(["--model", "standard", "--data", str(folder), "--autocast"], out) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["autocast"] is True and summary["images"] == 10


def test_seeds_from_a_folder_start_the_inversions_of_the_targets(folder, tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(10):
        save_image(torch.rand(3, 32, 32, generator=g), seeds / f"s{i:02d}.png")
    out = tmp_path / "out"
    assert main(["invert", "--model", "standard", "--targets", str(folder), "--seeds", str(seeds), "--steps", "1",
                 "--step-size", "1e-9", "--quiet", "--out", str(out)]) == 0
    from art_reps.data.folders import load_items as load

    grid = torchvision.io.read_image(str(out / "invert.png")).float() / 255
    assert grid.shape[-1] > 0 and json.loads((out / "summary.json").read_text())["images"] == 10
    # with a vanishing step the results are the seeds themselves: the last row of the grid (upscaled x3)
    last = load(str(seeds)).images[-1]
    tile = grid[:, -(32 * 3 + 2):-2, -(32 * 3 + 2):-2][:, ::3, ::3]
    assert torch.allclose(tile, last, atol=2 / 255)


@pytest.mark.parametrize("args, message", [
    (["invert", "--seeds", "SEEDS", "--start", "noise"], "give --seeds (a folder of start images) or --start"),
    (["invert", "--seeds", "FEW"], "--seeds holds 3 images but there are 10 targets"),
])
def test_seeds_that_do_not_fit_are_refused(args, message, folder, tmp_path, capsys):
    few = tmp_path / "few"
    few.mkdir()
    for i in range(3):
        save_image(torch.rand(3, 32, 32), few / f"{i}.png")
    args = [str(folder) if a == "SEEDS" else str(few) if a == "FEW" else a for a in args]
    out = tmp_path / "out"
    assert main([*args, "--data", str(folder), "--steps", "1", "--quiet", "--out", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()
