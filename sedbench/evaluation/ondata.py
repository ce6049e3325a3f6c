"""A finished run scored on another DESED-format set: ``sedbench evaluate RUN --data CONFIG_OR_ROOT``.

The run's deployed student(s) (sedbench.inference.RunDetector) see the new clips through the run's
own front end, routed by environment when the method deploys one student per environment, and are
scored with the metrics of every run. Everything goes beside the run, never into its record:

    <run>/evaluations/<name>/evaluation.json     metrics, data source and fingerprint, notes
    <run>/evaluations/<name>/scores/             per-clip sed_scores_eval score files
    <run>/evaluations/<name>/ground_truth.tsv, durations.tsv, clip_scores.tsv

so the folder has a run's layout (``sedbench evaluate <that folder>`` and the clip bootstrap read it).
``<name>`` is the data set's name (desed-synth: ``desed-synth-<preset>-s<seed>``; a data config: its
``name:``), with ``-<split>`` unless the split is ``eval``. ``load_on_data`` turns these into the
results DataFrame that ``sedbench table --data NAME`` compares.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sedbench.errors import SedbenchError
from sedbench.io import FOLDER_NAME_RULE, is_folder_name

EVALUATIONS_DIR = "evaluations"
EVALUATION_FILE = "evaluation.json"
_ABSENT_WARNING = "classes without ground-truth events left out"


@dataclass
class DataEvaluation:
    run_dir: Path
    name: str
    out_dir: Path
    metrics: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)  # the run's own record (method, seed, its metrics)


def _scored_split(dataset: Any, split: str) -> None:
    """One-line errors for a split that is missing (naming the others) or has no strong labels."""
    if dataset[split].kind != "strong":
        scored = [n for n, s in dataset.splits.items() if s.kind == "strong"]
        raise SedbenchError(f"--split {split}: it has no strong labels (events with onsets and offsets), which "
                            f"scoring needs; give one of {', '.join(scored) or 'none: the data has no strong split'}")


def evaluation_name(dataset: Any, split: str) -> str:
    name = f"{dataset.name}" if split == "eval" else f"{dataset.name}-{split}"
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name).lstrip(".") or "data"  # a leading dot would hide it


def evaluation_dir(run_dir: str | os.PathLike, name: str) -> Path:
    """RUN/evaluations/NAME; a name that is not one plain folder name (``..``, ``a/b``) is refused:
    it would write over the run's own record or outside its evaluations."""
    if not is_folder_name(name):
        raise SedbenchError(f"--name {name!r}: an evaluation's name is {FOLDER_NAME_RULE}, e.g. desed-public")
    return Path(run_dir) / EVALUATIONS_DIR / name


class _SplitCache:
    """The evaluated split per (feature config, classes): features are computed once per front end."""

    def __init__(self, dataset: Any, split: str, cache_root: Path, progress: bool):
        self.dataset, self.split, self.cache_root, self.progress = dataset, split, cache_root, progress
        self._data: dict[str, Any] = {}

    def get(self, detector: Any) -> Any:
        from sedbench.config import config_hash
        from sedbench.data.batches import EvalData
        from sedbench.data.features import FeatureCache

        key = config_hash({"features": detector.feature_cfg.to_dict(), "classes": detector.classes})
        if key not in self._data:
            cache = FeatureCache(self.dataset, detector.feature_cfg, cache_dir=self.cache_root / "features",
                                 progress=self.progress)
            self._data[key] = EvalData(self.dataset, cache, detector.encoder, self.split)
        return self._data[key]


def _check_classes(detector: Any, dataset: Any, split: str, name: str) -> list[str]:
    """Labels the run cannot detect are an error; the run's classes without events give one notice."""
    events = dataset[split].events
    present = set() if events is None else set(events["event_label"].astype(str))
    unknown = sorted(present - set(detector.classes))
    if unknown:
        raise SedbenchError(f"{name}: split {split} has events of classes the run does not detect "
                            f"({', '.join(unknown)}); the run detects {', '.join(detector.classes)}")
    absent = [c for c in detector.classes if c not in present]
    if absent:
        return [f"{name}/{split} has no events of {', '.join(absent)}: left out of PSDS, event F1 and "
                "the clip metrics (the others are scored as usual)"]
    return []


def evaluate_on_data(run_dir: str | os.PathLike, data: Any, split: str = "eval", *, name: str | None = None,
                     cache_root: str | os.PathLike = "cache", device: str | None = None, progress: bool = True,
                     batch_size: int = 64, _split_cache: _SplitCache | None = None) -> DataEvaluation:
    """Score a complete run's deployed student(s) on ``split`` of ``data`` (a desed-synth root, a data
    config path or a loaded DesedDataset) and write the result beside the run."""
    from sedbench.data.desed import DesedDataset, load_dataset
    from sedbench.locks import holding_run

    dataset = data if isinstance(data, DesedDataset) else load_dataset(data)
    _scored_split(dataset, split)
    name = name or evaluation_name(dataset, split)
    # the run's lock: a re-run (`sedbench run --force`) cannot swap in another network meanwhile
    with holding_run(run_dir, "run `sedbench evaluate --data` again"):
        return _evaluate_held(run_dir, dataset, data, split, name, cache_root, device, progress, batch_size,
                              _split_cache)


def _evaluate_held(run_dir, dataset, data, split: str, name: str, cache_root, device, progress: bool,
                   batch_size: int, split_cache: _SplitCache | None) -> DataEvaluation:
    from sedbench.data.check import ensure_checked
    from sedbench.evaluation.metrics import compute_metrics
    from sedbench.evaluation.scores import write_scores
    from sedbench.inference import RunDetector
    from sedbench.io import atomic_write_json, make_temp_dir, replace_dir
    from sedbench.results import now_iso

    _refuse_other_data(evaluation_dir(run_dir, name), dataset, name)
    if split_cache is None:  # evaluate_results checked it once for all its runs
        ensure_checked(dataset, cache_root, progress=progress, splits=[split])
    detector = RunDetector.load(run_dir, device)
    notes = [*dataset.notes_of(split), *_check_classes(detector, dataset, split, name)]
    cache = split_cache or _SplitCache(dataset, split, Path(cache_root), progress)
    evaldata = cache.get(detector)
    if detector.routed and not evaldata.environments:
        raise SedbenchError(detector.no_environments_message(f"{name}/{split}"))
    scores, clips, long_note = score_on(detector, dataset, split, evaldata, batch_size)
    notes += [long_note] if long_note else []
    with warnings.catch_warnings():  # said once above, not once per metric
        warnings.filterwarnings("ignore", message=_ABSENT_WARNING)
        metrics = compute_metrics(scores, clips, evaldata.clip_ids, evaldata.ground_truth, evaldata.durations,
                                  detector.classes)
    # written whole beside the earlier evaluation, then swapped in: one that is interrupted or fails
    # leaves the earlier one as it was
    out = evaluation_dir(run_dir, name)
    staging = make_temp_dir(out, prefix=f".{name}.new-")
    try:
        write_scores(staging / "scores", scores, ground_truth=evaldata.ground_truth,
                     durations=evaldata.durations, clip_probs=clips)
        record = detector.record
        atomic_write_json(staging / EVALUATION_FILE, {
            "data": name, "source": str(getattr(dataset, "root", data)), "split": split,
            "fingerprint": dataset.fingerprint, "n_clips": len(evaldata.clip_ids),
            "routed_by_environment": detector.routed, "notes": notes, "metrics": metrics,
            "run": {k: record.get(k) for k in ("benchmark", "benchmark_hash", "config_hash", "method", "seed")},
            "evaluated": now_iso(),
        })
        replace_dir(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return DataEvaluation(Path(run_dir), name, out, metrics, notes, record)


def _refuse_other_data(out: Path, dataset: Any, name: str) -> None:
    """An evaluation is replaced only by one on the same data: two data sets that share a name (two
    data configs with one ``name:``, an edited copy) must not overwrite each other's results."""
    path = out / EVALUATION_FILE
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return  # unreadable: nothing worth keeping
    if old.get("fingerprint") and old["fingerprint"] != dataset.fingerprint:
        raise SedbenchError(f"{out} holds an evaluation on other data named {name!r} (from {old.get('source')}); "
                            "give --name NAME to keep both, or delete that folder to replace it")


def score_on(detector: Any, dataset: Any, split: str, evaldata: Any, batch_size: int = 64
             ) -> tuple[dict[str, pd.DataFrame], np.ndarray, str | None]:
    """A detector's scores and clip probabilities on a split: every clip cut at its duration, and a clip
    longer than the training length predicted in windows over all of it (the feature cache holds its
    first training length only). One rule for a run's own eval and ``evaluate --data``; the note says
    how many clips were windowed (None: none)."""
    frames, clips = detector.predict_features(evaldata, batch_size)
    scores = detector.scores(frames, evaldata.clip_ids, evaldata.durations)
    n_long = _rescore_long_clips(detector, dataset, split, evaldata, scores, clips)
    note = (f"{n_long} clip(s) of {split} longer than the training length "
            f"({detector.feature_cfg.clip_duration:g} s) scored in windows over their whole length") if n_long else None
    return scores, clips, note


def _rescore_long_clips(detector: Any, dataset: Any, split: str, evaldata: Any, scores: dict, clips: np.ndarray
                        ) -> int:
    """Clips longer than the training length: windowed predictions replace the truncated ones."""
    from sedbench.inference import read_audio

    limit = detector.feature_cfg.clip_duration + detector.encoder.frame_hop_s
    long = [i for i, cid in enumerate(evaldata.clip_ids) if evaldata.durations[cid] > limit]
    for i in long:
        cid = evaldata.clip_ids[i]
        wav, _ = read_audio(dataset[split].path(evaldata.filenames[i]), detector.feature_cfg.sample_rate)
        env = (evaldata.environments or {}).get(cid)
        frames, clip = detector.predict_waveform(wav, env if detector.routed else None)
        scores[cid] = detector.clip_scores(frames, cid, evaldata.durations[cid])
        clips[i] = clip
    return len(long)


@dataclass
class FolderEvaluation:
    results: list[DataEvaluation]
    skipped: list[tuple[str, str]]  # (run dir, why)
    notes: list[str]


def evaluate_results(results_root: str | os.PathLike, data: Any, split: str = "eval", *, name: str | None = None,
                     cache_root: str | os.PathLike = "cache", device: str | None = None, progress: bool = True,
                     console: Any = None) -> FolderEvaluation:
    """``evaluate_on_data`` for every complete run under a results folder (features once per front end).

    A run that cannot be evaluated (no model.pt, environment routing on data without environments)
    is skipped with its reason; the others are still evaluated.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sedbench.data.check import ensure_checked
    from sedbench.data.desed import DesedDataset, load_dataset
    from sedbench.results import load

    if name is not None:
        evaluation_dir(results_root, name)  # a bad --name fails once, before any run is loaded
    df = load(results_root)
    runs = df[df["status"] == "complete"] if len(df) else df
    if runs.empty:
        raise SedbenchError(f"no complete runs under {results_root}: `sedbench run` produces them")
    dataset = data if isinstance(data, DesedDataset) else load_dataset(data)
    _scored_split(dataset, split)  # once, before any run
    # what `sedbench run` checks before training: a clip or label that data check rejects is not scored
    ensure_checked(dataset, cache_root, progress=progress, splits=[split])
    cache = _SplitCache(dataset, split, Path(cache_root), progress)
    done: list[DataEvaluation] = []
    skipped: list[tuple[str, str]] = []
    notes: list[str] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console or Console(stderr=True), disable=not progress, transient=True) as bar:
        task = bar.add_task(f"evaluate on {name or evaluation_name(dataset, split)}", total=len(runs))
        for run_dir in runs["run_dir"]:
            try:
                result = evaluate_on_data(run_dir, dataset, split, name=name, cache_root=cache_root,
                                          device=device, progress=progress, _split_cache=cache)
                done.append(result)
                notes += [n for n in result.notes if n not in notes]
            except SedbenchError as exc:
                skipped.append((str(run_dir), str(exc)))
            bar.advance(task)
    return FolderEvaluation(done, skipped, notes)


def load_on_data(results_root: str | os.PathLike, name: str, benchmark: str | None = None) -> pd.DataFrame:
    """``sedbench.results.load`` with every run's metrics taken from its evaluation on data set ``name``.

    ``run_dir`` points at the evaluation folder (its scores, for the clip bootstrap); the run's own
    folder is in ``source_run_dir``. Runs not evaluated on ``name`` get status ``not evaluated on
    NAME`` (the table leaves them out and says so). The data's fingerprint joins ``benchmark_hash``,
    so evaluations on different versions of the set are never compared with each other.
    """
    import json

    from sedbench.results import flatten_record, load, read_record

    df = load(results_root, benchmark=benchmark)
    if df.empty:
        return df
    rows: list[dict] = []
    damaged: list[int] = []
    for run_dir in df["run_dir"]:
        record = read_record(run_dir)
        path = evaluation_dir(run_dir, name) / EVALUATION_FILE
        try:
            evaluation = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
            readable = evaluation is None or isinstance(evaluation, dict)
        except (OSError, ValueError):
            readable = False
        if not readable:  # left out, with its file named
            row = flatten_record({**record, "metrics": {}}, run_dir)
            row["status"] = f"unreadable evaluation on {name} ({path}: evaluate it again)"
            damaged.append(len(rows))
        elif evaluation is not None:
            record = {**record, "metrics": evaluation.get("metrics") or {},
                      "benchmark_hash": f"{record.get('benchmark_hash')}+{str(evaluation.get('fingerprint'))[:8]}"}
            row = flatten_record(record, path.parent)
        else:
            row = flatten_record({**record, "metrics": {}}, run_dir)
            if record.get("status") == "complete":
                row["status"] = f"not evaluated on {name}"
        row["source_run_dir"] = str(run_dir)
        row["data"] = name
        rows.append(row)
    out = pd.DataFrame(rows)
    for i in damaged:  # in the group of the other evaluations of its settings, so the table says why it is out
        base = f"{out.at[i, 'benchmark_hash']}+"
        same = out["benchmark_hash"].astype(str).str.startswith(base)
        if same.any():
            out.at[i, "benchmark_hash"] = out.loc[same, "benchmark_hash"].mode().iloc[0]
    out["seed"] = pd.to_numeric(out["seed"], errors="coerce").astype("Int64")
    if not (out["status"] == "complete").any():
        raise SedbenchError(f"no run under {results_root} was evaluated on {name!r}; "
                            f"`sedbench evaluate {results_root} --data ...` does it")
    return out.reset_index(drop=True)
