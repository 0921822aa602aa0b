import shutil

import pytest
import torch
from torch import nn

from art_reps.zoo.architectures import SmallResNet

torch.set_num_threads(2)

# Debian's Chromium (.ci/run installs it), for the tests that open a page in a real browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def net():
    """A randomly initialised SmallResNet in train mode with non-trivial BatchNorm statistics."""
    torch.manual_seed(0)
    model = SmallResNet()
    with torch.no_grad():
        model(torch.rand(16, 3, 32, 32))  # moves running stats away from their defaults
    return model.train()


@pytest.fixture
def images():
    return torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def snapshot(model: nn.Module) -> dict:
    """Everything about a model that art_reps promises to leave as it was."""
    return {
        "modes": [m.training for m in model.modules()],
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "hooks": sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
                     for m in model.modules()),
    }


def assert_unchanged(before: dict, model: nn.Module) -> None:
    after = snapshot(model)
    assert after["modes"] == before["modes"], "training modes changed"
    assert after["requires_grad"] == before["requires_grad"], "requires_grad flags changed"
    assert after["hooks"] == before["hooks"], "hooks left behind"
    for k, v in before["state"].items():
        assert torch.equal(after["state"][k], v), f"state {k} changed"
    for a, b in zip(after["grads"], before["grads"]):
        assert (a is None and b is None) or torch.equal(a, b), ".grad changed"
