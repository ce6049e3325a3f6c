"""PSDS1/PSDS2, collar- and intersection-based event F1, clip-level F1 and mAP (SPEC 6).

PSDS follows DESED_task: sed_scores_eval on median-filtered scores, clips without events dropped from
the ground truth (and from scores and durations with them). sed_scores_eval also refuses classes that
have no ground-truth event at all (possible on tiny eval sets, and usual on an environment's slice of
validation); such classes are left out of every event-level metric here and reported as None in the
per-class results. That is an expected condition, not a fault: it is not warned about on every call
(validation runs many times per training); ``classes_without_events`` names them, and a run states
them once in its record (``notes``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

with warnings.catch_warnings():  # dcase_util, imported by sed_scores_eval, still imports pkg_resources
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    from sed_scores_eval import collar_based, intersection_based

from sedbench.errors import SedbenchError
from sedbench.evaluation.postprocess import binarize

GroundTruth = dict[str, list[tuple[float, float, str]]]
Scores = dict[str, pd.DataFrame]

METRICS: tuple[str, ...] = ("psds1", "psds2", "event_f1", "intersection_f1", "weak_f1", "weak_map")


@dataclass(frozen=True)
class PsdsSettings:
    dtc_threshold: float
    gtc_threshold: float
    cttc_threshold: float | None
    alpha_ct: float
    alpha_st: float
    max_efpr: float

    def kwargs(self) -> dict:
        return asdict(self)


PSDS1 = PsdsSettings(
    dtc_threshold=0.7, gtc_threshold=0.7, cttc_threshold=None, alpha_ct=0.0, alpha_st=1.0, max_efpr=100.0
)
PSDS2 = PsdsSettings(
    dtc_threshold=0.1, gtc_threshold=0.1, cttc_threshold=0.3, alpha_ct=0.5, alpha_st=1.0, max_efpr=100.0
)
PSDS_SETTINGS: dict[str, PsdsSettings] = {"psds1": PSDS1, "psds2": PSDS2}


@dataclass
class PsdsResult:
    value: float | None
    per_class: dict[str, float | None]
    roc: tuple[np.ndarray, np.ndarray] | None = None  # (effective TPR, eFPR per hour)
    per_class_roc: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


# ----------------------------------------------------------------------------------- input hygiene
def clean_ground_truth(ground_truth: GroundTruth, clip_ids: Iterable[str], classes: list[str]) -> GroundTruth:
    """Every clip of ``clip_ids`` with its events; same-class overlapping events merged.

    sed_scores_eval asserts that events of one class never touch; annotations sometimes do, and one
    merged event is what a listener would mark.
    """
    known = set(classes)
    out: GroundTruth = {}
    for cid in clip_ids:
        per_class: dict[str, list[list[float]]] = {}
        for on, off, label in ground_truth.get(cid, []):
            if label not in known:
                raise SedbenchError(
                    f"ground truth of clip {cid} has unknown label {label!r}; classes: {classes}"
                )
            if not off > on:
                raise SedbenchError(
                    f"ground truth of clip {cid}: event {label} has onset {on} >= offset {off}"
                )
            per_class.setdefault(label, []).append([float(on), float(off)])
        events = []
        for label, spans in per_class.items():
            spans.sort()
            merged = [spans[0]]
            for on, off in spans[1:]:
                if on <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], off)
                else:
                    merged.append([on, off])
            events.extend((on, off, label) for on, off in merged)
        out[cid] = sorted(events)
    return out


def _event_inputs(scores: Scores, ground_truth: GroundTruth, drop_empty_clips: bool):
    """Restrict scores/ground truth to evaluable clips and classes. Returns (scores, gt, classes)."""
    if not scores:
        raise SedbenchError("no scores to evaluate")
    classes = [str(c) for c in next(iter(scores.values())).columns[2:]]
    gt = clean_ground_truth(ground_truth, scores.keys(), classes)
    if drop_empty_clips:
        gt = {cid: ev for cid, ev in gt.items() if ev}
    present = {label for events in gt.values() for _, _, label in events}
    used = [c for c in classes if c in present]
    if not used:
        return {}, {}, []
    if len(used) < len(classes):  # left out, and None in the per-class results (see the module's doc)
        cols = ["onset", "offset", *used]
        sel = {cid: scores[cid][cols] for cid in gt}
    else:
        sel = {cid: scores[cid] for cid in gt}
    return sel, gt, used


def classes_without_events(ground_truth: GroundTruth, classes: Iterable[str]) -> list[str]:
    """The classes of ``classes`` that no event of ``ground_truth`` has: event metrics leave them out."""
    present = {label for events in ground_truth.values() for _, _, label in events}
    return [c for c in classes if c not in present]


# ------------------------------------------------------------------------------------------- PSDS
def psds(
    scores: Scores,
    ground_truth: GroundTruth,
    durations: dict[str, float],
    settings: PsdsSettings = PSDS1,
    num_jobs: int = 1,
) -> PsdsResult:
    """PSDS with sed_scores_eval, clips without events dropped as in DESED_task."""
    classes = [str(c) for c in next(iter(scores.values())).columns[2:]]
    sel, gt, used = _event_inputs(scores, ground_truth, drop_empty_clips=True)
    if not used:
        return PsdsResult(None, dict.fromkeys(classes))
    if len(used) == 1 and settings.alpha_ct:
        # cross-triggers are detections of the other evaluated classes: with one class there are none, so
        # the alpha_ct term is 0 by definition; sed_scores_eval 0.0.4 fails on it instead (TypeError)
        settings = replace(settings, cttc_threshold=None, alpha_ct=0.0)
    value, per_class, roc, per_class_roc = intersection_based.psds(
        scores=sel,
        ground_truth=gt,
        audio_durations={cid: float(durations[cid]) for cid in gt},
        num_jobs=num_jobs,
        **settings.kwargs(),
    )
    return PsdsResult(
        value=float(value),
        per_class={c: (float(per_class[c]) if c in per_class else None) for c in classes},
        roc=(np.asarray(roc[0]), np.asarray(roc[1])),
        per_class_roc={c: (np.asarray(r[0]), np.asarray(r[1])) for c, r in per_class_roc.items()},
    )


def compute_psds1(scores: Scores, ground_truth: GroundTruth, durations: dict[str, float]) -> float | None:
    """The fast path for checkpoint selection: PSDS1 alone."""
    return psds(scores, ground_truth, durations, PSDS1).value


# ---------------------------------------------------------------------------------------- event F1
def collar_f1(
    scores: Scores,
    ground_truth: GroundTruth,
    threshold: float = 0.5,
    collar_s: float = 0.2,
    offset_rate: float = 0.2,
) -> tuple[float | None, dict[str, float]]:
    """Collar-based event F1 (DCASE: 200 ms onset collar, offset collar max(200 ms, 20 % of the event)).

    Returns (macro F1 over classes with events, per-class F1).
    """
    sel, gt, used = _event_inputs(scores, ground_truth, drop_empty_clips=False)
    if not used:
        return None, {}
    f, *_ = collar_based.fscore(
        binarize(sel, threshold),
        gt,
        0.5,
        onset_collar=collar_s,
        offset_collar=collar_s,
        offset_collar_rate=offset_rate,
    )
    return float(f["macro_average"]), {c: float(f[c]) for c in used}


def intersection_f1(
    scores: Scores,
    ground_truth: GroundTruth,
    threshold: float = 0.5,
    dtc: float = 0.5,
    gtc: float = 0.5,
) -> tuple[float | None, dict[str, float]]:
    """Intersection-based event F1 (dtc = gtc = 0.5), macro over classes with events."""
    sel, gt, used = _event_inputs(scores, ground_truth, drop_empty_clips=False)
    if not used:
        return None, {}
    f, *_ = intersection_based.fscore(binarize(sel, threshold), gt, 0.5, dtc_threshold=dtc, gtc_threshold=gtc)
    return float(f["macro_average"]), {c: float(f[c]) for c in used}


# ------------------------------------------------------------------------------------ clip level
def clip_labels(ground_truth: GroundTruth, clip_ids: list[str], classes: list[str]) -> np.ndarray:
    """(N, C) 0/1: is the class present anywhere in the clip."""
    index = {c: k for k, c in enumerate(classes)}
    labels = np.zeros((len(clip_ids), len(classes)), dtype=np.int8)
    for i, cid in enumerate(clip_ids):
        for _, _, label in ground_truth.get(cid, []):
            if label not in index:
                raise SedbenchError(f"ground truth of clip {cid} has unknown label {label!r}")
            labels[i, index[label]] = 1
    return labels


def clip_f1(clip_probs: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> float | None:
    """Macro F1 of clip tags (prob > threshold) over classes with at least one positive clip."""
    pred = np.asarray(clip_probs) > threshold
    pos = labels.astype(bool)
    keep = pos.any(axis=0)
    if not keep.any():
        return None
    tp = (pred & pos).sum(0)[keep]
    fp = (pred & ~pos).sum(0)[keep]
    fn = (~pred & pos).sum(0)[keep]
    return float(np.mean(2 * tp / (2 * tp + fp + fn)))


def average_precision(probs: np.ndarray, labels: np.ndarray) -> float:
    """Average precision of one class (the step-wise sum of sklearn; ties form one threshold)."""
    order = np.argsort(-probs, kind="mergesort")
    p, y = probs[order], labels[order].astype(np.float64)
    last = np.r_[p[1:] != p[:-1], True]  # last index of each group of tied scores
    tp = np.cumsum(y)[last]
    n_pred = (np.arange(len(p)) + 1)[last]
    precision = tp / n_pred
    recall_step = np.diff(np.r_[0.0, tp]) / y.sum()
    return float(np.sum(precision * recall_step))


def clip_map(clip_probs: np.ndarray, labels: np.ndarray) -> float | None:
    """Macro mean average precision over classes with at least one positive clip."""
    keep = labels.any(axis=0)
    if not keep.any():
        return None
    return float(np.mean([average_precision(clip_probs[:, k], labels[:, k]) for k in np.flatnonzero(keep)]))


# ------------------------------------------------------------------------------------------- all
def compute_metrics(
    scores: Scores,
    clip_probs: np.ndarray | None,
    clip_ids: list[str],
    ground_truth: GroundTruth,
    durations: dict[str, float],
    classes: list[str],
    which: Iterable[str] | None = None,
    num_jobs: int = 1,
) -> dict:
    """The metrics of SPEC 6 as a JSON-ready dict (None where a metric is undefined).

    ``which`` selects a subset of METRICS (e.g. ``["psds1"]`` on validation). Weak metrics need
    ``clip_probs`` (rows in ``clip_ids`` order); without them they are None.
    """
    wanted = list(METRICS) if which is None else list(which)
    unknown = set(wanted) - set(METRICS)
    if unknown:
        raise SedbenchError(f"unknown metric(s) {sorted(unknown)}; choose from {list(METRICS)}")
    missing = [cid for cid in clip_ids if cid not in scores]
    if missing:
        raise SedbenchError(f"no scores for {len(missing)} clip(s), e.g. {missing[0]}")
    scores = {cid: scores[cid] for cid in clip_ids}
    out: dict = {}
    for name in ("psds1", "psds2"):
        if name in wanted:
            res = psds(scores, ground_truth, durations, PSDS_SETTINGS[name], num_jobs=num_jobs)
            out[name] = res.value
            out[f"per_class_{name}"] = res.per_class
    if "event_f1" in wanted:
        out["event_f1"], out["per_class_event_f1"] = collar_f1(scores, ground_truth)
    if "intersection_f1" in wanted:
        out["intersection_f1"], _ = intersection_f1(scores, ground_truth)
    if {"weak_f1", "weak_map"} & set(wanted):
        labels = clip_labels(ground_truth, clip_ids, classes)
        probs = None if clip_probs is None else np.asarray(clip_probs, dtype=np.float64)
        if probs is not None and probs.shape != labels.shape:
            raise SedbenchError(f"clip probabilities have shape {probs.shape}, expected {labels.shape}")
        if "weak_f1" in wanted:
            out["weak_f1"] = None if probs is None else clip_f1(probs, labels)
        if "weak_map" in wanted:
            out["weak_map"] = None if probs is None else clip_map(probs, labels)
    return out
