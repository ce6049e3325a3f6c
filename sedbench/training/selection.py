"""Checkpoint selection criteria beyond the default validation PSDS1 (``training.selection``).

``dcase``: DESED_task's objective (recipes/dcase2023_task4_baseline/local/sed_trainer.py,
``validation_epoch_end`` with ``obj_metric_synth_type: intersection``): the macro F1 of clip tags on
the weak validation split (clip probability > 0.5) plus the intersection-based macro F1 on the
synthetic validation split (median-filtered scores > 0.5, dtc = gtc = 0.5). Higher is better; the
engine keeps the later checkpoint on a tie.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from torch import nn

from sedbench.errors import ConfigError


def dcase_validator(bench: Any, cfg: Any) -> Callable[[nn.Module, np.ndarray | None], float]:
    """``validate(model, val_rows)`` for the engine: weak-validation F1 + synthetic intersection F1.

    ``val_rows`` (a partition's environment rows of the validation split, or None) also restricts the
    weak validation clips to that environment.
    """
    from sedbench.evaluation import intersection_f1, scores_from_probs
    from sedbench.evaluation.metrics import clip_f1
    from sedbench.training.engine import predict

    validation, weak = bench.validation, bench.weak_validation
    if weak is None or len(weak) == 0:
        raise ConfigError(f"profile {bench.name}: training.selection dcase needs weak validation clips; "
                          "set training.weak_val_share (DCASE: 0.1) and give the data a train_weak split")
    classes, hop = list(bench.classes), bench.encoder.frame_hop_s

    def validate(model: nn.Module, rows: np.ndarray | None) -> float:
        frames, _ = predict(model, validation, bench.device, cfg.eval_batch_size, rows=rows)
        ids = list(validation.clip_ids) if rows is None else [validation.clip_ids[i] for i in rows]
        scores = scores_from_probs(frames, ids, classes, hop, bench.median_window, validation.durations)
        synth, _ = intersection_f1(scores, {c: validation.ground_truth.get(c, []) for c in ids})
        environment = None
        if rows is not None and len(rows) and validation.environments:
            environment = validation.environments.get(validation.clip_ids[rows[0]])
        weak_rows = weak.environment_rows(environment)
        weak_f1 = None
        if len(weak_rows):
            _, clips = predict(model, weak, bench.device, cfg.eval_batch_size, rows=weak_rows)
            weak_f1 = clip_f1(clips, weak.labels[weak_rows])
        return float(weak_f1 or 0.0) + float(synth or 0.0)

    return validate
