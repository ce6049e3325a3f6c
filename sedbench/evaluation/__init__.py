"""Evaluation: post-processing, PSDS and other metrics, score files (SPEC 6)."""

from sedbench.evaluation.metrics import (
    METRICS,
    PSDS1,
    PSDS2,
    PSDS_SETTINGS,
    PsdsResult,
    PsdsSettings,
    clip_labels,
    collar_f1,
    compute_metrics,
    compute_psds1,
    intersection_f1,
    psds,
)
from sedbench.evaluation.postprocess import scores_from_probs, smooth
from sedbench.evaluation.recompute import evaluate_run
from sedbench.evaluation.scores import (
    read_clip_scores,
    read_durations,
    read_ground_truth,
    read_run_inputs,
    read_scores,
    write_durations,
    write_ground_truth,
    write_scores,
)

__all__ = [
    "METRICS",
    "PSDS1",
    "PSDS2",
    "PSDS_SETTINGS",
    "PsdsResult",
    "PsdsSettings",
    "clip_labels",
    "collar_f1",
    "compute_metrics",
    "compute_psds1",
    "evaluate_run",
    "read_clip_scores",
    "intersection_f1",
    "psds",
    "read_durations",
    "read_ground_truth",
    "read_run_inputs",
    "read_scores",
    "scores_from_probs",
    "smooth",
    "write_durations",
    "write_ground_truth",
    "write_scores",
]
