"""The install contract: exact pins for the ABI-coupled pair, a lock that agrees with pyproject.toml,
and a broken torchaudio reported in one line (by ``sedbench doctor`` and by every command)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from sedbench import stack
from sedbench.config import REPO_ROOT

tomllib = pytest.importorskip("tomllib")


def project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def requirements() -> list[Requirement]:
    meta = project()
    return [Requirement(r) for r in meta["dependencies"] + meta["optional-dependencies"]["dev"]]


def test_abi_coupled_pair_is_pinned_exactly():
    pins = {r.name: str(r.specifier) for r in requirements()}
    assert pins["torch"] == "==2.11.0" and pins["torchaudio"] == "==2.11.0"


def test_every_dependency_is_locked_at_a_version_its_specifier_allows():
    locked = stack.read_lock(stack.LOCK_FILE, all_markers=True)
    for req in requirements():
        name = stack.normalize(req.name)
        assert name in locked, f"{req.name} is in pyproject.toml but not in requirements.lock: run `make lock`"
        assert req.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {name}=={locked[name]}, outside pyproject's {req}: run `make lock`")


def test_lock_is_hashed_and_the_makefile_installs_only_from_it():
    text = stack.LOCK_FILE.read_text()
    assert "--hash=sha256:" in text
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r $(LOCK)" in makefile
    assert "$(STAMP): $(LOCK)" in makefile  # a regenerated lock reinstalls


@pytest.fixture
def broken_torchaudio(tmp_path: Path) -> dict[str, str]:
    """An environment whose torchaudio fails to load the way a mismatched wheel does."""
    fake = tmp_path / "site" / "torchaudio"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise OSError('Could not load this library: libtorchaudio.so: undefined symbol: "
        "torch_exception_get_what_without_backtrace')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), str(REPO_ROOT)]))
    return env


def test_import_torchaudio_turns_a_mismatch_into_one_line(broken_torchaudio):
    code = "from sedbench.stack import import_torchaudio\nimport_torchaudio()"
    out = subprocess.run([sys.executable, "-c", code], env=broken_torchaudio, capture_output=True, text=True)
    assert out.returncode != 0
    assert "StackError: torchaudio" in out.stderr and "undefined symbol" in out.stderr
    assert "make setup" in out.stderr


def test_doctor_exits_1_with_a_one_line_diagnosis(broken_torchaudio, tmp_path):
    cmd = [sys.executable, "-m", "sedbench.cli", "doctor", "--quiet", "--data", str(tmp_path / "d"),
           "--cache", str(tmp_path / "c"), "--results", str(tmp_path / "r")]
    out = subprocess.run(cmd, env=broken_torchaudio, capture_output=True, text=True)
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if "torchaudio" in line and "error:" in line]
    assert len(lines) == 1 and "does not load against torch" in lines[0] and "Traceback" not in out.stderr


def test_doctor_passes_on_this_environment(tmp_path):
    from click.testing import CliRunner

    from sedbench.cli import cli

    result = CliRunner().invoke(cli, ["doctor", "--data", str(tmp_path / "d"), "--cache", str(tmp_path / "c"),
                                      "--results", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "torchaudio" in result.output and "threads" in result.output


def test_read_lock_evaluates_markers(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==1.0 ; python_full_version < '3.0' \\\n    --hash=sha256:aa\n"
                    "numpy==2.0 ; python_full_version >= '3.0' \\\n    --hash=sha256:bb\nclick==8.1 \\\n")
    assert stack.read_lock(lock) == {"numpy": "2.0", "click": "8.1"}
