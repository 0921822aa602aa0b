"""ART, torchattacks and Captum are extras: the library works without them, and an adapter whose
framework is missing names the extra that installs it (each case in a fresh interpreter, the
framework hidden as if it were not installed)."""
import subprocess
import sys

import pytest

HIDE = "import sys\nfor name in {hidden!r}:\n    sys.modules[name] = None  # as if not installed\n"


def run(code: str, hidden=()) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HIDE.format(hidden=list(hidden)) + code], capture_output=True,
                          text=True)


def test_the_library_and_its_command_work_without_any_framework():
    done = run("""
import torch, art_reps
from art_reps.cli import main
model = art_reps.load_model("l2_eps1")
x = art_reps.data.balanced(1).images[:2]
assert art_reps.invert(model, x, layer="avgpool", steps=3, progress=False).images.shape == x.shape
assert main(["models"]) == 0
assert not {"art", "torchattacks", "captum"} & {n for n, m in sys.modules.items() if m is not None}
""", hidden=("art", "torchattacks", "captum"))
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_captum_adapter_works_without_art_and_torchattacks():
    done = run("""
import art_reps, art_reps.captum
model = art_reps.load_model("l2_eps1")
x = art_reps.data.balanced(1).images[:2]
assert art_reps.captum.RepresentationSensitivity(model, "layer3").attribute(x, target=0).shape == x.shape
""", hidden=("art", "torchattacks"))
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("extra, name", [("art", "the Adversarial Robustness Toolbox"),
                                         ("torchattacks", "torchattacks"), ("captum", "Captum")])
def test_an_adapter_without_its_framework_names_the_extra(extra, name):
    done = run(f"import art_reps.{extra}", hidden=(extra,))
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1
    assert last == (f"ImportError: art_reps.{extra} needs {name}, which is not installed: "
                    f'pip install "art-reps[{extra}]"')


def test_autoattack_accuracy_names_the_extra():
    done = run("""
import torch, art_reps
from art_reps.train.adversarial import autoattack_accuracy
autoattack_accuracy(art_reps.load_model("standard"), torch.rand(2, 3, 32, 32), torch.tensor([0, 1]), eps=0.5)
""", hidden=("torchattacks",))
    assert 'autoattack_accuracy needs torchattacks, which is not installed: pip install "art-reps[torchattacks]"' \
        in done.stderr


def test_a_framework_that_is_installed_but_broken_says_so_itself():
    done = run("import art_reps.captum", hidden=("captum.log",))  # Captum is there; a part of it is not
    assert done.returncode == 1 and "art-reps[captum]" not in done.stderr and "captum.log" in done.stderr
