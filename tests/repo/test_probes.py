"""The linear probes behind the pipeline study's claim 1, and the zoo's contrastive recipe."""
import pytest

import reproduction.train as Z
from reproduction.models import load_model
from reproduction.train import probes


def test_the_probes_tell_a_digit_representation_from_a_background_one():
    """The probes' controls: the supervised cell's features read the digit; the SimCLR model trained
    on views of one image (which share its background) reads the background, as the audit found."""
    supervised, contrastive = probes(load_model("resnet_ce"), "val"), probes(load_model("simclr_one_image"), "val")
    assert supervised["digit"] >= 0.85 and supervised["background"] < supervised["digit"]
    assert contrastive["background"] >= 0.85 and contrastive["digit"] <= 0.3
    assert supervised["background_chance"] < 0.15 and supervised["images"] == 500


@pytest.mark.slow
def test_the_zoo_trains_a_cell_on_digit_views_and_its_card_shows_the_probes(tmp_path, monkeypatch):
    """One epoch of the digit-views recipe through the zoo's own training (a few minutes on 2 cores)."""
    monkeypatch.setitem(Z.SPECS, "resnet_simclr", dict(Z.SPECS["resnet_simclr"], **Z.DIGIT_VIEWS))
    monkeypatch.setattr(Z, "PROBE_EVERY", 1)
    card = Z.train_one("resnet_simclr", tmp_path, epochs=1, progress=False)
    assert "temperature 0.2" in card["training"]["loss"] and card["data"].startswith("digit_views")
    (point,) = card["training"]["probe_curve"]["points"]
    assert point["epoch"] == 1 and point["images"] == 500 and card["training"]["probes"]["images"] == 1000
    assert card["clean_accuracy"] == card["training"]["probes"]["digit"]
