"""Coordination between sedbench processes that share a results folder or a cache.

One lock file per thing being produced (a (method, seed) run, a teacher): an exclusive ``fcntl``
lock on it is held while the thing is built. The kernel drops the lock when its process exits, so a
killed process never leaves a stale claim. The lock files themselves stay (empty, a few bytes); they
live beside what they protect, under hidden names.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path


class Busy(Exception):
    """Another process holds the lock (raised by ``claim(..., wait=False)``)."""


@contextmanager
def claim(path: str | os.PathLike, wait: bool = True, on_wait=None, shared: bool = False) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` (created if missing) for the duration of the block; with
    ``shared``, a lock that other shared holders may hold too, and an exclusive one excludes.

    ``wait=False`` raises ``Busy`` at once when another process holds it; ``wait=True`` blocks until
    it is free, calling ``on_wait()`` once first if it has to wait.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise Busy(str(path)) from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(fh, mode)
        try:
            if not shared:
                fh.seek(0)
                fh.truncate()
                fh.write(f"{os.getpid()} {time.time():.0f}\n")  # who holds it, for a curious human
                fh.flush()
            yield path
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_lock(run_dir: str | os.PathLike) -> Path:
    """The lock of a (method, seed) run folder, beside it: held by the process that trains or re-runs
    the run, and by one that writes into it (``evaluate --update``, ``evaluate --data``)."""
    run_dir = Path(run_dir).resolve()  # `evaluate .` from inside the folder: the same lock as the runner's
    return run_dir.parent / f".{run_dir.name}.lock"


@contextmanager
def holding_run(run_dir: str | os.PathLike, doing: str) -> Iterator[None]:
    """Hold a run folder's lock, shared, while ``doing`` reads and writes it: a re-run (``sedbench run
    --force``, which holds it exclusively) cannot swap another network in between, while evaluations
    of the run do not exclude each other. A one-line error when a run holds it."""
    from sedbench.errors import SedbenchError

    if not Path(run_dir).is_dir():  # else the lock would be made beside a folder that is not there
        raise SedbenchError(f"{run_dir}: no such run folder; give a run's folder (the one with its run.json)")
    with ExitStack() as stack:
        try:
            stack.enter_context(claim(run_lock(run_dir), wait=False, shared=True))
        except Busy:
            raise SedbenchError(f"{run_dir}: another sedbench process is training this run now; {doing} "
                                "once it has finished") from None
        yield


def is_claimed(path: str | os.PathLike) -> bool:
    """Whether another process holds the lock on ``path`` right now (read-only: creates nothing)."""
    path = Path(path)
    if not path.is_file():
        return False
    with open(path) as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False
