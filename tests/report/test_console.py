"""The console says each thing once, in words, and its tables fit 80 columns and a pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from sedbench.cli import cli
from sedbench.errors import SedbenchWarning
from sedbench.report.console import one_line_warnings

REPO = Path(__file__).resolve().parents[2]


def _sedbench(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from sedbench.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(REPO)})


def test_methods_fit_80_columns_in_a_pipe_without_folding_names():
    result = _sedbench("methods")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    for name in ("temporal-attention", "environment-aware", "multi-teacher", "scratch"):
        assert any(name in line for line in lines), name  # `sedbench methods | grep NAME` finds it
    assert result.stderr == ""


def test_methods_name_prints_the_whole_description():
    result = CliRunner().invoke(cli, ["methods", "temporal-attention"])
    assert result.exit_code == 0, result.output
    assert "hyperparameters" in result.output and "deploys" in result.output and "teachers" in result.output
    result = CliRunner().invoke(cli, ["methods", "temporal-atention"])
    assert result.exit_code != 0 and "did you mean temporal-attention" in result.output


def test_warnings_become_one_line_each_said_once():
    buf = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        one_line_warnings(Console(file=buf, width=200, color_system=None))
        for _ in range(3):
            warnings.warn("eval has no events of Cat", SedbenchWarning, stacklevel=1)
        warnings.warn("a library's deprecation\nsecond line", DeprecationWarning, stacklevel=1)
    lines = buf.getvalue().splitlines()
    assert lines == ["note: eval has no events of Cat", "warning (test_console): a library's deprecation"]


def test_importing_the_cli_warns_nothing():
    result = subprocess.run([sys.executable, "-W", "error", "-c", "import sedbench.cli, sedbench.runner, "
                             "sedbench.report.html"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr


def test_an_unreadable_record_is_skipped_with_a_sedbench_warning(tmp_path):
    import pytest

    from sedbench.evaluation.synthetic import fake_record
    from sedbench.results import load, run_dir, write_record

    write_record(run_dir(tmp_path, "quick", "scratch", 0), fake_record("scratch", 0, 0.3, benchmark="quick"))
    broken = run_dir(tmp_path, "quick", "vanilla", 0)
    broken.mkdir(parents=True)
    (broken / "run.json").write_text("{broken")
    with pytest.warns(SedbenchWarning, match="skipped: .*unreadable run record"):
        assert list(load(tmp_path)["method"]) == ["scratch"]
    # on a user's screen: one line, no source line
    result = subprocess.run([sys.executable, "-c", "from sedbench.cli import main; main()", "table", "--results",
                             str(tmp_path)], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(notes) == 1 and notes[0].startswith("note: skipped:"), result.stderr


def test_a_full_or_read_only_disk_is_one_line_naming_the_file():
    import errno

    import click
    from click.testing import CliRunner

    from sedbench.cli import SedbenchGroup

    @click.group(cls=SedbenchGroup)
    def group():
        pass

    @group.command()
    def write():
        raise OSError(errno.ENOSPC, "No space left on device", "/results/quick/run.json")

    result = CliRunner().invoke(group, ["write"])
    assert result.exit_code == 2 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "/results/quick/run.json: No space left on device; free some disk space" in result.output
    assert "Traceback" not in result.output


def test_methods_show_the_teachers_a_run_of_the_profile_uses():
    """quick's comparisons distil from `cnn` (its `teacher:`); the list showed each method's own default
    (crnn-large), which no run of quick uses."""
    quick = CliRunner().invoke(cli, ["methods", "vanilla", "--profile", "quick"])
    assert quick.exit_code == 0, quick.output
    assert "teacher    'cnn'" in quick.output and "as profile quick sets them" in quick.output
    full = CliRunner().invoke(cli, ["methods", "vanilla", "--profile", "full"])
    assert "teacher    'crnn-large'" in full.output
    listed = CliRunner().invoke(cli, ["methods", "--profile", "quick", "--set", "teacher=transformer"])
    row = next(line for line in listed.output.splitlines() if line.split()[:1] == ["vanilla"])
    assert "transformer" in row, row
