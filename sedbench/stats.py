"""Significance tests for comparing methods (SPEC 8).

Seed level: mean, std and t-based 95 % CI per method; paired t-test against a reference on the seeds
both have, Wilcoxon signed-rank from 6 pairs; Holm correction across the compared methods.
Clip level: paired bootstrap of the PSDS difference (same resampled clip sets for both systems),
which gives a CI and p-value even from a single seed; see sedbench.evaluation.resample.
Where there is too little data for a test, p is None and ``note`` says why.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from sedbench.errors import SedbenchError
from sedbench.evaluation.metrics import PSDS_SETTINGS
from sedbench.evaluation.resample import PsdsStatistics, psds_statistics
from sedbench.evaluation.scores import read_run_inputs

MIN_WILCOXON = 6  # below 6 pairs the exact two-sided Wilcoxon p can never reach 0.05


@dataclass
class Summary:
    n: int
    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None


def summarize(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """Mean, sample std (ddof=1) and t-based CI of the mean; std/CI are None for fewer than 2 values."""
    x = np.asarray([v for v in values if v is not None and not _isnan(v)], dtype=np.float64)
    if len(x) == 0:
        return Summary(0, None, None, None, None)
    mean = float(x.mean())
    if len(x) < 2:
        return Summary(1, mean, None, None, None)
    std = float(x.std(ddof=1))
    half = float(sps.t.ppf(0.5 + confidence / 2, len(x) - 1)) * std / math.sqrt(len(x))
    return Summary(len(x), mean, std, mean - half, mean + half)


@dataclass
class PairedTest:
    n: int  # number of seed pairs
    delta: float | None  # mean of (method - reference) over pairs
    ci_low: float | None
    ci_high: float | None
    p_ttest: float | None
    p_wilcoxon: float | None
    note: str = ""


def paired_test(
    method: Mapping[int, float], reference: Mapping[int, float], confidence: float = 0.95
) -> PairedTest:
    """Paired t-test (and Wilcoxon when n >= 6) of method vs reference on their common seeds."""
    seeds = sorted(
        s for s in set(method) & set(reference) if not _isnan(method[s]) and not _isnan(reference[s])
    )
    d = np.array([method[s] - reference[s] for s in seeds], dtype=np.float64)
    if len(d) == 0:
        return PairedTest(0, None, None, None, None, None, "no common seeds")
    s = summarize(d, confidence)
    if len(d) < 2:
        return PairedTest(1, s.mean, None, None, None, None, "n<2 seeds")
    note = ""
    scale = max(float(np.abs(d).max()), 1e-300)
    if np.ptp(d) <= 1e-12 * scale or s.std == 0:
        # zero variance: the t statistic is 0/0 (identical) or infinite (a constant shift)
        if np.all(np.abs(d) <= 1e-15):
            p_t, note = 1.0, "identical on every seed"
        else:
            p_t, note = 0.0, "constant difference on every seed"
    else:
        p_t = float(sps.ttest_rel(d, np.zeros_like(d)).pvalue)
    p_w = None
    if len(d) >= MIN_WILCOXON:
        p_w = 1.0 if np.all(d == 0) else float(sps.wilcoxon(d).pvalue)
    elif not note:
        note = f"Wilcoxon needs n>={MIN_WILCOXON}"
    return PairedTest(len(d), s.mean, s.ci_low, s.ci_high, p_t, p_w, note)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (None entries are skipped and not counted as tests).

    scipy.stats.false_discovery_control offers Benjamini-Hochberg/Yekutieli only, hence these lines:
    sort ascending, multiply the i-th smallest by (m - i), enforce monotonicity, cap at 1.
    """
    idx = [i for i, p in enumerate(pvalues) if p is not None and not _isnan(p)]
    out: list[float | None] = [None] * len(pvalues)
    m = len(idx)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * float(pvalues[i])))
        out[i] = running
    return out


# ---------------------------------------------------------------------------- clip-level bootstrap
@dataclass
class BootstrapResult:
    delta: float  # observed PSDS(a) - PSDS(b), averaged over the seed pairs
    ci_low: float
    ci_high: float
    p: float  # two-sided, from the bootstrap distribution of the difference
    n_resamples: int
    n_clips: int
    n_pairs: int
    confidence: float


def bootstrap_psds_difference(
    a: PsdsStatistics | Sequence[PsdsStatistics],
    b: PsdsStatistics | Sequence[PsdsStatistics],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Paired clip-level bootstrap of PSDS(a) - PSDS(b).

    Each resample draws N clips with replacement from the clips PSDS is computed on (those with
    events, as in DESED_task); both systems (every seed pair when lists are given,
    paired by position) are scored on that same multiset, so clip difficulty cancels out of the
    difference. CI: percentile interval. p: twice the smaller tail mass of the resampled difference
    on either side of 0 (with the +1 correction, so never exactly 0), capped at 1.
    """
    a_list = [a] if isinstance(a, PsdsStatistics) else list(a)
    b_list = [b] if isinstance(b, PsdsStatistics) else list(b)
    if not a_list or len(a_list) != len(b_list):
        raise SedbenchError(f"bootstrap needs paired runs, got {len(a_list)} and {len(b_list)}")
    first = a_list[0]
    for st in a_list + b_list:
        if st.clip_ids != first.clip_ids or st.classes != first.classes or st.settings != first.settings:
            raise SedbenchError("bootstrap needs runs evaluated on the same clips, classes and PSDS settings")
    observed = float(np.mean([x.psds() - y.psds() for x, y in zip(a_list, b_list, strict=False)]))
    rng = np.random.default_rng(seed)
    n = first.n_clips
    diffs = np.empty(n_resamples)
    for r in range(n_resamples):
        w = np.bincount(rng.integers(0, n, n), minlength=n)
        diffs[r] = np.mean([x.psds(w) - y.psds(w) for x, y in zip(a_list, b_list, strict=False)])
    lo, hi = np.quantile(diffs, [0.5 - confidence / 2, 0.5 + confidence / 2])
    tail = min(np.sum(diffs <= 0), np.sum(diffs >= 0))
    p = min(1.0, 2 * (tail + 1) / (n_resamples + 1))
    return BootstrapResult(observed, float(lo), float(hi), float(p), n_resamples, n, len(a_list), confidence)


def run_psds_statistics(run_dir: str | os.PathLike, metric: str = "psds1") -> PsdsStatistics:
    """Per-clip PSDS statistics from a run directory's stored scores and ground truth."""
    if metric not in PSDS_SETTINGS:
        raise SedbenchError(f"the clip-level bootstrap covers {sorted(PSDS_SETTINGS)}, not {metric!r}")
    scores, gt, durations = read_run_inputs(run_dir)
    return psds_statistics(scores, gt, durations, PSDS_SETTINGS[metric])


def _isnan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
