"""Progress for hours of work, on a terminal or in a log.

On a terminal rich draws live bars. A console that is not a terminal (``> log``, ``nohup``, a batch
or cluster job) cannot redraw, and rich prints such a bar only once it stops: a 6-hour matrix would
write nothing until its end. There, :class:`LineProgress` prints a line instead each time a task
passes another tenth of its total, and one for every unit of work that says what it finished.
"""

from __future__ import annotations

import datetime

from rich.console import Console
from rich.progress import Progress, ProgressColumn, TaskID


def progress_bars(*columns: str | ProgressColumn, console: Console | None = None) -> Progress:
    """Live bars on a terminal, progress lines (:class:`LineProgress`) anywhere else."""
    console = console or Console()
    if console.is_terminal:
        return Progress(*columns, console=console, transient=False)
    return LineProgress(*columns, console=console)


def finished(progress: Progress, task: TaskID, summary: dict) -> None:
    """Advance ``task`` by the unit of work a run's or a teacher's ``summary`` describes; a log says
    which it was and how it ended ("vanilla seed 1: complete", "teacher cnn: failed")."""
    what = summary.get("method") if summary.get("seed") is None else f"{summary['method']} seed {summary['seed']}"
    how = "cached" if summary.get("skipped") else summary.get("status") or "done"
    progress.update(task, advance=1, finished=f"{what}: {how}")


class LineProgress(Progress):
    """A Progress that draws nothing and prints its milestones as lines (see the module)."""

    def __init__(self, *columns: str | ProgressColumn, console: Console) -> None:
        super().__init__(*columns, console=console, disable=True)
        self._tenths: dict[TaskID, int] = {}

    def update(self, task_id: TaskID, **kwargs) -> None:
        what = kwargs.pop("finished", None)
        super().update(task_id, **kwargs)
        task = next(t for t in self.tasks if t.id == task_id)
        tenth = int(10 * task.completed / task.total) if task.total else 0
        if what is None and tenth <= self._tenths.get(task_id, 0):
            return
        self._tenths[task_id] = max(tenth, self._tenths.get(task_id, 0))
        done = f"{task.completed:.0f}/{task.total:.0f}" if task.total else f"{task.completed:.0f}"
        elapsed = datetime.timedelta(seconds=round(task.elapsed or 0.0))
        self.console.print(f"{task.description}: {done}{f', {what}' if what else ''} ({elapsed})",
                           highlight=False, markup=False, soft_wrap=True)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        self.update(task_id, advance=advance)
