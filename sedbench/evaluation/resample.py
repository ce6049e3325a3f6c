"""PSDS of re-weighted clip sets, fast: the engine of the clip-level paired bootstrap.

Why not ``sed_scores_eval.base_modules.bootstrap`` / ``intersection_based.bootstrapped_psds``: in 0.0.4
they draw leave-one-fold-out subsets (n_folds x n_iterations, without replacement), not a bootstrap
with replacement, and every draw re-runs ``psds`` on a dict of deltas, whose accumulation sorts all
change points with a Python-level ``sorted`` per class: about a second per draw on 1000 clips.

What we reuse: sed_scores_eval's per-clip intermediate-statistics deltas
(``intersection_based.intermediate_statistics_deltas``), computed once per system, and its PSD-ROC
averaging over classes. A resample is a vector of clip multiplicities w; every accumulated statistic
is then a w-weighted sum of per-clip deltas. Change points are sorted once; a resample costs one
weighted cumulative sum per statistic plus the PSD-ROC on the operating points below max_efpr.
With unit weights the result equals ``sed_scores_eval.intersection_based.psds`` (tested), and with
integer weights it equals psds on the clip set with duplicated clips (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sed_scores_eval import intersection_based
from sed_scores_eval.intersection_based.psds import (
    multi_class_psd_roc_from_single_class_psd_rocs,
    psds_from_psd_roc,
)

from sedbench.evaluation.metrics import PSDS1, GroundTruth, PsdsSettings, _event_inputs

SECONDS_PER_HOUR = 3600.0


@dataclass
class PsdsStatistics:
    """One system's per-clip PSDS statistics on one eval set, ready for re-weighting.

    Change points of all classes are concatenated (class by class, each sorted by score, descending);
    ``deltas`` rows are tps, fps, then (with a cross-trigger criterion) cross triggers with each class.
    """

    clip_ids: list[str]
    classes: list[str]
    settings: PsdsSettings
    durations: np.ndarray  # (N,) seconds
    n_ref: np.ndarray  # (N, C) ground-truth events per clip and class
    t_ref: np.ndarray  # (N, C) ground-truth seconds per clip and class
    clip_index: np.ndarray  # (n,) clip of each change point
    deltas: np.ndarray  # (K, n) int32
    group_end: np.ndarray  # last change point of each distinct score (per class), global positions
    class_groups: np.ndarray  # (C + 1,) class c owns group_end[class_groups[c]:class_groups[c + 1]]
    class_start: np.ndarray  # (C,) first change point of class c

    @property
    def n_clips(self) -> int:
        return len(self.clip_ids)

    def psds(self, weights: np.ndarray | None = None) -> float:
        """PSDS on the clip set where clip i appears ``weights[i]`` times (None: once each)."""
        etpr, efpr = self.psd_roc(weights)
        return float(psds_from_psd_roc(etpr, efpr, self.settings.max_efpr))

    def psd_roc(self, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        s = self.settings
        w = np.ones(self.n_clips, np.int32) if weights is None else np.asarray(weights).astype(np.int32)
        duration = float(w @ self.durations)
        n_ref = w @ self.n_ref
        t_ref = w @ self.t_ref
        w_cp = np.take(w, self.clip_index)
        # Cumulative sums run across class boundaries; each class subtracts the total before its start.
        cums = [np.cumsum(row * w_cp) for row in self.deltas]
        rocs = {}
        for c, name in enumerate(self.classes):
            ends = self.group_end[self.class_groups[c] : self.class_groups[c + 1]]
            start = self.class_start[c]

            def acc(k: int, idx: np.ndarray, start: int = start) -> np.ndarray:
                cum = cums[k]
                return cum[idx] - (cum[start - 1] if start > 0 else 0)

            efpr = acc(1, ends) / duration
            if s.alpha_ct:
                ct_rates = [
                    acc(2 + k, ends) / max(t_ref[k], 1e-12) for k in range(len(self.classes)) if k != c
                ]
                efpr = efpr + s.alpha_ct * np.mean(ct_rates, axis=0)
            efpr = efpr * SECONDS_PER_HOUR
            # only operating points within max_efpr matter: gather TPs there alone
            keep = efpr <= s.max_efpr
            tpr = acc(0, ends[keep]) / max(n_ref[c], 1)
            rocs[name] = _roc_envelope(tpr, efpr[keep], s.max_efpr)
        return multi_class_psd_roc_from_single_class_psd_rocs(rocs, s.alpha_st, s.max_efpr)


def _roc_envelope(tpr: np.ndarray, efpr: np.ndarray, max_efpr: float) -> tuple[np.ndarray, np.ndarray]:
    """sed_scores_eval's ``_unique_cummax_sort`` (sort by eFPR then TPR, keep new TPR maxima, last point
    per eFPR, cut at max_efpr) in vectorised numpy. The caller drops points beyond max_efpr first:
    they sort after every kept point, so they cannot change it, and the sort then only sees the rest."""
    # the operating point at threshold +inf (nothing detected), then the given ones (all <= max_efpr)
    tpr = np.concatenate(([0.0], tpr))
    efpr = np.concatenate(([0.0], efpr))
    order = np.lexsort((tpr, efpr))
    tpr, efpr = tpr[order], efpr[order]
    running = np.maximum.accumulate(tpr)
    new_max = np.r_[True, running[1:] > running[:-1]]
    tpr, efpr = tpr[new_max], efpr[new_max]
    last = np.r_[efpr[1:] != efpr[:-1], True]
    return tpr[last], efpr[last]


def psds_statistics(
    scores: dict[str, pd.DataFrame],
    ground_truth: GroundTruth,
    durations: dict[str, float],
    settings: PsdsSettings = PSDS1,
    num_jobs: int = 1,
) -> PsdsStatistics:
    """Per-clip deltas of one system (the expensive part, done once), on DESED_task's clip set."""
    sel, gt, classes = _event_inputs(scores, ground_truth, drop_empty_clips=True)
    if not classes:
        raise ValueError("no ground-truth events: PSDS is undefined")
    deltas = intersection_based.intermediate_statistics_deltas(
        scores=sel,
        ground_truth=gt,
        dtc_threshold=settings.dtc_threshold,
        gtc_threshold=settings.gtc_threshold,
        cttc_threshold=settings.cttc_threshold,
        num_jobs=num_jobs,
    )
    clip_ids = sorted(gt)
    index = {c: k for k, c in enumerate(classes)}
    n_ref = np.zeros((len(clip_ids), len(classes)), dtype=np.int64)
    t_ref = np.zeros((len(clip_ids), len(classes)))
    for i, cid in enumerate(clip_ids):
        for on, off, label in gt[cid]:
            n_ref[i, index[label]] += 1
            t_ref[i, index[label]] += off - on

    n_keys = 2 + (len(classes) if settings.cttc_threshold is not None else 0)
    clip_idx, rows, group_end, class_groups, class_start = [], [], [], [0], []
    offset = 0
    for cls in classes:
        cp_scores, d, idx = _class_change_points(deltas, clip_ids, classes, cls, settings, n_keys)
        class_start.append(offset)
        group_end.append(offset + np.flatnonzero(np.r_[cp_scores[1:] != cp_scores[:-1], True]))
        class_groups.append(class_groups[-1] + len(group_end[-1]))
        clip_idx.append(idx)
        rows.append(d)
        offset += len(cp_scores)
    return PsdsStatistics(
        clip_ids=clip_ids,
        classes=classes,
        settings=settings,
        durations=np.array([float(durations[cid]) for cid in clip_ids]),
        n_ref=n_ref,
        t_ref=t_ref,
        clip_index=np.concatenate(clip_idx).astype(np.intp),
        deltas=np.ascontiguousarray(np.concatenate(rows, axis=1)).astype(np.int32),
        group_end=np.concatenate(group_end),
        class_groups=np.array(class_groups),
        class_start=np.array(class_start),
    )


def _class_change_points(
    deltas: dict, clip_ids: list[str], classes: list[str], cls: str, settings: PsdsSettings, n_keys: int
):
    # Per clip, sed_scores_eval stores (change-point scores, flattened deltas): 'tps', 'fps' and either
    # 'cts' (no cross-trigger criterion) or 'cts\\<other class>'.
    cp, rows, idx = [np.zeros(0)], [np.zeros((n_keys, 0))], [np.zeros(0, np.intp)]
    for i, cid in enumerate(clip_ids):
        cp_scores, d = deltas[cid][cls]
        if len(cp_scores) == 0:
            continue
        block = np.zeros((n_keys, len(cp_scores)))
        block[0], block[1] = d["tps"], d["fps"]
        if settings.cttc_threshold is not None:
            for k, other in enumerate(classes):
                if other != cls:
                    block[2 + k] = d[f"cts\\{other}"]
        cp.append(np.asarray(cp_scores))
        rows.append(block)
        idx.append(np.full(len(cp_scores), i))
    scores = np.concatenate(cp)
    order = np.argsort(-scores, kind="stable")
    return scores[order], np.concatenate(rows, axis=1)[:, order], np.concatenate(idx)[order]
