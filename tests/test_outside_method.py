"""A method declared in another installed package (an entry point of the group
``art_reps.methods``) gets every face: its Python function, ``art-reps <method>``, ``art-reps
batch <method>``, an ART class and a torchattacks class, each refusing a bad parameter before any
work. The package lives in a temporary folder on ``PYTHONPATH`` with its own dist-info, as pip
would install it; each face runs in a fresh interpreter, where the entry point is read at import."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("art")
pytest.importorskip("torchattacks")

METHOD = '''
"""Excite: raise a layer's mean activation within a ball around the images."""
import numbers

from typing_extensions import Unpack

from art_reps.core import Batch, Method, RunOptions, objectives as O
from art_reps.core.checks import check_images


def excite(model, images, *, layer: str, gain: float = 1.0, **options: Unpack[RunOptions]):
    """Raise ``layer``'s mean activation, times ``gain``, within a ball around ``images``."""
    return EXCITE(model, images=images, layer=layer, gain=gain, **options)


def _validate(call):
    gain = call.arguments["gain"]
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or gain <= 0:
        raise ValueError(f"gain must be a number > 0, got {gain!r}")


def _prepare(call):
    images = check_images(call.arguments["images"], "images", channels=call.representation.channels)
    return Batch(len(images), tuple(images.shape[1:]), {"start": images})


def _objective(call, chunk):
    layer, gain = call.arguments["layer"], call.arguments["gain"]
    return O.Objective(lambda acts, x: -gain * acts[layer].flatten(1).mean(1), [layer], "excite")


EXCITE = Method(name="excite", summary="raise a layer's mean activation near the images", function=excite,
                prepare=_prepare, objective=_objective, validate=_validate, inputs=("images",),
                recipe=lambda a: {"geometry": "l2", "eps": 0.5, "steps": 4, "step_size": 0.2})
'''

FACES = '''
import numpy as np, torch
import art_reps
from art.estimators.classification import PyTorchClassifier
from art_reps.art import attack_class as art_class
from art_reps.torchattacks import attack_class as torchattacks_class
from excite_pkg.excite import EXCITE, excite

assert art_reps.METHODS["excite"] is EXCITE
model = art_reps.load_model("l2_eps1").eval()
x = art_reps.data.digits_on_textures("test").images[:3]
before = model(x).detach()

res = excite(model, x, layer="avgpool")
moved = (res.images - x).flatten(1).norm(dim=1)
assert bool((moved <= 0.5 + 1e-4).all()) and bool((moved > 0.1).all()), moved

Excite = art_class(EXCITE)
clf = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), (3, 32, 32), 10, clip_values=(0, 1))
adv = Excite(clf, layer="avgpool", gain=2.0, verbose=False).generate(x.numpy())
assert adv.shape == (3, 3, 32, 32) and np.abs(adv - x.numpy()).max() > 0

RepExcite = torchattacks_class(EXCITE)
out = RepExcite(model, layer="avgpool", steps=2)(x, torch.zeros(3, dtype=torch.long))
assert out.shape == x.shape

refused = []
for make in (lambda: excite(model, x, layer="avgpool", gain=-1.0),
             lambda: Excite(clf, layer="avgpool", gain=-1.0),
             lambda: RepExcite(model, layer="avgpool", gain=0)):
    try:
        make()
    except ValueError as e:
        refused.append("gain must be a number > 0" in str(e))
assert refused == [True, True, True], refused
assert torch.equal(model(x).detach(), before)
print("faces ok")
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A package ``excite_pkg`` with a dist-info naming its method in the entry-point group."""
    site = tmp_path_factory.mktemp("site")
    (site / "excite_pkg").mkdir()
    (site / "excite_pkg" / "__init__.py").write_text("")
    (site / "excite_pkg" / "excite.py").write_text(textwrap.dedent(METHOD))
    info = site / "excite_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: excite-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[art_reps.methods]\nexcite = excite_pkg.excite:EXCITE\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return site, env


def run(env, *args, cwd=None):
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True)


def test_python_art_and_torchattacks_faces(installed):
    _, env = installed
    done = run(env, "-c", FACES)
    assert done.returncode == 0 and "faces ok" in done.stdout, done.stderr[-3000:]


def test_the_command_line_and_batch_faces(installed, tmp_path):
    _, env = installed
    listed = run(env, "-m", "art_reps.cli", "--help")
    assert "excite" in listed.stdout
    helped = run(env, "-m", "art_reps.cli", "excite", "--help")
    assert "--gain" in helped.stdout and "--steps" in helped.stdout and "(default: 4)" in helped.stdout

    done = run(env, "-m", "art_reps.cli", "excite", "--steps", "2", "--out", str(tmp_path / "one"), "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "one" / "summary.json").read_text())["method"] == "excite"

    done = run(env, "-m", "art_reps.cli", "batch", "excite", "--data", "embedded", "--limit", "4", "--steps", "2",
               "--out", str(tmp_path / "job"), "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(json.loads((tmp_path / "job" / "manifest.json").read_text())["items"]) == 4

    for face in (["excite"], ["batch", "excite", "--data", "embedded"]):
        bad = run(env, "-m", "art_reps.cli", *face, "--gain", "-1", "--out", str(tmp_path / "bad"))
        assert bad.returncode == 2 and "gain" in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
        assert not (tmp_path / "bad").exists()


def test_a_broken_entry_point_is_a_warning_not_an_error(installed, tmp_path):
    site, env = installed
    info = tmp_path / "broken_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[art_reps.methods]\nbroken = no_such_module:THING\n")
    env = {**env, "PYTHONPATH": os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])}
    done = run(env, "-c", "import art_reps; print(sorted(art_reps.METHODS))")
    assert done.returncode == 0 and "'excite'" in done.stdout
    assert "'broken'" in done.stderr and "was not registered" in done.stderr
