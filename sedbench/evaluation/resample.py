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
integer weights it equals psds on the clip set with duplicated clips (tested), including a resample
that holds no event of some class: ``metrics.psds`` leaves such a class out (its TPR is undefined),
so a resample leaves it out too, of the class mean, the spread penalty and the cross-trigger mean,
instead of scoring it as a TPR of 0.

``PsdsStatistics.psds_many`` scores thousands of resamples at once (a weights matrix, one row per
resample) and is what the bootstraps use; ``psds(w)`` scores one and stays as the readable reference
(``benchmarks/bootstrap.py`` times both). Two facts make the batch fast, with exactly the same
result:

1. Only operating points with eFPR <= max_efpr (100 per hour) count, and on a realistic eval set
   those are the first ~1 % of a class's change points (the highest thresholds). Each class gets a
   window of change points beyond which no resample can come back under max_efpr: for every clip,
   the smallest false-positive count it reaches at any threshold past the window bounds the
   weighted FP count from below, and a resample whose bound is above max_efpr cannot have an
   operating point past the window. Resamples for which the bound does not hold are scored on the
   whole class (never approximated).
2. Without cross-triggers (alpha_ct = 0, PSDS1) a resample's eFPR is its FP count times one
   constant, so the union of the classes' eFPR grids lies on the integers 0..max FP count: the
   PSD-ROC of a batch is a (resamples x classes x FP count) array filled by a scatter-max and a
   cumulative max, with no per-resample sort. With cross-triggers (PSDS2) the classes' points of a
   batch are merged by one sort.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

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
        present = [c for c in range(len(self.classes)) if n_ref[c] > 0]
        # with one class left there are no cross-triggers (metrics.psds sets alpha_ct to 0 likewise)
        alpha_ct = s.alpha_ct if len(present) > 1 else 0.0
        rocs = {}
        for c in present:
            name = self.classes[c]
            ends = self.group_end[self.class_groups[c] : self.class_groups[c + 1]]
            start = self.class_start[c]

            def acc(k: int, idx: np.ndarray, start: int = start) -> np.ndarray:
                cum = cums[k]
                return cum[idx] - (cum[start - 1] if start > 0 else 0)

            efpr = acc(1, ends) / duration
            if alpha_ct:
                ct_rates = [acc(2 + k, ends) / t_ref[k] for k in present if k != c]
                efpr = efpr + alpha_ct * np.mean(ct_rates, axis=0)
            efpr = efpr * SECONDS_PER_HOUR
            # only operating points within max_efpr matter: gather TPs there alone
            keep = efpr <= s.max_efpr
            tpr = acc(0, ends[keep]) / n_ref[c]
            rocs[name] = _roc_envelope(tpr, efpr[keep], s.max_efpr)
        return multi_class_psd_roc_from_single_class_psd_rocs(rocs, s.alpha_st, s.max_efpr)

    # ------------------------------------------------------------------ many resamples at once
    def psds_many(self, weights: np.ndarray, chunk: int | None = None) -> np.ndarray:
        """PSDS under each row of ``weights`` (R, N clip multiplicities): ``[self.psds(w) for w in weights]``.

        Same numbers (to float rounding of the final sum), computed in batches of ``chunk`` rows.
        """
        w = np.asarray(weights)
        if w.ndim == 1:
            w = w[None, :]
        if w.ndim != 2 or w.shape[1] != self.n_clips:
            raise ValueError(f"weights must be (resamples, {self.n_clips}), got {w.shape}")
        if (w < 0).any():
            raise ValueError("clip weights must be non-negative")
        windows = [self._window(c) for c in range(len(self.classes))]
        size = sum(win.stop - win.start for win in windows)
        per_row = size * (1 if self.settings.alpha_ct == 0 else len(self.classes) + 2)
        step = chunk or int(np.clip(4_000_000 // max(per_row, 1), 8, 2048))
        out = np.empty(len(w))
        for lo in range(0, len(w), step):
            out[lo : lo + step] = self._psds_batch(w[lo : lo + step], windows)
        return out

    def _psds_batch(self, w: np.ndarray, windows: list[_Window]) -> np.ndarray:
        s = self.settings
        wf = w.astype(np.float64)  # weighted sums through BLAS (integer matmul is not); exact below 2**53
        duration = wf @ self.durations  # (B,)
        n_ref = np.rint(wf @ self.n_ref).astype(np.int64)  # (B, C)
        t_ref = wf @ self.t_ref  # (B, C)
        bounds = wf @ self._bounds(windows)  # (B, C) lower bounds on the FP count past each window
        # (N, B) int32: cumulative sums then run along axis 0, which numpy vectorises across the batch
        # (along axis 1, or with a cast to int64, it is several times slower)
        w_t = np.ascontiguousarray(w.T, dtype=np.int32)
        kmax = self._fp_grid_size(duration)
        present = n_ref > 0  # (B, C): a class without events in a resample is left out of it
        points = []  # per class, a list of parts (batch rows, FP counts, eFPR or None, TP counts)
        for c, win in enumerate(windows):
            rows = np.flatnonzero(present[:, c])
            if win.bound is None:
                points.append([self._class_points(w_t, rows, c, win, duration, t_ref, kmax)])
                continue
            # a resample whose lower bound on the FP rate past the window is not above max_efpr is
            # scored on the whole class
            inside = bounds[rows, c] / duration[rows] * SECONDS_PER_HOUR > s.max_efpr
            parts = [self._class_points(w_t, rows[inside], c, win, duration, t_ref, kmax)]
            if not inside.all():
                full = self._window(c, full=True)
                parts.append(self._class_points(w_t, rows[~inside], c, full, duration, t_ref, kmax))
            points.append(parts)
        if s.alpha_ct == 0:
            return self._area_on_fp_grid(points, n_ref, duration, kmax)
        return self._area_merged(points, n_ref)

    def _class_points(self, w_t, rows, c: int, win: _Window, duration, t_ref, kmax):
        """Class c's operating points for the batch rows ``rows``, as ``psd_roc`` computes them.

        alpha_ct = 0: (rows, FP counts, None, TP counts) as (groups, rows) arrays, FP counts over the
        row's kmax (eFPR over max_efpr, see _fp_grid_size) set to -1. Otherwise flat arrays of the kept
        points: (batch row, FP count, eFPR, TP count).
        """
        s = self.settings
        clips = self.clip_index[win.start : win.stop]
        wc = w_t[clips] if len(rows) == w_t.shape[1] else w_t[:, rows][clips]  # (change points, rows)
        buf = np.empty_like(wc)

        def acc(k: int) -> np.ndarray:
            d = self.deltas[k, win.start : win.stop]
            nz, at_end = win.sparse(k, d)
            if nz is not None:  # a mostly-zero row (TPs): sum its non-zero change points only
                cum = np.zeros((len(nz) + 1, wc.shape[1]), np.int32)
                np.cumsum(wc[nz] * d[nz, None], axis=0, out=cum[1:])
                return cum[at_end]
            np.multiply(wc, d[:, None], out=buf)
            return np.cumsum(buf, axis=0, out=buf)[win.ends]

        fp = acc(1)
        if not s.alpha_ct:
            fp[fp > kmax[rows][None, :]] = -1
            return rows, fp, None, acc(0)
        duration, t_ref = duration[rows], t_ref[rows]
        efpr = fp / duration[None, :]
        others = [k for k in range(len(self.classes)) if k != c]
        with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 for a class absent from a row
            ct_rates = np.stack([acc(2 + k) / t_ref[:, k][None, :] for k in others])  # (others, points, rows)
        there = (t_ref[:, others] > 0).T[:, None, :]  # the cross-trigger mean runs over present classes
        if there.all():
            ct_mean = np.mean(ct_rates, axis=0)
        else:
            counts = there.sum(axis=0)
            ct_mean = np.where(there, ct_rates, 0.0).sum(axis=0) / np.maximum(counts, 1)
        efpr = (efpr + s.alpha_ct * ct_mean) * SECONDS_PER_HOUR  # (one class left: ct_mean 0, alpha_ct moot)
        tp = acc(0)
        # a point with no more TPs than the point before it and no lower eFPR changes no staircase:
        # dropping it leaves the PSD-ROC (and its area) as it is, and most points are such (TPs change
        # at few change points)
        keep = efpr <= s.max_efpr
        keep[1:] &= (tp[1:] > tp[:-1]) | (efpr[1:] < efpr[:-1])
        groups, cols = np.nonzero(keep)
        return rows[cols], fp[groups, cols], efpr[groups, cols], tp[groups, cols]

    def _bounds(self, windows: list[_Window]) -> np.ndarray:
        if "bounds" not in self._cache:
            cols = [np.zeros(self.n_clips) if w.bound is None else w.bound for w in windows]
            self._cache["bounds"] = np.stack(cols, axis=1).astype(np.float64)
        return self._cache["bounds"]

    def _fp_grid_size(self, duration: np.ndarray) -> np.ndarray:
        """Per resample, the largest FP count k with (k / duration) * 3600 <= max_efpr, in the floating-point
        operations ``psd_roc`` uses (so the integer test selects exactly the same operating points)."""
        s = self.settings
        kmax = np.floor(s.max_efpr * duration / SECONDS_PER_HOUR).astype(np.int64) + 1
        for _ in range(4):
            kmax[kmax / duration * SECONDS_PER_HOUR > s.max_efpr] -= 1
        return kmax

    def _area_on_fp_grid(self, points, n_ref, duration, kmax) -> np.ndarray:
        """alpha_ct = 0: eFPR = FP count x 3600 / duration, one grid of integer FP counts per resample.

        Arrays are laid out (FP count, class, resample): the running max runs along axis 0 and the
        class mean/std reduce axis 1, both over contiguous resample rows (numpy vectorises those).
        """
        s = self.settings
        b_rows, n_classes = len(duration), len(self.classes)
        n_grid = int(kmax.max()) + 1
        # most TPs reachable at exactly k FPs; row n_grid collects the points past max_efpr (fp = -1)
        best = np.zeros((n_grid + 1, n_classes, b_rows), np.int32)
        flat = best.reshape(-1)
        for c, parts in enumerate(points):
            for rows, fp, _, tp in parts:
                idx = (np.where(fp < 0, n_grid, fp) * n_classes + c) * b_rows + rows[None, :]
                np.maximum.at(flat, idx.ravel(), tp.ravel())  # same dtypes: ufunc.at's fast path
        tpr = np.maximum.accumulate(best[:n_grid], axis=0).astype(np.float64)  # ... at <= k FPs: the staircase
        tpr /= np.maximum(n_ref, 1).T[None, :, :]
        mean, std = _class_mean_std(tpr, (n_ref > 0).T[None, :, :])  # (grid, B) each
        etpr = np.maximum(mean - s.alpha_st * std, 0.0)
        k = np.arange(n_grid)[:, None]
        efpr = k / duration[None, :] * SECONDS_PER_HOUR  # (grid, B)
        nxt = np.concatenate([efpr[1:], np.full((1, b_rows), s.max_efpr)], axis=0)
        nxt = np.where(k < kmax[None, :], nxt, s.max_efpr)
        width = np.where(k <= kmax[None, :], nxt - efpr, 0.0)
        return (etpr * width).sum(axis=0) / s.max_efpr

    def _area_merged(self, points, n_ref) -> np.ndarray:
        """General case: merge every class's kept operating points of a resample by eFPR (one sort)."""
        s = self.settings
        b_rows, n_classes = n_ref.shape
        flat = [(k, part) for k, parts in enumerate(points) for part in parts]
        b, e, t = (np.concatenate([part[i] for _, part in flat]) for i in (0, 2, 3))
        c = np.concatenate([np.full(len(part[0]), k) for k, part in flat])
        order = np.lexsort((e, b))
        b, e, t, c = b[order], e[order], t[order], c[order]
        # running max of TP counts per (resample, class) along eFPR; adding b * big (big > any TP count)
        # keeps the running max inside its resample, in exact integers, each class starting from 0
        big = int(n_ref.max()) + 1
        f = np.repeat((b * big)[:, None], n_classes, axis=1)
        f[np.arange(len(b)), c] += t
        np.maximum.accumulate(f, axis=0, out=f)
        tpr = (f - (b * big)[:, None]) / np.maximum(n_ref[b], 1)
        mean, std = _class_mean_std(tpr, n_ref[b] > 0)
        etpr = np.maximum(mean - s.alpha_st * std, 0.0)
        nxt = np.empty_like(e)
        nxt[:-1] = e[1:]
        last = np.r_[b[1:] != b[:-1], True] if len(b) else np.zeros(0, bool)
        nxt[last] = s.max_efpr
        return np.bincount(b, weights=etpr * (nxt - e), minlength=b_rows) / s.max_efpr

    def _window(self, c: int, full: bool = False) -> _Window:
        """Class c's change points that can hold an operating point under max_efpr (see module doc)."""
        key = (c, full)
        if key in self._cache:
            return self._cache[key]
        start = int(self.class_start[c])
        stop_all = int(self.class_start[c + 1]) if c + 1 < len(self.classes) else self.deltas.shape[1]
        ends = self.group_end[self.class_groups[c] : self.class_groups[c + 1]] - start
        win = _Window(start, stop_all, ends, None)
        if not full and len(ends):
            fp = self.deltas[1, start:stop_all].astype(np.int64)
            clips = self.clip_index[start:stop_all]
            total = float(self.durations.sum())
            efpr = np.cumsum(fp)[ends] / total * SECONDS_PER_HOUR
            # the smallest window whose bound clears max_efpr with a margin (resamples vary around it;
            # those that fail get the whole class). The bound only grows with the window (a minimum over
            # fewer thresholds), so bisect, from where the unweighted eFPR first passes max_efpr.
            lowest = _LowestFp(fp, clips, self.n_clips)

            def clears(g: int) -> np.ndarray | None:
                bound = lowest.after(int(ends[g]) + 1)
                return bound if bound.sum() / total * SECONDS_PER_HOUR > 1.3 * self.settings.max_efpr else None

            over = np.flatnonzero(efpr > self.settings.max_efpr)
            lo = int(over[0]) - 1 if len(over) else len(ends) - 1  # lo never clears (or is the end)
            hi = len(ends) - 1
            if lo < hi and clears(hi) is not None:
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    lo, hi = (lo, mid) if clears(mid) is not None else (mid, hi)
                if hi < len(ends) - 1:
                    win = _Window(start, start + int(ends[hi]) + 1, ends[: hi + 1], clears(hi))
        self._cache[key] = win
        return win


@dataclass
class _Window:
    start: int  # first change point of the class (global position)
    stop: int  # one past the last change point considered
    ends: np.ndarray  # group ends inside the window, relative to start
    bound: np.ndarray | None  # (N,) per clip, fewest FPs at any threshold past the window; None: no cut
    _sparse: dict = field(default_factory=dict, repr=False)

    def sparse(self, k: int, d: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """For a delta row that is mostly zero: its non-zero positions, and per group end how many of
        them lie at or before it (an index into their cumulative sum with a leading 0)."""
        if k not in self._sparse:
            nz = np.flatnonzero(d)
            if len(nz) > 0.2 * len(d):
                self._sparse[k] = (None, None)
            else:
                self._sparse[k] = (nz, np.searchsorted(nz, self.ends, side="right"))
        return self._sparse[k]


class _LowestFp:
    """Per clip, the smallest cumulative FP count it takes at any change point from a position on.

    Built once per class (clip-sorted change points, running counts, reverse running minima), then
    each query costs one searchsorted over the clips.
    """

    def __init__(self, fp: np.ndarray, clips: np.ndarray, n_clips: int):
        n = len(fp)
        order = np.argsort(clips, kind="stable")  # by clip, positions ascending within each clip
        by_clip = clips[order]
        self.n, self.n_clips = n, n_clips
        self.keys = by_clip.astype(np.int64) * (n + 1) + order
        seg = np.r_[0, np.flatnonzero(by_clip[1:] != by_clip[:-1]) + 1] if n else np.zeros(0, np.int64)
        seg_end = np.r_[seg[1:], n] if n else np.zeros(0, np.int64)
        cum = np.cumsum(fp[order])
        offset = np.repeat(np.r_[0, cum[seg[1:] - 1]] if n else np.zeros(0), seg_end - seg)
        self.count = cum - offset  # the clip's FP count after each of its change points
        # minimum of the count from each change point to the clip's last one: a reversed running
        # minimum, each clip's segment lifted above the ones before it so that none leaks into them
        seg_id = np.repeat(np.arange(len(seg)), seg_end - seg)
        span = (np.ptp(self.count) + 1) if n else 1
        self.rmin = np.minimum.accumulate((self.count + seg_id * span)[::-1])[::-1] - seg_id * span
        self.first = np.full(n_clips, -1)
        self.last = np.full(n_clips, -1)
        if n:
            self.first[by_clip[seg]] = seg
            self.last[by_clip[seg]] = seg_end

    def after(self, stop: int) -> np.ndarray:
        """(N,) per clip: min of its cumulative FP count at position stop - 1 and at every change point
        from ``stop`` on."""
        out = np.zeros(self.n_clips, np.int64)
        has = np.flatnonzero(self.first >= 0)
        if not len(has):
            return out
        idx = np.searchsorted(self.keys, has.astype(np.int64) * (self.n + 1) + stop)  # first cp >= stop
        first, last = self.first[has], self.last[has]
        base = np.where(idx > first, self.count[np.maximum(idx - 1, 0)], 0)  # count just before stop
        later = np.where(idx < last, self.rmin[np.minimum(idx, self.n - 1)], base)
        out[has] = np.minimum(base, later)
        return out


def _class_mean_std(tpr: np.ndarray, present: np.ndarray, axis: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) std of ``tpr`` over the class axis, over present classes only; ``tpr`` is
    overwritten. With every class present: np.std's two passes, in place, so the usual case keeps its
    bits and its memory."""
    if present.all():
        mean = tpr.mean(axis=axis)
        tpr -= np.expand_dims(mean, axis)
        return mean, np.sqrt(np.square(tpr, out=tpr).mean(axis=axis))
    counts = np.maximum(present.sum(axis=axis), 1)
    mean = np.where(present, tpr, 0.0).sum(axis=axis) / counts
    centred = np.where(present, tpr - np.expand_dims(mean, axis), 0.0)
    return mean, np.sqrt(np.square(centred).sum(axis=axis) / counts)


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
