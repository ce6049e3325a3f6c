"""The local executor's process pool (sedbench.pool): order, dependencies, Ctrl-C, a killed parent and
a killed worker. Tasks are plain functions; nothing here trains."""

from __future__ import annotations

import pytest

from sedbench import pool


def test_process_pool_starts_longest_first_and_skips_dependents_of_failures():
    from rich.progress import Progress

    def task(key, cost=1.0, needs=(), status="complete"):
        # dict() is a picklable builtin that returns its keyword arguments: the summary of the task
        return pool.ProcessTask(key, dict, {"method": key, "status": status, "error": "boom"}, needs, cost)

    tasks = [task("cheap", 1.0), task("teacher", needs=(), status="failed"), task("dear", 3.0),
             task("middle", 2.0), task("student", 5.0, needs=("teacher",))]
    told: list[dict] = []
    with Progress(disable=True) as progress:
        summaries = pool.run_in_processes(tasks, 1, progress, "test", on_finish=told.append)
    assert told == summaries  # each as it finished, the blocked student too
    by_key = {s["method"]: s for s in summaries}
    assert by_key["student"]["status"] == "failed" and by_key["student"]["error"] == "teacher failed: boom"
    started = [s["method"] for s in summaries if s["method"] != "student"]
    assert started == ["dear", "middle", "cheap", "teacher"]  # one worker: finishing order = start order


def _sleeping_task(threads=None, seconds=120.0, marker=""):
    """A worker task of the test below: sleeps, and says so in ``marker`` when it is interrupted."""
    import pathlib
    import time

    pool.task_signals()
    pathlib.Path(marker + ".started").touch()
    try:
        time.sleep(seconds)
    except KeyboardInterrupt:
        pathlib.Path(marker).write_text("interrupted")
        raise
    return {"method": marker, "status": "complete"}


def test_an_interrupted_process_pool_stops_its_workers_and_leaves_none_behind(tmp_path):
    """Ctrl-C reaching the parent alone: it asks its workers to stop (each task ends as interrupted),
    joins them, returns at once instead of waiting for the tasks, and restores its signal handling."""
    import multiprocessing
    import os
    import pathlib
    import signal
    import threading
    import time

    from rich.progress import Progress

    markers = [tmp_path / f"t{i}" for i in range(3)]
    tasks = [pool.ProcessTask(f"t{i}", _sleeping_task, {"marker": str(m)}) for i, m in enumerate(markers)]
    # a shell's background job (`cmd &`) starts with SIGINT ignored, and Python then installs no handler:
    # the Ctrl-C below would never arrive and the tasks would run their 120 s (a false failure)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    before = set(multiprocessing.active_children())  # earlier tests' processes are not this pool's
    interrupted_at: list[float] = []
    done = threading.Event()

    def interrupt_once_both_run() -> None:  # a spawned worker starting on a loaded machine can take 10 s
        deadline = time.monotonic() + 120
        while not done.is_set() and time.monotonic() < deadline:
            if all(pathlib.Path(f"{m}.started").is_file() for m in markers[:2]):
                interrupted_at.append(time.monotonic())
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.1)

    watcher = threading.Thread(target=interrupt_once_both_run, daemon=True)
    watcher.start()
    try:
        with Progress(disable=True) as progress, pytest.raises(KeyboardInterrupt):
            pool.run_in_processes(tasks, 2, progress, "test")
    finally:
        done.set()
        watcher.join()
        restored = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGINT, inherited)
    assert interrupted_at and time.monotonic() - interrupted_at[0] < 30  # not the tasks' 120 s
    assert no_process_left(before)
    assert sorted(m.name for m in markers if m.is_file()) == ["t0", "t1"]  # the third never started
    assert restored == handlers
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


ORPHAN_PARENT = """
import sys
from rich.progress import Progress
from sedbench import pool
from tests.test_pool import _sleeping_task
tasks = [pool.ProcessTask(f"t{i}", _sleeping_task, {"marker": f"{sys.argv[1]}/t{i}"}) for i in range(2)]
with Progress(disable=True) as progress:
    pool.run_in_processes(tasks, 2, progress, "test")
"""


def test_the_workers_of_a_killed_parent_exit_on_their_own(tmp_path):
    """kill -9 of `sedbench run` cannot stop its workers: each notices it is orphaned and exits."""
    import os
    import pathlib
    import signal
    import subprocess
    import sys
    import time

    repo = pathlib.Path(__file__).parents[1]
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN_PARENT, str(tmp_path)], cwd=repo)
    try:
        deadline = time.monotonic() + 120
        while not all((tmp_path / f"t{i}.started").is_file() for i in range(2)):
            assert time.monotonic() < deadline and parent.poll() is None, "the workers never started"
            time.sleep(0.2)
        workers = [int(line) for line in subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True,
                                                         text=True).stdout.split()]
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return pathlib.Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0

    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in workers if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert len(workers) >= 2 and left == []


def no_process_left(before: set, seconds: float = 10.0) -> bool:
    """Whether every process spawned since ``before`` is gone within ``seconds`` (a leaked worker of
    these tests sleeps for 120 s)."""
    import multiprocessing
    import time

    deadline = time.monotonic() + seconds
    while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    return not set(multiprocessing.active_children()) - before


def _killed_task(threads=None, after=""):
    """A worker task of the test below: its process is killed, as by kill -9 or the out-of-memory killer,
    once the task beside it has started."""
    import os
    import pathlib
    import signal
    import time

    while not pathlib.Path(after).exists():
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_worker_fails_the_tasks_beside_it_and_the_rest_go_on(tmp_path):
    """The pool SIGTERMs the other workers when one dies: their tasks end as interrupted, every task that
    was running fails with one clear reason (was a BrokenProcessPool traceback that ended the whole
    matrix), and the tasks not started yet run in a new pool."""
    import multiprocessing
    import time

    from rich.progress import Progress

    before = set(multiprocessing.active_children())
    sleeper = str(tmp_path / "t1")
    tasks = [pool.ProcessTask("t0", _killed_task, {"after": sleeper + ".started"}, cost=3),
             pool.ProcessTask("t1", _sleeping_task, {"marker": sleeper}, cost=2),
             pool.ProcessTask("t2", _sleeping_task, {"marker": str(tmp_path / "t2"), "seconds": 0.1}, cost=1)]
    start = time.monotonic()
    with Progress(disable=True) as progress:
        summaries = {s["method"]: s for s in pool.run_in_processes(tasks, 2, progress, "test")}
    assert time.monotonic() - start < 60  # not the sleeper's 120 s
    for key in ("t0", "t1"):
        assert summaries[key]["status"] == "failed" and "a worker process of the pool died" in summaries[key]["error"]
    assert (tmp_path / "t1").read_text() == "interrupted"  # the task beside it wrote its record first
    assert summaries[str(tmp_path / "t2")]["status"] == "complete"
    assert no_process_left(before)


def _training_task(threads=None, steps=4):
    """A worker task of the test below: a training's bar, as sedbench.training.fit drives it."""
    import time

    progress = pool.worker_progress()
    task = progress.add_task("teacher cnn", total=steps)
    progress.console.print("teacher cnn: resumed")
    for step in range(1, steps + 1):
        time.sleep(pool.RELAY_EVERY_S)  # every position is sent (none falls in the throttle)
        progress.update(task, completed=step, description=f"teacher cnn loss {1 / step:.3f}")
    progress.remove_task(task)
    return {"method": "teacher cnn", "status": "complete"}


def test_a_workers_training_shows_in_the_parents_progress():
    """A training in a worker (a teacher, for an hour) shows in the parent's bars or, in a log, as a
    line per tenth; without the relay the parent saw only the task's end."""
    import io

    from rich.console import Console

    from sedbench.progress import LineProgress

    out = io.StringIO()
    with LineProgress(console=Console(file=out, width=200)) as progress:
        pool.run_in_processes([pool.ProcessTask("teacher cnn", _training_task, {})], 1, progress, "benchmark")
        assert not [t for t in progress.tasks if t.description.startswith("teacher cnn")]  # its bar is gone
    lines = out.getvalue().splitlines()
    assert "teacher cnn: resumed" in lines
    assert [line.split(" (")[0] for line in lines if line.startswith("teacher cnn loss")] == [
        f"teacher cnn loss {1 / s:.3f}: {s}/4" for s in range(1, 5)]
    ended = next(i for i, line in enumerate(lines) if "teacher cnn: complete" in line)
    assert lines.index("teacher cnn: resumed") < ended  # live, not read back once the task has ended
    assert pool.worker_progress() is None  # in the parent, nothing is relayed
