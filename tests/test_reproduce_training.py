"""Long reproductions (run with `python -m pytest -m slow`): retraining reproduces the shipped cards."""
import json

import pytest

from art_reps import zoo
from art_reps.train.zoo import main

TOLERANCE = 0.02  # absolute, on clean and PGD accuracy


@pytest.mark.slow
@pytest.mark.parametrize("name", [zoo.STANDARD, zoo.JUDGE])
def test_retraining_reproduces_the_card(tmp_path, name):
    main([name, "--out", str(tmp_path)])
    new, shipped = json.loads((tmp_path / f"{name}.json").read_text()), zoo.model_card(name)
    assert new["clean_accuracy"] == pytest.approx(shipped["clean_accuracy"], abs=TOLERANCE)
    for a, b in zip(new["pgd_accuracy"], shipped["pgd_accuracy"]):
        assert a["eps"] == b["eps"] and a["accuracy"] == pytest.approx(b["accuracy"], abs=TOLERANCE)
