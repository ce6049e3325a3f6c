"""Atomic writes (sedbench.io): folder swaps, and the permissions a shared results folder needs."""

from __future__ import annotations

import os
import stat

import pytest

from sedbench.io import atomic_write_text, exchange_dirs, make_temp_dir, replace_dir


def test_exchange_dirs_swaps_two_folders_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not exchange_dirs(a, b):
        pytest.skip("no renameat2 here: the swap is two renames")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_written_files_and_folders_get_the_umasks_permissions_not_tempfiles_private_ones(tmp_path):
    """tempfile makes 0600 files and 0700 folders; a results folder shared by a group must stay readable."""
    path = atomic_write_text(tmp_path / "run.json", "{}")
    folder = make_temp_dir(tmp_path / "scores", prefix=".scores.")
    replace_dir(folder, tmp_path / "scores")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask != 0o600
    assert stat.S_IMODE((tmp_path / "scores").stat().st_mode) == 0o777 & ~umask != 0o700


def test_replace_dir_puts_the_new_folder_in_place_and_leaves_nothing_else(tmp_path):
    old, new = tmp_path / "evaluation", tmp_path / ".evaluation.new"
    old.mkdir()
    (old / "x").write_text("old")
    new.mkdir()
    (new / "x").write_text("new")
    replace_dir(new, old)
    assert (old / "x").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["evaluation"]


def test_holding_a_run_that_does_not_exist_makes_no_lock_file(tmp_path):
    from sedbench.errors import SedbenchError
    from sedbench.locks import holding_run

    with pytest.raises(SedbenchError, match="no such run folder"):
        with holding_run(tmp_path / "missing" / "seed-0", "evaluate"):
            pass
    assert list(tmp_path.iterdir()) == []
