"""Loaders for users' own models: real checkpoint files written and read back."""
import pytest
import torch
from safetensors.torch import save_file

from art_reps.zoo import load_madrylab, load_state_dict, load_torchvision


class NotATensor:
    """Stands for the dill-pickled extras in old MadryLab checkpoints."""


@pytest.fixture(scope="module")
def resnet_state():
    torch.manual_seed(0)
    return load_torchvision("resnet18", num_classes=10).model.state_dict()


def _write(path, state):
    if path.suffix == ".pt":
        torch.save(state, path)
    else:
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))


def _same_outputs(a, b):
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        return torch.allclose(a.eval()(x), b.eval()(x))


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_torchvision_weights_round_trip(tmp_path, resnet_state, suffix):
    path = tmp_path / f"resnet18{suffix}"
    _write(path, resnet_state)
    loaded = load_torchvision("resnet18", weights=path, num_classes=10)
    reference = load_torchvision("resnet18", num_classes=10).model
    reference.load_state_dict(resnet_state)
    assert _same_outputs(loaded.model, reference)
    assert loaded.mean == (0.485, 0.456, 0.406) and not loaded.model.training


@pytest.mark.parametrize("prefix", ["model.", "module.model.", "module."])
def test_lightning_and_dataparallel_checkpoints_load(tmp_path, resnet_state, prefix):
    """A Lightning checkpoint (the network as ``self.model``, under ``state_dict`` beside the
    trainer's state) loads as the plain state dict does."""
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {prefix + k: v for k, v in resnet_state.items()}, "epoch": 3,
                "pytorch-lightning_version": "2.4.0"}, path)
    reference = load_torchvision("resnet18", num_classes=10).model
    reference.load_state_dict(resnet_state)
    assert _same_outputs(load_torchvision("resnet18", weights=path, num_classes=10).model, reference)


def test_a_missing_model_file_is_called_missing(capsys):
    from art_reps.cli import main

    assert main(["layers", "--model", "no/such/model.pt"]) == 2
    assert "--model no/such/model.pt: no such file" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["model", "state_dict"])
def test_madrylab_checkpoint(tmp_path, resnet_state, key):
    state = {}
    for k, v in resnet_state.items():
        state[f"module.model.{k}"] = v
        state[f"module.attacker.model.{k}"] = v + 1  # the duplicate must be ignored
    mean, std = torch.tensor([0.4914, 0.4822, 0.4465]), torch.tensor([0.2023, 0.1994, 0.2010])
    for prefix in ("module.normalizer.", "module.attacker.normalize."):
        state[prefix + "new_mean"], state[prefix + "new_std"] = mean.view(3, 1, 1), std.view(3, 1, 1)
    path = tmp_path / "checkpoint.pt.best"
    torch.save({key: state, "epoch": 150, "nat_prec1": torch.tensor(95.2)}, path)
    loaded = load_madrylab(path, "resnet18")
    reference = load_torchvision("resnet18", num_classes=10).model
    reference.load_state_dict(resnet_state)
    assert _same_outputs(loaded.model, reference)
    assert loaded.mean == pytest.approx(mean.tolist()) and loaded.std == pytest.approx(std.tolist())


def test_checkpoint_needing_full_unpickling_is_refused(tmp_path, resnet_state):
    path = tmp_path / "dill_like.pt"
    torch.save({"model": resnet_state, "args": NotATensor()}, path)
    with pytest.raises(ValueError, match="cannot be loaded without unpickling arbitrary Python objects"):
        load_madrylab(path, "resnet18")


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_truncated_checkpoint(tmp_path, resnet_state, suffix):
    path = tmp_path / f"cut{suffix}"
    _write(path, resnet_state)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        load_state_dict(path)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("these are not weights")
    with pytest.raises(ValueError, match="not a readable torch checkpoint"):
        load_state_dict(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_state_dict(tmp_path / "missing.pt")


def test_weights_that_do_not_fit(tmp_path, resnet_state):
    path = tmp_path / "r18.pt"
    torch.save(resnet_state, path)
    with pytest.raises(ValueError, match="does not fit"):
        load_torchvision("resnet34", weights=path, num_classes=10)
    with pytest.raises(ValueError, match="not a torchvision classifier"):
        load_torchvision("resnet-18")
