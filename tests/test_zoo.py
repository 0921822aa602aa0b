"""The embedded default's models: the registry, the cards met on the test split, other folders."""
import shutil

import pytest
import torch

from art_reps import zoo
from art_reps.data import digits_on_textures
from art_reps.train.adversarial import accuracy


def test_registry_lists_the_embedded_models():
    assert zoo.list_models() == sorted({zoo.STANDARD, zoo.ROBUST, zoo.JUDGE, *zoo.DEMO_JUDGE_MEMBERS})
    with pytest.raises(ValueError, match="unknown model 'resnet50'; the models embedded are"):
        zoo.load_model("resnet50")


@pytest.fixture(scope="module")
def test_split():
    return digits_on_textures("test")


@pytest.mark.parametrize("name", zoo.list_models())
def test_clean_accuracy_meets_the_card(name, test_split):
    card = zoo.model_card(name)
    assert card["command"] == f"python -m reproduction.train {name}"
    measured = accuracy(zoo.load_model(name), test_split.images, test_split.labels)
    assert measured == pytest.approx(card["clean_accuracy"], abs=0.002)


def test_the_demo_judge_is_the_mean_of_its_members(test_split):
    judge = zoo.load_judge()
    x = test_split.images[:50]
    members = [zoo.load_model(m) for m in zoo.DEMO_JUDGE_MEMBERS]
    with torch.no_grad():
        mean = torch.stack([m(x).softmax(1) for m in members]).mean(0)
        assert torch.allclose(judge(x).exp(), mean, atol=1e-6)
    assert accuracy(judge, test_split.images, test_split.labels) >= 0.85


def test_a_folder_of_carded_weights_loads_as_the_embedded_ones(tmp_path):
    for suffix in ("safetensors", "json"):
        shutil.copy(zoo.WEIGHTS_DIR / f"{zoo.STANDARD}.{suffix}", tmp_path / f"mine.{suffix}")
    assert zoo.list_models(folder=tmp_path) == ["mine"]
    mine, standard = zoo.load_model("mine", folder=tmp_path), zoo.load_model(zoo.STANDARD)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(mine(x), standard(x))
    with pytest.raises(ValueError, match=f"unknown model 'standard'; the models in {tmp_path} are"):
        zoo.load_model(zoo.STANDARD, folder=tmp_path)


def test_loaded_model_is_fresh_and_in_eval_mode():
    a, b = zoo.load_model(zoo.ROBUST), zoo.load_model(zoo.ROBUST)
    assert not a.training
    with torch.no_grad():
        a.fc.weight.zero_()
    assert b.fc.weight.abs().sum() > 0
