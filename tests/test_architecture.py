"""The package's dependencies point one way (the `[tool.importlinter]` contracts in pyproject.toml):
core <- data, zoo <- adapters, metrics <- train <- cli; outside the core, only its public face; the
library never imports the papers' reproduction; only each adapter imports its framework."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = 4


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter on the packages found under ``root``, with the project's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = Path(sys.executable).parent / "lint-imports"  # import-linter's command, beside this Python
    return subprocess.run([str(command), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True)


@pytest.fixture
def copy(tmp_path):
    """A copy of the library and the reproduction (code only) to break."""
    for package in ("art_reps", "reproduction"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.safetensors", "*.json"))
    return tmp_path


def broken_by(copy: Path, module: str, line: str, contract: str) -> str:
    """lint-imports' report once ``line`` is added to ``module``: ``contract`` broken."""
    path = copy / module
    path.write_text(path.read_text() + f"\n{line}  # noqa: E402,F401\n")
    proc = lint_imports(copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    listing = " ".join(proc.stdout.split()).split("Contracts:")[0]
    assert re.search(re.escape(contract) + r"[^▲]*?(KEPT|BROKEN)", listing)[1] == "BROKEN", proc.stdout
    return proc.stdout


def test_dependencies_point_one_way():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{CONTRACTS} kept, 0 broken" in proc.stdout


def test_an_upward_import_breaks_the_contract(copy):
    out = broken_by(copy, "art_reps/core/geometry.py", "from ..cli import report", "core <- data, zoo <- adapters")
    assert "art_reps.core.geometry -> art_reps.cli.report" in out


def test_a_private_core_import_breaks_the_contract(copy):
    out = broken_by(copy, "art_reps/captum.py", "from .core.loop import run_loop",
                    "outside the core, only art_reps.core")
    assert "art_reps.captum -> art_reps.core.loop" in out


def test_the_library_importing_the_reproduction_breaks_the_contract(copy):
    out = broken_by(copy, "art_reps/zoo/__init__.py", "import reproduction.models",
                    "the library never imports the papers' reproduction")
    assert "art_reps.zoo -> reproduction.models" in out


def test_a_framework_imported_outside_its_adapter_breaks_the_contract(copy):
    out = broken_by(copy, "art_reps/metrics/stir.py", "import captum", "only each adapter imports its framework")
    assert "art_reps.metrics.stir -> captum" in out


def test_no_test_holds_a_wall_clock_limit():
    """Speed lives in benchmarks: a limit inside a test fails on a loaded machine."""
    tests = Path(__file__).resolve().parent
    limited = [p.relative_to(tests).as_posix() for p in tests.rglob("*.py")
               if re.search(r"\btimeout\s*=|pytest\.mark\.timeout", p.read_text()) and p.name != Path(__file__).name]
    assert limited == []
