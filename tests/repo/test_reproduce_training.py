"""Long reproductions (run with `python -m pytest -m slow`): retraining reproduces the shipped cards."""
import json

import pytest

from art_reps import zoo
from reproduction.train import GRID, main
from reproduction import models

TOLERANCE = 0.02  # absolute, on clean, PGD and AutoAttack accuracy


@pytest.mark.slow
@pytest.mark.parametrize("name", [zoo.STANDARD, zoo.JUDGE, *GRID])
def test_retraining_reproduces_the_card(tmp_path, name):
    main([name, "--out", str(tmp_path)])
    new, shipped = json.loads((tmp_path / f"{name}.json").read_text()), models.model_card(name)
    assert new["clean_accuracy"] == pytest.approx(shipped["clean_accuracy"], abs=TOLERANCE)
    for key in ("pgd_accuracy", "autoattack_accuracy"):
        assert len(new[key]) == len(shipped[key]), key
        for a, b in zip(new[key], shipped[key]):
            assert a["eps"] == b["eps"] and a["accuracy"] == pytest.approx(b["accuracy"], abs=TOLERANCE), key
