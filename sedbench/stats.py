"""Significance tests for comparing methods (SPEC 8): seeds are the replicates.

A verdict about a method ("A trains better students than B") comes from a test over training seeds,
paired by seed: the paired t-test on the seed-level metric (Wilcoxon signed-rank as well from 6
pairs). Its null is "A and B give the same expected score on this eval set when retrained".

* CI of the mean difference: a hierarchical bootstrap (resample seeds, then clips) where the runs'
  score files exist, so the interval also covers which eval clips were drawn; otherwise the paired
  t interval over seeds (the table says which).
* Too few seeds: a paired test needs at least ``MIN_PAIRS`` = 2 seeds of each method (one pair has
  no spread to test against). Below that there is no method-level p-value and ``note`` says why;
  nothing stands in for it.
* The clip-level paired bootstrap (``clip_bootstrap``) is still available, labelled for what it is:
  the eval-set uncertainty of these particular checkpoints. Its null is "these two fixed models score
  the same on clips like these", which says nothing about retraining, so it is never a verdict.
* Multiplicity: Holm (statsmodels) over every comparison a table or plot shows.
* Power: the minimum detectable effect at 80 % power for the observed spread of the paired
  differences at the seeds used, and the seeds a given effect would need (statsmodels TTestPower).
  "n.s." reads "no evidence at n seeds", not "equal".
* Calibration: ``aa_false_positive_rate`` splits seeds of one method into two pseudo-methods many
  times and counts how often a test calls them different (benchmarks/calibrate.py).
"""

from __future__ import annotations

import itertools
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.integrate import quad
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.proportion import proportion_confint

from sedbench.errors import SedbenchError
from sedbench.evaluation.metrics import PSDS_SETTINGS
from sedbench.evaluation.resample import PsdsStatistics, psds_statistics
from sedbench.evaluation.scores import read_run_inputs

MIN_PAIRS = 2  # the paired t-test needs a spread of the differences: at least 2 seed pairs
MIN_WILCOXON = 6  # below 6 pairs the exact two-sided Wilcoxon p can never reach 0.05
N_RESAMPLES = 10_000
ALPHA = 0.05
POWER = 0.8
TOO_FEW_SEEDS = (
    "no method-level test: a paired test over seeds needs >= 2 seeds of each method "
    "(the clip bootstrap of one seed describes two checkpoints, not the methods)"
)


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


# ------------------------------------------------------------------------------ the primary test
@dataclass
class PairedTest:
    n: int  # number of seed pairs
    delta: float | None  # mean of (method - reference) over pairs
    ci_low: float | None  # paired t interval
    ci_high: float | None
    p_ttest: float | None
    p_wilcoxon: float | None
    note: str = ""
    sd: float | None = None  # sample std of the paired differences
    seeds: tuple[int, ...] = ()
    n_common: int = 0  # seeds both sides ran, with a value or not (n counts those with values)


def paired_test(method: Mapping[int, float], reference: Mapping[int, float], confidence: float = 0.95) -> PairedTest:
    """Paired t-test (and Wilcoxon when n >= 6) of method vs reference on their common seeds."""
    common = sorted(set(method) & set(reference))
    seeds = tuple(s for s in common if not _isnan(method[s]) and not _isnan(reference[s]))
    lost = [s for s in common if s not in seeds]
    unpaired = [f"seed(s) {','.join(map(str, sorted(side)))} of the {who} only"
                for side, who in ((set(method) - set(reference), "method"), (set(reference) - set(method), "baseline"))
                if side]
    # said in the row's note, and under the table: a mean over more seeds than the test used explains itself
    lost_note = "; ".join(filter(None, [f"no value on seed(s) {','.join(map(str, lost))}" if lost else "",
                                        f"not paired: {' and '.join(unpaired)}" if unpaired else ""]))
    d = np.array([method[s] - reference[s] for s in seeds], dtype=np.float64)
    if len(d) == 0:
        return PairedTest(0, None, None, None, None, None, lost_note if common else "no common seeds",
                          n_common=len(common))
    s = summarize(d, confidence)
    if len(d) < MIN_PAIRS:
        note = "; ".join(filter(None, [f"{len(d)} seed: {TOO_FEW_SEEDS}", lost_note]))
        return PairedTest(len(d), s.mean, None, None, None, None, note, None, seeds, len(common))
    scale = max(abs(v) for s_ in seeds for v in (method[s_], reference[s_]))
    if bool(no_spread(d, scale)):
        # zero variance: the t statistic is 0/0 (identical) or infinite (a constant shift), and the
        # limit p = 0 would call 2 seeds of a constant +0.004 a finding. The exact sign-flip test over
        # seeds stays defined: a constant shift is its most extreme outcome, p = 2 / 2^n. There is no
        # t interval, sd or power either: a zero-width interval would claim certainty from 2 seeds.
        if bool(no_difference(d, scale)):
            p_t, note = 1.0, "identical on every seed"
        else:
            p_t = sign_flip_p(d)
            note = "constant difference on every seed: exact sign-flip test, the t-test is undefined"
        ci_low = ci_high = sd = None
    else:
        p_t, note = float(sps.ttest_rel(d, np.zeros_like(d)).pvalue), ""
        ci_low, ci_high, sd = s.ci_low, s.ci_high, s.std
    p_w = None
    if len(d) >= MIN_WILCOXON:
        p_w = 1.0 if np.all(d == 0) else float(sps.wilcoxon(d).pvalue)
    note = "; ".join(filter(None, [note, lost_note]))
    return PairedTest(len(d), s.mean, ci_low, ci_high, p_t, p_w, note, sd, seeds, len(common))


# metric values that went through float32 (scores, JSON round trips) carry ~1e-7 of their own size
# in rounding: a spread of the differences below this, relative to the values, is not variation
NO_SPREAD_RTOL = 1e-6


IDENTICAL_ATOL = 1e-15  # differences this small are none: the two methods scored the same


def no_spread(d: np.ndarray, scale: float) -> np.ndarray:
    """Whether paired differences (the last axis: seeds) are the same on every seed, up to the float
    rounding of metric values of size ``scale`` (the largest |value| compared); one bool per row."""
    return np.ptp(np.asarray(d, float), axis=-1) <= NO_SPREAD_RTOL * max(abs(scale), 1e-300)


def no_difference(d: np.ndarray, scale: float) -> np.ndarray:
    """Whether paired differences (the last axis: seeds) are all zero up to the float rounding of
    values of size ``scale``: two methods that scored the same, not a constant shift; one bool per row."""
    return np.all(np.abs(np.asarray(d, float)) <= max(IDENTICAL_ATOL, NO_SPREAD_RTOL * abs(scale)), axis=-1)


def sign_flip_seeds(alpha: float = ALPHA) -> int:
    """Seeds a constant difference needs before the exact sign-flip test can reach p < alpha."""
    return math.floor(1 - math.log2(alpha)) + 1


def sign_flip_p(d: np.ndarray) -> float:
    """Two-sided exact paired permutation (sign-flip) p of the mean difference over seeds
    (scipy's ``permutation_test``, every one of the 2^n sign patterns)."""
    result = sps.permutation_test((np.asarray(d, float),), np.mean, permutation_type="samples",
                                  n_resamples=np.inf, alternative="two-sided")
    return float(result.pvalue)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (statsmodels ``multipletests``); None/NaN entries are not tests."""
    idx = [i for i, p in enumerate(pvalues) if p is not None and not _isnan(p)]
    out: list[float | None] = [None] * len(pvalues)
    if idx:
        adjusted = multipletests([float(pvalues[i]) for i in idx], method="holm")[1]
        for i, p in zip(idx, adjusted, strict=True):
            out[i] = float(p)
    return out


# ------------------------------------------------------------------------------------------ power
def paired_power(effect_size: float, n: int, alpha: float = ALPHA) -> float:
    """Power of the two-sided paired t-test at Cohen's d ``effect_size`` and n pairs (statsmodels
    TTestPower). scipy's noncentral t, under it, returns NaN at some large noncentralities; there the
    same probability is integrated directly: P(|Z + nc| > c sqrt(V / df)), V ~ chi2(df)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = float(TTestPower().power(effect_size, n, alpha, alternative="two-sided"))
        if math.isnan(p):
            df, nc = n - 1, effect_size * math.sqrt(n)
            c = float(sps.t.ppf(1 - alpha / 2, df))

            def integrand(v: float) -> float:
                s = c * math.sqrt(v / df)
                return (sps.norm.cdf(nc - s) + sps.norm.cdf(-nc - s)) * sps.chi2.pdf(v, df)

            lo, hi = sps.chi2.ppf([1e-12, 1 - 1e-12], df)  # where the chi2 mass is, so quad sees it
            p = float(quad(integrand, lo, hi, points=[df], limit=200)[0])
    return min(max(p, 0.0), 1.0)


def mde(sd: float | None, n: int, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """Smallest mean paired difference the two-sided paired t-test detects with ``power`` at n pairs."""
    if sd is None or _isnan(sd) or sd <= 0 or n < MIN_PAIRS:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = float(
            np.squeeze(
                TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power, alternative="two-sided")
            )
        )
    if math.isnan(d):  # the root finder gave up: bisect on the effect size
        lo, hi = 0.0, 100.0
        for _ in range(60):
            lo, hi = (lo, (lo + hi) / 2) if paired_power((lo + hi) / 2, n, alpha) >= power else ((lo + hi) / 2, hi)
        d = hi
    return d * sd


def seeds_needed(
    effect: float | None, sd: float | None, alpha: float = ALPHA, power: float = POWER, cap: int = 10_000
) -> int | None:
    """Seed pairs the paired t-test needs to detect ``effect`` with ``power`` (None: undefined; cap+1:
    more than ``cap``)."""
    if effect is None or sd is None or _isnan(effect) or _isnan(sd) or sd <= 0:
        return None
    es = abs(effect) / sd
    if es == 0:
        return cap + 1
    if paired_power(es, MIN_PAIRS, alpha) >= power:
        return MIN_PAIRS
    if paired_power(es, cap, alpha) < power:
        return cap + 1
    # power grows with n: bisect on whole seed counts (solve_power's root finder can return NaN)
    lo, hi = MIN_PAIRS, cap  # power(lo) < target <= power(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if paired_power(es, mid, alpha) >= power:
            hi = mid
        else:
            lo = mid
    return hi


# ------------------------------------------------------------------------------- resampled PSDS
def bootstrap_weights(n_clips: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_resamples, n_clips) multiplicities of clips drawn with replacement, n_clips per resample."""
    draws = rng.integers(0, n_clips, (n_resamples, n_clips))
    draws += (np.arange(n_resamples) * n_clips)[:, None]
    return np.bincount(draws.ravel(), minlength=n_resamples * n_clips).reshape(n_resamples, n_clips)


def resampled_psds(
    stats: Sequence[PsdsStatistics], n_resamples: int = N_RESAMPLES, seed: int = 0, chunk: int = 500
) -> np.ndarray:
    """(len(stats), n_resamples): PSDS of every system under the same clip resamples.

    Every system sees the same resampled clip sets (drawn in chunks from ``seed``), so differences
    between any two rows are paired over clips, and one matrix serves every comparison of a table.
    """
    if not stats:
        return np.zeros((0, n_resamples))
    first = stats[0]
    for st in stats:
        if st.clip_ids != first.clip_ids or st.classes != first.classes or st.settings != first.settings:
            raise SedbenchError("resampling needs runs evaluated on the same clips, classes and PSDS settings")
    rng = np.random.default_rng(seed)
    out = np.empty((len(stats), n_resamples))
    for lo in range(0, n_resamples, chunk):
        w = bootstrap_weights(first.n_clips, min(chunk, n_resamples - lo), rng)
        for i, st in enumerate(stats):
            out[i, lo : lo + len(w)] = st.psds_many(w)
    return out


# ----------------------------------------------------------------- the hierarchical bootstrap CI
@dataclass
class HierarchicalCI:
    delta: float  # observed mean paired difference over seeds
    se: float  # bootstrap standard error of that mean (seeds and clips resampled)
    ci_low: float
    ci_high: float
    pct_low: float  # plain percentile interval, for reference (too narrow with few seeds)
    pct_high: float
    n_seeds: int
    n_resamples: int
    confidence: float


def hierarchical_bootstrap(
    resampled_a: np.ndarray,
    resampled_b: np.ndarray,
    observed_a: Sequence[float],
    observed_b: Sequence[float],
    confidence: float = 0.95,
    seed: int = 0,
) -> HierarchicalCI:
    """CI of the mean paired difference (A - B) over seeds, resampling seeds and then clips.

    ``resampled_a[i, r]`` is seed i's PSDS under clip resample r (``resampled_psds``), row i of A
    paired with row i of B (same seed). Replicate r draws n seed pairs with replacement and averages
    their differences under clip resample r.

    Hand-written because neither scipy.stats.bootstrap nor sed_scores_eval resamples two nested
    levels, and PSDS is not a mean over clips (each resample needs the whole PSD-ROC; the
    vectorised engine is sedbench.evaluation.resample). Two choices, both on purpose:

    * Clips are crossed with seeds, not nested in them: every seed is scored on the same eval set,
      so one clip resample serves all seeds of a replicate (an independent draw per seed would
      average the eval-set noise away over seeds and understate it).
    * The interval is delta +- t(n-1) x SE x sqrt(n / (n-1)), SE being the replicates' std. A
      percentile interval over 3 seeds takes the 2.5 % point of at most 10 distinct seed sets and
      misses the small-sample t factor (4.3 against 1.96 at n = 3): far too narrow. With no
      clip-level variance this interval is the paired t interval; clip variance widens it.
    """
    a, b = np.asarray(resampled_a, float), np.asarray(resampled_b, float)
    if a.shape != b.shape or a.ndim != 2:
        raise SedbenchError(f"paired resamples must have the same (seeds, resamples) shape: {a.shape} {b.shape}")
    n, n_resamples = a.shape
    if n < MIN_PAIRS:
        raise SedbenchError(f"the hierarchical bootstrap needs >= {MIN_PAIRS} seed pairs, got {n}")
    d = a - b
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, (n_resamples, n))
    reps = d[picks, np.arange(n_resamples)[:, None]].mean(axis=1)
    delta = float(np.mean(np.asarray(observed_a, float) - np.asarray(observed_b, float)))
    se = float(reps.std(ddof=1)) * math.sqrt(n / (n - 1))
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * se
    lo, hi = np.quantile(reps, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return HierarchicalCI(delta, se, delta - half, delta + half, float(lo), float(hi), n, n_resamples, confidence)


# ----------------------------------------------------- the clip bootstrap: these checkpoints only
@dataclass
class BootstrapResult:
    """Eval-set uncertainty of specific checkpoints: NOT a test of the methods that trained them."""

    delta: float  # observed PSDS(a) - PSDS(b), averaged over the seed pairs
    ci_low: float
    ci_high: float
    p: float  # two-sided, from the bootstrap distribution of the difference
    n_resamples: int
    n_clips: int
    n_pairs: int
    confidence: float

    @property
    def p_floor(self) -> float:
        return p_floor(self.n_resamples)


def p_floor(n_resamples: int) -> float:
    """Smallest p the clip bootstrap can give: 2 / (R + 1)."""
    return 2 / (n_resamples + 1)


def clip_bootstrap(
    resampled_a: np.ndarray,
    resampled_b: np.ndarray,
    observed_a: Sequence[float],
    observed_b: Sequence[float],
    n_clips: int,
    confidence: float = 0.95,
) -> BootstrapResult:
    """Paired clip-level bootstrap of the mean difference of fixed checkpoint pairs (seeds not resampled).

    CI: percentile interval. p: twice the smaller tail mass of the resampled difference on either
    side of 0 (with the +1 correction, so never below 2 / (R + 1)), capped at 1.
    """
    a, b = np.atleast_2d(np.asarray(resampled_a, float)), np.atleast_2d(np.asarray(resampled_b, float))
    diffs = (a - b).mean(axis=0)
    n_resamples = diffs.shape[0]
    observed = float(np.mean(np.asarray(observed_a, float) - np.asarray(observed_b, float)))
    lo, hi = np.quantile(diffs, [0.5 - confidence / 2, 0.5 + confidence / 2])
    tail = min(np.sum(diffs <= 0), np.sum(diffs >= 0))
    p = min(1.0, 2 * (tail + 1) / (n_resamples + 1))
    return BootstrapResult(observed, float(lo), float(hi), float(p), n_resamples, n_clips, len(a), confidence)


def bootstrap_psds_difference(
    a: PsdsStatistics | Sequence[PsdsStatistics],
    b: PsdsStatistics | Sequence[PsdsStatistics],
    n_resamples: int = N_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Clip-level paired bootstrap of PSDS(a) - PSDS(b) for fixed checkpoints (eval-set uncertainty).

    Each resample draws N clips with replacement from the clips PSDS is computed on (those with
    events, as in DESED_task); both systems (every seed pair when lists are given, paired by
    position) are scored on that same multiset, so clip difficulty cancels out of the difference.
    """
    a_list = [a] if isinstance(a, PsdsStatistics) else list(a)
    b_list = [b] if isinstance(b, PsdsStatistics) else list(b)
    if not a_list or len(a_list) != len(b_list):
        raise SedbenchError(f"bootstrap needs paired runs, got {len(a_list)} and {len(b_list)}")
    resampled = resampled_psds(a_list + b_list, n_resamples, seed)
    k = len(a_list)
    return clip_bootstrap(
        resampled[:k],
        resampled[k:],
        [x.psds() for x in a_list],
        [y.psds() for y in b_list],
        a_list[0].n_clips,
        confidence,
    )


def run_psds_statistics(run_dir: str | os.PathLike, metric: str = "psds1") -> PsdsStatistics:
    """Per-clip PSDS statistics from a run directory's stored scores and ground truth."""
    if metric not in PSDS_SETTINGS:
        raise SedbenchError(f"the clip-level bootstrap covers {sorted(PSDS_SETTINGS)}, not {metric!r}")
    scores, gt, durations = read_run_inputs(run_dir)
    return psds_statistics(scores, gt, durations, PSDS_SETTINGS[metric])


# ------------------------------------------------------------------- comparisons over a results set
@dataclass(frozen=True)
class Comparison:
    """One claim a table makes: ``method`` against ``baseline`` on ``metric``."""

    metric: str
    method: str
    baseline: str
    kind: str = "reference"  # reference | control | pairwise


COMPARE_COLUMNS = [
    "metric",
    "method",
    "baseline",
    "kind",
    "n_pairs",
    "n_common",
    "seeds",
    "delta",
    "ci_low",
    "ci_high",
    "ci_method",
    "sd_diff",
    "p",
    "p_adj",
    "p_wilcoxon",
    "p_wilcoxon_adj",
    "mde",
    "effect",
    "seeds_needed",
    "clip_delta",
    "clip_ci_low",
    "clip_ci_high",
    "clip_p",
    "clip_p_adj",
    "note",
    "verdict",
]


class _Resampled:
    """PSDS of every run under one shared set of clip resamples, per metric; each run's score files are
    read once for all the PSDS metrics asked for."""

    def __init__(self, runs: pd.DataFrame, metrics: Sequence[str], n_resamples: int, seed: int, notes: list[str]):
        self.runs, self.n_resamples, self.seed, self.notes = runs, n_resamples, seed, notes
        self.metrics = [m for m in dict.fromkeys(metrics) if m in PSDS_SETTINGS]
        self._stats: dict[str, dict[str, PsdsStatistics]] | None = None
        self._by_metric: dict[str, tuple[dict[str, int], np.ndarray, np.ndarray, int]] = {}

    def _read(self) -> dict[str, dict[str, PsdsStatistics]]:
        if self._stats is None:
            self._stats = {m: {} for m in self.metrics}
            failed = []
            for d in sorted(set(self.runs["run_dir"].dropna().astype(str))):
                try:
                    scores, gt, durations = read_run_inputs(d)
                    for m in self.metrics:
                        self._stats[m][d] = psds_statistics(scores, gt, durations, PSDS_SETTINGS[m])
                except (SedbenchError, OSError, ValueError) as exc:
                    failed.append(f"{d}: {exc}")
            if failed:
                self.notes.append(
                    f"{len(failed)} run(s) without usable score files (first: {failed[0]}); "
                    "comparisons involving them use the paired t interval"
                )
        return self._stats

    def get(self, metric: str):
        """(row of each run dir, observed PSDS, resampled PSDS, clips) for the dirs that have scores."""
        if metric not in self._by_metric:
            stats, rows = [], {}
            read = sorted(self._read()[metric].items())
            # the clip set most runs were scored on: one odd run must not take every comparison's
            # eval-set component away, nor have the runs that agree named as the odd ones
            counts: dict[tuple, int] = {}
            for _, st in read:
                counts[tuple(st.clip_ids)] = counts.get(tuple(st.clip_ids), 0) + 1
            shared = max(counts, key=counts.get) if counts else ()
            odd = [d for d, st in read if tuple(st.clip_ids) != shared]
            if odd:
                self.notes.append(f"{len(odd)} run(s) scored on other eval clips than the other {len(read) - len(odd)} "
                                  f"(first: {odd[0]}); comparisons involving them use the paired t interval")
            for d, st in read:
                if tuple(st.clip_ids) == shared:
                    rows[d] = len(stats)
                    stats.append(st)
            observed = np.array([st.psds() for st in stats])
            resampled = resampled_psds(stats, self.n_resamples, self.seed)
            self._by_metric[metric] = (rows, observed, resampled, stats[0].n_clips if stats else 0)
        return self._by_metric[metric]


def compare(
    runs: pd.DataFrame,
    comparisons: Sequence[Comparison],
    *,
    ci: str = "auto",
    clip: bool = False,
    n_resamples: int = N_RESAMPLES,
    confidence: float = 0.95,
    alpha: float = ALPHA,
    power: float = POWER,
    effect: float | None = None,
    higher_is_better: Callable[[str], bool] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The seed-level comparisons a table shows, one row each, Holm-adjusted together.

    ``runs``: completed runs of one settings group (``sedbench.results.select_comparable``), with
    ``method``, ``seed``, ``run_dir`` and the metric columns. Per comparison: the mean paired
    difference over common seeds, its CI (hierarchical bootstrap when ``ci`` is "auto" or
    "hierarchical" and both runs have score files for a PSDS metric, else the paired t interval),
    the paired t p-value raw and Holm-adjusted over every row (``p_adj``), Wilcoxon from 6 pairs
    (its own Holm family), the std of the paired differences, the minimum detectable effect at
    ``power``, the seeds needed for ``effect`` (default: the observed difference), and a verdict
    sentence. ``clip``: also the clip bootstrap of the same checkpoint pairs (``clip_*`` columns,
    eval-set uncertainty, Holm within its own family; never used for the verdict).
    """
    if ci not in ("auto", "hierarchical", "t"):
        raise SedbenchError(f"ci must be auto, hierarchical or t, not {ci!r}")
    higher = higher_is_better or (lambda _m: True)
    notes: list[str] = []
    involved = {m for c in comparisons for m in (c.method, c.baseline)}
    runs = runs[runs["method"].isin(involved)]
    resampled = _Resampled(runs, [c.metric for c in comparisons], n_resamples, seed, notes)
    values: dict[str, dict[str, dict[int, float]]] = {}
    dirs: dict[str, dict[int, str]] = {}
    if "run_dir" in runs:
        for m, g in runs.dropna(subset=["run_dir"]).groupby("method"):
            dirs[m] = dict(zip(g["seed"].astype(int), g["run_dir"].astype(str), strict=False))
    rows = []
    for cmp in comparisons:
        if cmp.metric not in values:
            v = runs.assign(_v=pd.to_numeric(runs[cmp.metric], errors="coerce"))
            values[cmp.metric] = {
                m: dict(zip(g["seed"].astype(int), g["_v"], strict=False)) for m, g in v.groupby("method")
            }
        by_method = values[cmp.metric]
        t = paired_test(by_method.get(cmp.method, {}), by_method.get(cmp.baseline, {}), confidence)
        row = dict.fromkeys(COMPARE_COLUMNS)
        row.update(
            metric=cmp.metric,
            method=cmp.method,
            baseline=cmp.baseline,
            kind=cmp.kind,
            n_pairs=t.n,
            n_common=t.n_common,
            seeds=",".join(str(s) for s in t.seeds),
            delta=t.delta,
            ci_low=t.ci_low,
            ci_high=t.ci_high,
            ci_method="t over seeds" if t.ci_low is not None else None,
            sd_diff=t.sd,
            p=t.p_ttest,
            p_wilcoxon=t.p_wilcoxon,
            mde=mde(t.sd, t.n, alpha, power),
            note=t.note,
        )
        row["effect"] = effect if effect is not None else t.delta
        row["seeds_needed"] = seeds_needed(row["effect"], t.sd, alpha, power) if t.n >= MIN_PAIRS else None
        if t.note.startswith("constant difference"):  # what the exact test needs, not the t-test's power
            row["seeds_needed"] = max(sign_flip_seeds(alpha), t.n)
        psds_metric = cmp.metric in PSDS_SETTINGS and dirs
        if psds_metric and t.seeds and (clip or (ci != "t" and t.n >= MIN_PAIRS)):
            index, _, res, n_clips = resampled.get(cmp.metric)
            pairs = [
                (index.get(dirs.get(cmp.method, {}).get(s)), index.get(dirs.get(cmp.baseline, {}).get(s)))
                for s in t.seeds
            ]
            if all(i is not None and j is not None for i, j in pairs):
                ia, ib = [i for i, _ in pairs], [j for _, j in pairs]
                # centred on the records' values (what the table's delta and test use)
                obs_a = [by_method[cmp.method][s] for s in t.seeds]
                obs_b = [by_method[cmp.baseline][s] for s in t.seeds]
                if ci != "t" and t.n >= MIN_PAIRS:
                    h = hierarchical_bootstrap(res[ia], res[ib], obs_a, obs_b, confidence, seed)
                    row.update(ci_low=h.ci_low, ci_high=h.ci_high, ci_method="hierarchical bootstrap")
                if clip:
                    cb = clip_bootstrap(res[ia], res[ib], obs_a, obs_b, n_clips, confidence)
                    row.update(clip_delta=cb.delta, clip_ci_low=cb.ci_low, clip_ci_high=cb.ci_high, clip_p=cb.p)
        if ci == "hierarchical" and t.n >= MIN_PAIRS and row["ci_method"] != "hierarchical bootstrap":
            notes.append(
                f"{cmp.method} vs {cmp.baseline} ({cmp.metric}): no hierarchical bootstrap "
                "(needs psds1/psds2 and score files of every seed); paired t interval shown"
            )
        rows.append(row)
    out = pd.DataFrame(rows, columns=COMPARE_COLUMNS)
    out["p_adj"] = holm(_as_list(out["p"]))
    out["p_wilcoxon_adj"] = holm(_as_list(out["p_wilcoxon"]))
    out["clip_p_adj"] = holm(_as_list(out["clip_p"]))
    out["n_pairs"] = out["n_pairs"].astype("Int64")
    out["seeds_needed"] = out["seeds_needed"].astype("Int64")
    out["verdict"] = [
        verdict(r, alpha=alpha, confidence=confidence, higher_is_better=higher(r["metric"]))
        for r in out.to_dict("records")
    ]
    n_tests = int(out["p"].notna().sum())
    out.attrs.update(
        family_size=n_tests,
        effect=effect,
        alpha=alpha,
        power=power,
        n_resamples=n_resamples,
        confidence=confidence,
        notes=list(dict.fromkeys(notes)),
    )
    return out


def verdict(row: Mapping, alpha: float = ALPHA, confidence: float = 0.95, higher_is_better: bool = True) -> str:
    """One sentence that follows from the test: a difference with its CI and adjusted p, or the
    absence of evidence at the seeds used (with the minimum detectable effect)."""
    method, base, metric = row["method"], row["baseline"], row["metric"]
    against = f"its control {base}" if row.get("kind") == "control" else base
    n = int(row["n_pairs"]) if not _isnan(row.get("n_pairs")) else 0
    if n == 0:
        if str(row.get("note") or "").startswith("no value"):  # they share seeds; the metric is missing
            return f"{method} vs {against}: {metric} has {row['note']} they share: no comparison"
        return f"{method} and {against} share no seed: no comparison"
    if n < MIN_PAIRS or _isnan(row.get("p")):
        return f"{method} vs {against} on {metric}: {n} seed, {TOO_FEW_SEEDS}"
    pct = int(round(100 * confidence))
    d = row["delta"]
    ci = f"[{pct}% CI {_num(row['ci_low'])}, {_num(row['ci_high'])}]" if not _isnan(row.get("ci_low")) else ""
    p_adj = row.get("p_adj")
    p_text = f"p_adj {format_p(p_adj)}" if not _isnan(p_adj) else f"p {format_p(row['p'])}"
    p_used = p_adj if not _isnan(p_adj) else row["p"]
    has_ci = not _isnan(row.get("ci_low"))
    covers_zero = has_ci and row["ci_low"] <= 0 <= row["ci_high"]
    if p_used < alpha:
        if (d > 0) == higher_is_better:
            text = f"{method} beats {against} by {_num(d)} {metric} {ci}, {p_text}, {n} seeds"
        else:
            text = f"{method} is worse than {against}: {_num(d)} {metric} {ci}, {p_text}, {n} seeds"
        if covers_zero:  # the test is over seeds on this eval set; a hierarchical CI also draws clips
            text += f" (the CI, which also covers {_ci_scope(row)}, includes 0)"
        return text.replace("  ", " ")
    m = row.get("mde")
    mde_text = f"; MDE {_num(m, sign=False)}" if not _isnan(m) else ""
    caveat = (
        "; the CI, per comparison, excludes 0 but the adjusted p does not clear alpha"
        if has_ci and not covers_zero
        else ""
    )
    return (
        f"{method} vs {against}: no evidence of a difference in {metric} at {n} seeds "
        f"({_num(d)} {ci}, {p_text}{mde_text}{caveat})".replace(" ,", ",").replace("  ", " ")
    )


def _ci_scope(row: Mapping) -> str:
    return "the eval-set draw" if row.get("ci_method") == "hierarchical bootstrap" else "seed randomness"


# ------------------------------------------------------------------------------------ calibration
@dataclass
class AAResult:
    """How often a test called two halves of one method's seeds different (an A/A experiment)."""

    test: str
    n_per_group: int
    n_seeds: int
    trials: int
    positives: int
    alpha: float
    ci_low: float  # interval of the rate; `interval_over` says what it covers
    ci_high: float
    # "split draw" or "seed pairs": Clopper-Pearson over those trials, about these seeds only;
    # "seeds": a delete-one-seed jackknife, about which seeds the method happened to get
    interval_over: str = "split draw"

    @property
    def rate(self) -> float:
        return self.positives / self.trials if self.trials else float("nan")


def _aa_result(test: str, n: int, n_seeds: int, hits: int, trials: int, alpha: float) -> AAResult:
    lo, hi = proportion_confint(hits, trials, alpha=0.05, method="beta") if trials else (np.nan, np.nan)
    return AAResult(test, n, n_seeds, trials, int(hits), alpha, float(lo), float(hi))


def aa_false_positive_rate(
    values: Sequence[float],
    n: int,
    n_splits: int = 2000,
    alpha: float = ALPHA,
    seed: int = 0,
    resampled: np.ndarray | None = None,
    confidence: float = 0.95,
) -> list[AAResult]:
    """A/A calibration on seeds of ONE method: split them at random into two pseudo-methods of n seeds
    (paired by position) ``n_splits`` times; count how often each test calls them different at alpha.

    ``values``: the seed-level metric per seed. ``resampled`` (optional, (seeds, R) from
    ``resampled_psds``): adds the hierarchical bootstrap CI (excludes 0?) and the single-seed clip
    bootstrap over every pair of distinct seeds. The splits reuse the same seeds, so the binomial
    interval covers the split draw, not the choice of these seeds.
    """
    x = np.asarray(values, float)
    if n < MIN_PAIRS or 2 * n > len(x):
        raise SedbenchError(f"an A/A split into two groups of {n} needs >= {max(2 * n, 4)} seeds, got {len(x)}")
    rng = np.random.default_rng(seed)
    hits = {"paired t": 0, "Wilcoxon": 0, "hierarchical CI": 0}
    for _ in range(n_splits):
        perm = rng.permutation(len(x))
        a, b = perm[:n], perm[n : 2 * n]
        t = paired_test(dict(enumerate(x[a])), dict(enumerate(x[b])), confidence)
        hits["paired t"] += t.p_ttest is not None and t.p_ttest < alpha
        hits["Wilcoxon"] += t.p_wilcoxon is not None and t.p_wilcoxon < alpha
        if resampled is not None:
            h = hierarchical_bootstrap(
                resampled[a], resampled[b], x[a], x[b], confidence, seed=int(rng.integers(2**31))
            )
            hits["hierarchical CI"] += h.ci_low > 0 or h.ci_high < 0
    out = [_aa_result(f"paired t over seeds (n={n})", n, len(x), hits["paired t"], n_splits, alpha)]
    if n >= MIN_WILCOXON:
        out.append(_aa_result(f"Wilcoxon over seeds (n={n})", n, len(x), hits["Wilcoxon"], n_splits, alpha))
    if resampled is not None:
        out.append(
            _aa_result(
                f"hierarchical bootstrap {int(round(100 * confidence))}% CI excludes 0 (n={n})",
                n,
                len(x),
                hits["hierarchical CI"],
                n_splits,
                1 - confidence,
            )
        )
        out.append(aa_clip_bootstrap_rate(resampled, x, alpha))
    return out


# enumerating every paired split is cheap up to here (16 seeds, n=3: 960,960 splits)
MAX_EXACT_SPLITS = 2_000_000


def aa_paired_t_exact(values: Sequence[float], n: int, alpha: float = ALPHA, confidence: float = 0.95) -> AAResult:
    """A/A rate of the paired t-test over EVERY distinct paired split of these seeds (no split draw),
    with a delete-one-seed jackknife interval: how much the rate depends on which seeds were drawn.

    Random splits of one small pool (``aa_false_positive_rate``) answer "how often on these seeds";
    the Clopper-Pearson interval there covers only the split draw, and looks tight however few seeds
    the pool has. The rate over all splits is a U-statistic of the pool, so the jackknife over seeds
    is its standard error (each leave-one-out rate is the mean over the splits without that seed).
    statsmodels/rliable have no A/A estimator; this is the enumeration plus the textbook jackknife.
    """
    x = np.asarray(values, float)
    k = len(x)
    if n < MIN_PAIRS or 2 * n + 1 > k:
        raise SedbenchError(f"an exact A/A with a seed jackknife in groups of {n} needs >= {2 * n + 1} seeds, got {k}")
    count = math.comb(k, n) * math.perm(k - n, n)
    if count > MAX_EXACT_SPLITS:
        raise SedbenchError(f"{count:,} paired splits of {k} seeds are too many to enumerate; use random splits")
    splits = np.array(
        [
            a + b
            for a in itertools.combinations(range(k), n)
            for b in itertools.permutations([i for i in range(k) if i not in a], n)
        ]
    )
    d = x[splits[:, :n]] - x[splits[:, n:]]
    sd = d.std(axis=1, ddof=1)
    mean = d.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * sps.t.sf(np.abs(mean / (sd / math.sqrt(n))), n - 1)
    # paired_test's zero-variance rule: identical -> 1, a constant shift -> the exact sign-flip p,
    # which for a constant shift is 2 / 2^n (sign_flip_p, in closed form for a whole array of splits)
    scale = float(np.abs(x).max())
    flat = no_spread(d, scale)
    identical = no_difference(d, scale)
    p = np.where(flat, np.where(identical, 1.0, 2.0 ** (1 - n)), p)
    hits = p < alpha
    rate = float(hits.mean())
    uses = np.zeros((len(splits), k), bool)
    np.put_along_axis(uses, splits, True, axis=1)
    loo = np.array([hits[~uses[:, i]].mean() for i in range(k)])
    se = math.sqrt((k - 1) / k * float(((loo - loo.mean()) ** 2).sum()))
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    return AAResult(
        f"paired t over seeds (n={n}), every split",
        n,
        k,
        len(splits),
        int(hits.sum()),
        alpha,
        max(0.0, rate - z * se),
        min(1.0, rate + z * se),
        interval_over="seeds",
    )


def aa_clip_bootstrap_rate(resampled: np.ndarray, observed: Sequence[float], alpha: float = ALPHA) -> AAResult:
    """The single-seed clip bootstrap between every pair of distinct seeds of one method: how often it
    calls two checkpoints of the same method different (it is not a method test; this shows why)."""
    res = np.asarray(resampled, float)
    obs = np.asarray(observed, float)
    hits = trials = 0
    for i in range(len(res)):
        for j in range(i + 1, len(res)):
            p = clip_bootstrap(res[i], res[j], obs[i : i + 1], obs[j : j + 1], 0).p
            hits += p < alpha
            trials += 1
    out = _aa_result("clip bootstrap, one seed each", 1, len(res), hits, trials, alpha)
    out.interval_over = "seed pairs"
    return out


# ------------------------------------------------------------------------------------------ helpers
def _isnan(v) -> bool:
    if v is None or v is pd.NA:
        return True
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def _as_list(col: pd.Series) -> list[float | None]:
    return [None if _isnan(v) else float(v) for v in col]


def _num(v, sign: bool = True) -> str:
    v = float(v)
    if abs(v) >= 1000:
        for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(v) >= div:
                return f"{v / div:+.3g}{unit}" if sign else f"{v / div:.3g}{unit}"
    text = f"{v:+.3f}" if sign else f"{v:.3f}"
    return text if abs(v) >= 0.0005 or v == 0 else (f"{v:+.2g}" if sign else f"{v:.2g}")


def format_p(p, alpha: float = ALPHA) -> str:
    """A p-value as the verdicts print it: '<0.001', 3 decimals below 0.1, 2 above; more decimals where
    rounding would put it on the other side of ``alpha`` (0.0496 prints 0.0496, not 0.050)."""
    p = float(p)
    if p < 0.001:
        return "<0.001"
    if p >= 0.1:
        return f"{p:.2f}"
    for decimals in range(3, 7):
        text = f"{p:.{decimals}f}"
        if (float(text) < alpha) == (p < alpha):
            break
    return text
