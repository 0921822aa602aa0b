"""The human-study page in a real headless Chromium, from a file URL with no network, answered by
scripted participants; the downloaded JSON files round-trip through the analysis."""
import json
from pathlib import Path

import pytest
import torch

from reproduction.human_study import analyze_responses, export_study

from conftest import CHROMIUM, FLAGS


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    g = torch.Generator().manual_seed(0)
    targets, seeds = torch.rand(6, 3, 8, 8, generator=g), torch.rand(6, 3, 8, 8, generator=g)
    iris = 0.8 * targets + 0.2 * seeds
    return export_study(tmp_path_factory.mktemp("study") / "study.html", references=iris, option_a=targets,
                        option_b=seeds, conditions=["robust"] * 3 + ["standard"] * 3, attention_checks=3)


def test_the_page_is_self_contained(page_path):
    text = page_path.read_text()
    assert "http://" not in text and "https://" not in text and "src=\"//" not in text
    assert text.count("data:image/png;base64,") == 6 * 3


def _participate(browser, url: str, answer, downloads: Path) -> tuple[Path, list]:
    """answer(trial_id, a_side) -> 'left' or 'right'. Returns the downloaded file and the order seen."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    seen = []
    while page.is_visible("#trial"):
        trial = page.get_attribute("#trial", "data-trial")
        a_side = page.get_attribute("#trial", "data-a-side")
        seen.append((trial, a_side))
        page.click("#" + answer(trial, a_side))
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    target = downloads / download.suggested_filename
    download.save_as(target)
    context.close()
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests  # no network
    return target, seen


def test_scripted_participants_end_to_end(page_path, tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    other = {"left": "right", "right": "left"}
    aligned = lambda trial, a_side: a_side                                               # noqa: E731
    contrary = lambda trial, a_side: a_side if trial.startswith("c") else other[a_side]  # noqa: E731
    inattentive = lambda trial, a_side: other[a_side]                                     # noqa: E731
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        runs = [_participate(browser, page_path.as_uri(), f, tmp_path) for f in (aligned, contrary, inattentive)]
        browser.close()
    files = [f for f, _ in runs]
    orders = [[t for t, _ in seen] for _, seen in runs]
    assert all(len(o) == 9 and sorted(o) == sorted(orders[0]) for o in orders)
    assert len({tuple(o) for o in orders}) > 1, "trial order is not randomised per participant"
    assert {side for _, seen in runs for _, side in seen} == {"left", "right"}
    first = json.loads(files[0].read_text())
    assert len(first["responses"]) == 9 and {r["choice"] for r in first["responses"]} == {"a"}
    assert files[0].name == f"responses_{first['participant']}.json"

    result = analyze_responses(files)
    assert result["participants"] == 2
    assert result["excluded"] == [json.loads(files[2].read_text())["participant"]]
    for condition in ("robust", "standard"):
        scores = result["conditions"][condition]
        assert scores["score"] == 0.5 and scores["n"] == 6       # one aligned, one contrary participant
        assert scores["low"] == 0.0 and scores["high"] == 1.0    # two participants: the interval is wide
    solo = analyze_responses(files[:1])
    assert solo["conditions"]["robust"] == {"score": 1.0, "low": 1.0, "high": 1.0, "n": 3}


def test_bad_input(tmp_path):
    x = torch.rand(2, 3, 4, 4)
    with pytest.raises(ValueError, match="conditions must have one label per reference"):
        export_study(tmp_path / "s.html", references=x, option_a=x, option_b=x, conditions=["a"])
    with pytest.raises(ValueError, match="attention_checks must be"):
        export_study(tmp_path / "s.html", references=x, option_a=x, option_b=x, attention_checks=-1)
    with pytest.raises(ValueError, match="option_a must have one image per reference"):
        export_study(tmp_path / "s.html", references=x, option_a=x[:1], option_b=x)
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    with pytest.raises(ValueError, match="not a response file"):
        analyze_responses([bad])


def _simulated(tmp_path, effects: dict, participants: int, trials: int, seed: int) -> list:
    """Response files of simulated observers: each participant's own share of choices for option
    ``a`` drawn around the condition's effect (sd 0.1), every attention check passed."""
    g = torch.Generator().manual_seed(seed)
    files = []
    for k in range(participants):
        responses = [{"id": f"c{k}", "kind": "attention", "condition": "attention", "choice": "a"}]
        for condition, effect in effects.items():
            own = float((effect + 0.1 * torch.randn((), generator=g)).clamp(0, 1))
            for t in range(trials):
                choice = "a" if float(torch.rand((), generator=g)) < own else "b"
                responses.append({"id": f"{condition}{t}", "kind": "trial", "condition": condition, "choice": choice})
        tmp_path.mkdir(parents=True, exist_ok=True)
        path = tmp_path / f"responses_p{k}.json"
        path.write_text(json.dumps({"participant": f"p{k}", "responses": responses}))
        files.append(path)
    return files


def test_the_analysis_recovers_a_simulated_observers_known_effect(tmp_path):
    """Observers preferring the robust image 75 % of the time are found above chance, their share
    inside its interval; observers at chance decide nothing; the registered power analysis gives
    a sample size that finds the registered effects."""
    from reproduction.human_study import EFFECTS, power_analysis, verdicts

    files = _simulated(tmp_path, {"class visualisations": 0.75, "inversions": 0.5}, 20, 20, seed=0)
    result = analyze_responses(files)
    strong, null = result["conditions"]["class visualisations"], result["conditions"]["inversions"]
    assert strong["low"] <= 0.75 <= strong["high"] and strong["low"] > 0.5
    assert null["low"] <= 0.5 <= null["high"]
    assert verdicts(result) == {"class visualisations": True, "inversions": False, "iris": None}

    needed = power_analysis()
    assert set(needed) == set(EFFECTS) and all(n["participants"] >= 2 for n in needed.values())
    found = 0
    for seed in range(10):
        files = _simulated(tmp_path / f"s{seed}", {"iris": EFFECTS["iris"]}, needed["iris"]["participants"],
                           needed["iris"]["trials"], seed=seed)
        found += verdicts(analyze_responses(files, n_boot=500))["iris"]
    assert found >= 5  # powered for 0.8; 10 simulated studies
