"""The package's dependencies point one way (the `[tool.importlinter]` contract in pyproject.toml):
core <- data, zoo <- adapters, metrics <- train <- studies <- cli; outside the core, only its public face."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter on the ``art_reps`` package found under ``root``, with the project's contract."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = Path(sys.executable).parent / "lint-imports"  # import-linter's command, beside this Python
    return subprocess.run([str(command), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_dependencies_point_one_way():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "art_reps", tmp_path / "art_reps",
                    ignore=shutil.ignore_patterns("__pycache__", "*.safetensors"))
    geometry = tmp_path / "art_reps" / "core" / "geometry.py"
    geometry.write_text(geometry.read_text() + "\nfrom ..studies import report  # noqa: E402,F401  (upward)\n")
    proc = lint_imports(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 kept, 1 broken" in proc.stdout
    assert "art_reps.core.geometry -> art_reps.cli.report" in proc.stdout


def test_a_private_core_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "art_reps", tmp_path / "art_reps",
                    ignore=shutil.ignore_patterns("__pycache__", "*.safetensors"))
    captum = tmp_path / "art_reps" / "captum.py"
    captum.write_text(captum.read_text() + "\nfrom .core.loop import run_loop  # noqa: E402,F401  (private)\n")
    proc = lint_imports(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 kept, 1 broken" in proc.stdout and "art_reps.captum -> art_reps.core.loop" in proc.stdout
