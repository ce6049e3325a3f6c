"""Which code produced a result: the git commit of the sedbench checkout (and whether it had
uncommitted changes). Run records carry it (sedbench.results.environment_info), and so does a
mid-training checkpoint, so a training resumed by other code says so in its record."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parent.parent


def git_state(path: Path = SOURCE) -> dict[str, Any]:
    """``{"git_commit": sha or None, "git_dirty": bool or None}`` of the checkout at ``path``."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


@functools.cache
def code_state() -> dict[str, Any]:
    """This process's ``git_state`` of sedbench's own checkout, read once."""
    return git_state()


def describe(state: dict[str, Any] | None) -> str:
    """``commit 1d694cc`` (``, with uncommitted changes``), or what is unknown about it."""
    if not state or not state.get("git_commit"):
        return "an unknown commit"
    return f"commit {state['git_commit'][:7]}" + (", with uncommitted changes" if state.get("git_dirty") else "")
