"""`python -m reproduction`, the studies' command, run from the checkout as a reader runs it."""
import subprocess
import sys
from pathlib import Path

import pytest

from art_reps import zoo
from reproduction import judge_controls as J
from reproduction.__main__ import main
from reproduction.models import list_models, models_table
from reproduction.train import REPLICATES
from test_cli import assert_every_default_shown

ROOT = Path(__file__).resolve().parents[2]


def block(page: Path, name: str) -> str:
    return page.read_text().split(f"<!-- {name} -->\n", 1)[1].split(f"\n<!-- /{name} -->", 1)[0]


def test_the_models_page_lists_every_card_and_the_readme_the_embedded_ones():
    every = subprocess.run([sys.executable, "-m", "reproduction", "models"], capture_output=True, text=True,
                           check=True, cwd=ROOT).stdout.strip()
    lines = every.splitlines()
    seeds = [n for n in list_models() if n in REPLICATES]  # one line names the replicates at other seeds
    rows = [line for line in lines if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == [n for n in list_models() if n not in REPLICATES]
    assert all(f"`{n}`" in lines[-1] for n in seeds)
    assert block(ROOT / "docs" / "models.md",
                 "models") == every, "run: python -m reproduction models --page docs/models.md"
    embedded = subprocess.run([sys.executable, "-m", "art_reps.cli", "models"], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert models_table(embedded=True) == embedded
    assert block(ROOT / "README.md", "models") == embedded, \
        "run: python -m reproduction models --embedded --page README.md"


def test_models_rewrites_the_block_of_a_page(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- models -->\nstale\n<!-- /models -->\nend\n")
    assert main(["models", "--page", str(page)]) == 0
    assert page.read_text() == f"intro\n<!-- models -->\n{models_table()}\n<!-- /models -->\nend\n"


def test_the_demo_reports_the_judge_that_passed_round_4s_controls():
    assert zoo.DEMO_JUDGE in J.validated_judges(J.ROUND4.load())
    assert J.ENSEMBLES[zoo.DEMO_JUDGE] == zoo.DEMO_JUDGE_MEMBERS


def test_a_part_alone_refuses_quick_in_one_line(tmp_path, capsys):
    assert main(["reproduce", "--only", "selection", "--quick", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--only re-measures one part of the saved full run" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["alignment", "stir", "metamers"])
def test_studies_that_run_on_the_cpu_take_no_device(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--device", "cuda", "--quick"])
    assert e.value.code == 2 and "unrecognized arguments: --device" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["alignment", "stir", "metamers", "reproduce", "pipeline-study"])
def test_help_shows_every_default(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert_every_default_shown(capsys.readouterr().out)
