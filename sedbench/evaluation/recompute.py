"""``sedbench evaluate RUN_DIR``: metrics recomputed from a run's stored scores and ground truth."""

from __future__ import annotations

import os
from pathlib import Path

from sedbench.errors import SedbenchError
from sedbench.evaluation.metrics import METRICS, compute_metrics
from sedbench.evaluation.scores import read_clip_scores, read_run_inputs
from sedbench.locks import holding_run
from sedbench.results import RECORD_FILE, now_iso, read_record, record_or_none, write_record


def evaluate_run(
    run_dir: str | os.PathLike, which: list[str] | None = None, update: bool = False, num_jobs: int = 1
) -> dict:
    """Recompute metrics of a run folder; with ``update``, merge them into its record atomically.

    Clip-level metrics need the stored clip scores (``clip_scores.tsv``); without that file they are
    not recomputed (and an update keeps the stored values). An update holds the run's lock, so a
    re-run (``sedbench run --force``) cannot swap in another network between the read and the write;
    a read-only recompute refuses a result that a re-run replaced while it was being read.
    """
    run_dir = Path(run_dir)
    if update:
        with holding_run(run_dir, "run `sedbench evaluate --update` again"):
            return _recompute(run_dir, which, update, num_jobs)
    before = _started(run_dir)
    metrics = _recompute(run_dir, which, update, num_jobs)
    if _started(run_dir) != before:
        raise SedbenchError(f"{run_dir}: a re-run replaced this result while its scores were read; "
                            "run the command again")
    return metrics


def _started(run_dir: Path) -> object:
    """When the run in the folder now began (a re-run that replaced it began later)."""
    return (record_or_none(run_dir) or {}).get("started")


def _recompute(run_dir: Path, which: list[str] | None, update: bool, num_jobs: int) -> dict:
    if (run_dir / RECORD_FILE).is_file():
        status = read_record(run_dir).get("status")
        if status == "running":
            raise SedbenchError(f"{run_dir}: the run is still running (or was killed: then `sedbench run` "
                                "trains it again); recompute its metrics once it is complete")
        if status != "complete":  # its scores may be partial, or an earlier run's that --force began to redo
            raise SedbenchError(f"{run_dir}: the run is {status}, so its scores are not its own result; "
                                "run it again (`sedbench run`) before recomputing its metrics")
    scores, gt, durations = read_run_inputs(run_dir)
    check_complete(run_dir, scores, gt, durations)
    clip_ids = sorted(scores)
    classes = [str(c) for c in next(iter(scores.values())).columns[2:]]
    clip = read_clip_scores(run_dir, clip_ids, classes)
    wanted = list(which) if which else list(METRICS)
    if clip is None:
        wanted = [m for m in wanted if m not in ("weak_f1", "weak_map")]
    metrics = compute_metrics(scores, clip, clip_ids, gt, durations, classes, which=wanted, num_jobs=num_jobs)
    if update:
        record = read_record(run_dir)  # one-line error when the folder has no record
        record["metrics"] = {**(record.get("metrics") or {}), **metrics}
        record["evaluated"] = now_iso()
        write_record(run_dir, record)
    return metrics


def check_complete(run_dir: Path, scores: dict, gt: dict, durations: dict) -> None:
    """Every evaluated clip (durations.tsv lists them) has a score file and no score file is extra:
    metrics on a subset of the clips would silently be other metrics. Nothing is written on failure."""
    expected, scored = set(durations), set(scores)
    missing, extra = sorted(expected - scored), sorted(scored - expected)
    if missing:
        raise SedbenchError(
            f"{run_dir}: {len(missing)} of {len(expected)} clip(s) have no score file in scores/, e.g. "
            f"{missing[0]}; metrics on the others would not be this run's (nothing was written; re-run the pair)"
        )
    if extra:
        raise SedbenchError(
            f"{run_dir}: score file(s) for {len(extra)} clip(s) not in durations.tsv, e.g. {extra[0]}; "
            "the run folder is inconsistent (nothing was written)"
        )
