import io

from rich.console import Console
from rich.progress import Progress

from sedbench.progress import LineProgress, finished, progress_bars


def log_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200), out


def test_a_log_gets_a_line_per_tenth_and_per_finished_unit():
    # rich prints a bar on a non-terminal console only when it stops: hours of training would log nothing
    console, out = log_console()
    with progress_bars(console=console) as progress:
        assert isinstance(progress, LineProgress)
        steps = progress.add_task("vanilla seed 1", total=2500)
        for step in range(1, 2501):
            progress.update(steps, completed=step)
        pairs = progress.add_task("benchmark", total=3)
        finished(progress, pairs, {"method": "vanilla", "seed": 1, "status": "complete"})
        finished(progress, pairs, {"method": "teacher cnn", "seed": None, "status": "failed"})
        finished(progress, pairs, {"method": "scratch", "seed": 0, "status": "complete", "skipped": True})
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines[:10]] == [f"vanilla seed 1: {250 * i}/2500" for i in range(1, 11)]
    assert [line.split(" (")[0] for line in lines[10:]] == [
        "benchmark: 1/3, vanilla seed 1: complete", "benchmark: 2/3, teacher cnn: failed",
        "benchmark: 3/3, scratch seed 0: cached"]
    assert all(line.endswith(")") and ":" in line.rsplit("(", 1)[1] for line in lines)  # elapsed h:mm:ss


def test_a_terminal_gets_live_bars():
    console = Console(file=io.StringIO(), force_terminal=True)
    progress = progress_bars(console=console)
    assert type(progress) is Progress
    with progress:
        task = progress.add_task("benchmark", total=1)
        finished(progress, task, {"method": "vanilla", "seed": 0, "status": "complete"})
        assert progress.tasks[0].completed == 1
