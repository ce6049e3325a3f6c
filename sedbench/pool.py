"""Tasks in spawned worker processes, dependencies first: the local executor of ``sedbench run --jobs N``.

Generic: a task is ``fn(**kwargs)`` returning a summary dict; the runner gives its run and teacher
functions. What this module owns is the signal discipline (Ctrl-C and SIGTERM stop every worker and
leave each run's record saying ``interrupted``; nothing outlives the parent) and a worker killed from
outside (kill -9, the out-of-memory killer), which fails the tasks beside it while the rest go on.
A worker's training progress reaches the parent's bars (or log lines) through a queue
(:func:`worker_progress`): hours of teacher training in workers would otherwise show nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sedbench.errors import Terminated, ignore_sigint, one_line, spawn_without_sigint, terminate_as_interrupt
from sedbench.progress import finished


@dataclass
class ProcessTask:
    """``fn(**kwargs)`` in a worker process, once the tasks named in ``needs`` have completed."""

    key: str
    fn: Callable[..., dict[str, Any]]
    kwargs: dict[str, Any]
    needs: tuple[str, ...] = ()
    cost: float = 1.0
    priority: int = 0  # higher first (teachers), then the most expensive first
    # called in the parent instead of fn when a task it needs failed (a run records why it did not train)
    on_blocked: Callable[[str], dict[str, Any]] | None = None


_POOL_WORKER = False  # True in the worker processes of run_in_processes
_POOL_STOP = None  # there: the parent's event "stop, start nothing more"
_POOL_UPDATES = None  # there: the queue that carries progress to the parent (worker_progress)
RELAY_EVERY_S = 0.5  # a worker sends a bar's position at most this often (a GPU step takes milliseconds)
STOP_GRACE_S = 5.0  # how long interrupted workers get to write their records before they are terminated


class _RelayConsole:
    def __init__(self, updates) -> None:
        self.updates = updates

    def print(self, text: str, *args, **kwargs) -> None:
        self.updates.put(("print", None, str(text)))


class RelayProgress:
    """The part of rich's Progress a training uses (add_task, update, advance, remove_task,
    console.print), sent to the parent's progress through the pool's queue."""

    def __init__(self, updates) -> None:
        self.updates, self.console = updates, _RelayConsole(updates)
        self._ids, self._sent = 0, {}

    def add_task(self, description: str, total: float | None = None, **kwargs) -> tuple[int, int]:
        self._ids += 1
        task = (os.getpid(), self._ids)
        self.updates.put(("add", task, {"description": description, "total": total, **kwargs}))
        return task

    def update(self, task, **kwargs) -> None:
        now = time.monotonic()
        if now - self._sent.get(task, 0.0) >= RELAY_EVERY_S or "total" in kwargs:
            self._sent[task] = now
            self.updates.put(("update", task, kwargs))

    def advance(self, task, advance: float = 1) -> None:
        self.updates.put(("update", task, {"advance": advance}))

    def remove_task(self, task) -> None:
        self._sent.pop(task, None)
        self.updates.put(("remove", task, None))


def worker_progress() -> RelayProgress | None:
    """In a worker of run_in_processes, a progress that shows in the parent; None elsewhere."""
    return RelayProgress(_POOL_UPDATES) if _POOL_UPDATES is not None else None  # set in workers only


def _relay(updates, progress, shown: dict) -> None:
    """Apply what the workers sent to the parent's ``progress`` (``shown``: worker task -> its TaskID)."""
    import queue

    while True:
        try:
            kind, task, payload = updates.get_nowait()
        except (queue.Empty, OSError, EOFError):  # nothing more, or the queue of a pool that is gone
            return
        if kind == "print":
            progress.console.print(payload, highlight=False, markup=False, soft_wrap=True)
        elif kind == "add":
            shown[task] = progress.add_task(**payload)
        elif task in shown and kind == "update":
            progress.update(shown[task], **payload)
        elif task in shown and kind == "remove":
            progress.remove_task(shown.pop(task))


def _forget(progress, shown: dict) -> None:
    """Remove the bars of a pool's workers (stopped or killed before they removed their own)."""
    for task in list(shown):
        progress.remove_task(shown.pop(task))


def _pool_worker_init(stop, updates) -> None:
    """Initializer of run_in_processes' workers. A worker starts with SIGINT blocked (the parent blocks it
    while it spawns them): Ctrl-C reaches the whole process group, and between tasks (and while it
    starts up) a worker ignores it: the parent decides, and stops its workers itself. SIGTERM keeps its
    default between tasks: the parent's ``terminate()`` ends an idle worker quietly."""
    import threading

    global _POOL_WORKER, _POOL_STOP, _POOL_UPDATES
    _POOL_WORKER, _POOL_STOP, _POOL_UPDATES = True, stop, updates
    updates.cancel_join_thread()  # a worker's exit never waits for the parent to read its last update
    ignore_sigint()
    parent = os.getppid()

    def exit_when_orphaned() -> None:  # the parent was killed (kill -9): nobody will ever stop this worker
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)  # a run it was training keeps its `running` record, which reads as interrupted

    threading.Thread(target=exit_when_orphaned, daemon=True, name="sedbench-orphan-watch").start()


def _between_tasks() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop_task_on_signal() -> None:
    """During a task: SIGINT raises KeyboardInterrupt, SIGTERM Terminated (the run writes its record as
    interrupted); later signals are ignored, so that the parent's request to stop, which may follow the
    terminal's Ctrl-C, cannot break that record's writing."""
    import signal

    def stop(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def task_signals() -> None:
    """Called by a task as it starts. In a pool worker the first SIGINT or SIGTERM stops the task, once;
    in a process of its own (Ray, a test) SIGTERM reads as an interrupt too."""
    if _POOL_WORKER:
        _stop_task_on_signal()
    else:
        terminate_as_interrupt()


def _pool_call(fn: Callable[..., dict[str, Any]], kwargs: dict[str, Any]) -> dict[str, Any]:
    """One task in a worker of run_in_processes: none starts once the parent has been interrupted."""
    if _POOL_STOP is not None and _POOL_STOP.is_set():
        raise KeyboardInterrupt("the run was interrupted before this task started")
    try:
        return fn(**kwargs)
    finally:
        _between_tasks()


@contextmanager
def _signals_held(block_sigint: bool = False):
    """SIGINT and SIGTERM wait until the block ends (the caught ones are yielded), and with
    ``block_sigint`` a process spawned inside starts with SIGINT blocked (``spawn_without_sigint``)."""
    import signal
    import threading
    from contextlib import nullcontext

    caught: list[int] = []
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda signum, frame: caught.append(signum))
    try:
        with spawn_without_sigint() if block_sigint else nullcontext():
            yield caught
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _submit(pool, fn: Callable[..., dict[str, Any]], kwargs: dict[str, Any]):
    """``pool.submit``, which may spawn a worker: a signal then waits for the worker to be spawned and
    registered (else an interrupted spawn leaves a worker that nothing stops), and is raised after."""
    import signal

    with _signals_held(block_sigint=True) as caught:
        future = pool.submit(_pool_call, fn, kwargs)
    if caught:
        handler = signal.getsignal(caught[0])
        if callable(handler):
            handler(caught[0], None)  # raises KeyboardInterrupt / Terminated
        elif handler == signal.SIG_DFL:
            signal.raise_signal(caught[0])
    return future


def _stop_pool(pool, stop, processes: list, running, cause: BaseException) -> None:
    """Stop the pool's workers when the parent was interrupted (or failed): cancel what has not started,
    ask the running tasks to stop (SIGINT, or SIGTERM when the parent got SIGTERM) so that their records
    say ``interrupted``, give them ``STOP_GRACE_S``, then terminate and at last kill what is left, so
    that nothing outlives this process nor blocks its exit."""
    import signal
    from concurrent.futures import wait

    with _signals_held():  # a second Ctrl-C must not leave the workers behind
        stop.set()  # a worker that takes a task from the queue now does not start it
        pool.shutdown(wait=False, cancel_futures=True)
        signum = signal.SIGTERM if isinstance(cause, Terminated) else signal.SIGINT
        for p in processes:
            if p.is_alive():
                try:
                    os.kill(p.pid, signum)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_GRACE_S
        wait(running, timeout=STOP_GRACE_S)  # their records are written
        for p in processes:  # the idle ones leave when the pool sends them its sentinels
            p.join(max(0.0, min(1.0, deadline - time.monotonic())))
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(2.0)
            if p.is_alive():
                p.kill()  # cannot be ignored; on a loaded machine its delivery can take seconds
                p.join(30.0)


class _SpawnPool:
    """One ProcessPoolExecutor of spawned workers, its "start nothing more" event and the worker
    processes it spawned (spawn, not fork: torch's thread pools do not survive a fork)."""

    def __init__(self, context, jobs: int, threads: int) -> None:
        self.stop = context.Event()
        self.updates = context.Queue()
        self.threads = threads
        self.executor = ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                            initializer=_pool_worker_init, initargs=(self.stop, self.updates))
        self.spawned_before = set(multiprocessing.active_children())
        self.workers: set = set()

    def submit(self, task: ProcessTask):
        future = _submit(self.executor, task.fn, dict(threads=self.threads, **task.kwargs))
        self.workers |= set(multiprocessing.active_children()) - self.spawned_before
        return future

    def lost_a_worker(self) -> bool:
        # a pool's workers never exit while it runs: one that did was killed. The executor notices
        # only at its next event when the worker was spawned after it last looked (CPython 3.11), so
        # a task beside it could run to its end first; this check does not wait for that.
        return any(p.exitcode is not None for p in self.workers)

    def close(self) -> None:
        import threading

        # the executor's manager thread reaps the workers: let it finish (bounded), else one it has
        # reaped can still look alive to this thread for a moment (waitpid raced, returncode unset)
        closer = threading.Thread(target=self.executor.shutdown, kwargs={"wait": True}, daemon=True)
        closer.start()
        closer.join(10.0)
        self.updates.close()  # this process only reads it: nothing of its own is left to flush


def run_in_processes(tasks: list[ProcessTask], jobs: int, progress, label: str,
                     threads: int | None = None,
                     on_finish: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run the tasks in ``jobs`` spawned processes, ``threads`` torch threads each (default: one
    share of the CPUs), dependencies first.

    ``on_finish`` receives each task's summary as it finishes: a caller stopped by Ctrl-C never gets
    the returned list, and still knows what finished (the stage table of a stopped `sedbench run`).

    Ready tasks start in order of (priority, cost), the longest first: with few workers the order
    decides how long the last one runs alone. A task whose dependency failed fails without running.
    A worker killed from outside (kill -9, the out-of-memory killer) fails the tasks running beside it
    (the pool cannot tell whose worker it was) and the rest go on in a new pool.
    """
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    from sedbench.benchmark import default_threads

    threads = threads or default_threads(jobs)
    overall = progress.add_task(f"{label} ({jobs} processes)", total=len(tasks))
    pending = sorted(tasks, key=lambda t: (-t.priority, -t.cost))
    completed: set[str] = set()
    failed: dict[str, str] = {}
    summaries: list[dict[str, Any]] = []

    def failure(task: ProcessTask, error: str) -> dict[str, Any]:
        failed[task.key] = error
        if task.on_blocked is not None:
            return task.on_blocked(error)
        return {"method": task.kwargs.get("method", task.key), "seed": task.kwargs.get("seed"),
                "status": "failed", "error": error}

    def finish(task: ProcessTask, summary: dict[str, Any]) -> None:
        if summary.get("status") == "failed":
            failed.setdefault(task.key, summary.get("error") or "failed")
        else:
            completed.add(task.key)
        summaries.append(summary)
        finished(progress, overall, summary)
        if on_finish is not None:
            on_finish(summary)

    context = mp.get_context("spawn")
    before = set(mp.active_children())

    lost = ("stopped: a worker process of the pool died (killed from outside, e.g. by the out-of-memory "
            "killer), which stops the tasks beside it; run the command again to redo it (--jobs 1 needs "
            "less memory)")
    pool = _SpawnPool(context, jobs, threads)
    running: dict[Any, ProcessTask] = {}
    shown: dict = {}  # the workers' trainings shown in this process's progress
    try:
        while pending or running:
            broken = False
            for task in list(pending):
                blocked = [n for n in task.needs if n in failed]
                if blocked:
                    pending.remove(task)
                    finish(task, failure(task, f"{blocked[0]} failed: {failed[blocked[0]]}"))
                elif len(running) < jobs and all(n in completed for n in task.needs):
                    try:
                        running[pool.submit(task)] = task
                    except BrokenProcessPool:  # it stays pending, for the next pool
                        broken = True
                        break
                    pending.remove(task)
            if not running and not broken:  # what is left waits for tasks that were never scheduled
                for task in pending:
                    finish(task, failure(task, f"waits for {', '.join(task.needs)}, which is not scheduled"))
                break
            done = set() if broken else wait(running, timeout=2.0, return_when=FIRST_COMPLETED)[0]
            _relay(pool.updates, progress, shown)
            for future in done:
                try:
                    finish(running[future], future.result())
                except BrokenProcessPool:
                    broken = True
                    continue  # stays in `running`: recorded below, once the pool has stopped
                except Exception as exc:  # a task that raised still counts as a failed run
                    finish(running[future], failure(running[future], one_line(exc)))
                del running[future]
            if broken or pool.lost_a_worker():
                # the tasks beside the dead worker end as interrupted (SIGTERM); once their workers are gone
                # (and their locks free), each fails with the reason
                _stop_pool(pool.executor, pool.stop, [p for p in pool.workers if p.exitcode is None],
                           list(running), Terminated())
                for task in running.values():
                    finish(task, failure(task, lost))
                running.clear()
                _forget(progress, shown)
                pool.close()
                pool = _SpawnPool(context, jobs, threads)  # what has not started goes on
        pool.executor.shutdown(wait=True)
        _relay(pool.updates, progress, shown)
        _forget(progress, shown)
        pool.close()
    except BaseException as exc:  # Ctrl-C, SIGTERM (Terminated), or a failure here: no worker is left behind
        with _signals_held():
            # every process spawned since the pool began: its workers, registered or not (the public
            # view; the pool's own table of them is private and misses one in the middle of spawning)
            workers = list(set(mp.active_children()) - before)
            _stop_pool(pool.executor, pool.stop, workers, list(running), exc)
            # a worker the pool spawned while it was being stopped (its manager thread): not left behind
            late = [p for p in set(mp.active_children()) - before if p not in workers]
            for p in late:
                p.kill()
            for p in late:
                p.join(30.0)
            pool.close()
        raise
    return summaries
