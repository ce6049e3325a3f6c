"""Detections (DCASE format: ``filename onset offset event_label``), as ``sedbench predict`` writes them,
scored against ground truth with the event metrics of every run (collar and intersection F1).

A detection list is turned into 0/1 score DataFrames (1 while an event of that class is detected),
which the sed_scores_eval-based metrics evaluate at any threshold in (0, 1): exactly the events given.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from sedbench.errors import SedbenchError, first_line
from sedbench.evaluation.metrics import GroundTruth, collar_f1, intersection_f1
from sedbench.evaluation.scores import _clip_id

COLUMNS = ("filename", "onset", "offset", "event_label")


def read_detections(path: str | os.PathLike) -> dict[str, list[tuple[float, float, str]]]:
    """Clip id (file name without extension) -> detected events; one-line errors for a bad file."""
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", keep_default_na=False, na_values={"onset": [""], "offset": [""]},
                         index_col=False)  # a trailing tab must not turn the first column into the index
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SedbenchError(f"{path}: unreadable detections TSV ({first_line(exc)})") from exc
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise SedbenchError(f"{path}: missing column(s) {', '.join(missing)}; expected {' '.join(COLUMNS)}")
    out: dict[str, list[tuple[float, float, str]]] = {}
    for i, (name, on, off, label) in enumerate(df[list(COLUMNS)].itertuples(index=False)):
        events = out.setdefault(_clip_id(str(name)), [])
        if not label:
            continue
        if not (np.isfinite(on) and np.isfinite(off) and off > on >= 0):
            raise SedbenchError(f"{path} (row {i + 2}): onset {on} / offset {off} invalid; need 0 <= onset < offset")
        events.append((float(on), float(off), str(label)))
    return out


def scores_from_detections(detections: dict[str, list[tuple[float, float, str]]], durations: dict[str, float],
                           classes: list[str]) -> dict[str, pd.DataFrame]:
    """0/1 score DataFrames (onset, offset, one column per class) for every clip of ``durations``."""
    index = {c: k for k, c in enumerate(classes)}
    out = {}
    for cid, duration in durations.items():
        events = detections.get(cid, [])
        unknown = sorted({lab for _, _, lab in events} - set(index))
        if unknown:
            raise SedbenchError(f"detections of {cid} name unknown class(es) {unknown}; classes: {classes}")
        cuts = np.unique(np.clip([0.0, float(duration), *[t for on, off, _ in events for t in (on, off)]],
                                 0.0, float(duration)))
        if len(cuts) < 2:
            raise SedbenchError(f"clip {cid}: duration {duration} must be > 0")
        values = np.zeros((len(cuts) - 1, len(classes)))
        mids = (cuts[:-1] + cuts[1:]) / 2
        for on, off, label in events:
            values[(mids > on) & (mids < off), index[label]] = 1.0
        out[cid] = pd.DataFrame(np.column_stack([cuts[:-1], cuts[1:], values]), columns=["onset", "offset", *classes])
    return out


def detection_metrics(detections: str | os.PathLike | dict, ground_truth: GroundTruth, durations: dict[str, float],
                      classes: list[str]) -> dict[str, float | None]:
    """Collar-based and intersection-based macro F1 of a detection list (a TSV path or its contents),
    over the clips of ``durations`` (clips without detections count as detecting nothing)."""
    if not isinstance(detections, dict):
        detections = read_detections(detections)
    extra = sorted(set(detections) - set(durations))
    if extra:
        raise SedbenchError(f"detections name {len(extra)} clip(s) without ground truth, e.g. {extra[0]}")
    scores = scores_from_detections(detections, durations, classes)
    event_f1, _ = collar_f1(scores, ground_truth)
    inter_f1, _ = intersection_f1(scores, ground_truth)
    return {"event_f1": event_f1, "intersection_f1": inter_f1}
