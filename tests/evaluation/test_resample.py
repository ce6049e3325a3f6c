import numpy as np
import pytest

from sedbench.evaluation import PSDS1, PSDS2, psds, scores_from_probs
from sedbench.evaluation.resample import psds_statistics
from sedbench.evaluation.synthetic import make_eval_set


@pytest.fixture(scope="module")
def eval_set():
    es = make_eval_set(n_clips=30, n_classes=3, seed=6, empty_fraction=0.1)
    frame, _ = es.system(1.0, seed=1)
    return es, scores_from_probs(frame, es.clip_ids, es.classes, es.frame_hop_s)


@pytest.mark.parametrize("settings", [PSDS1, PSDS2])
def test_unit_weights_equal_sed_scores_eval(eval_set, settings):
    es, scores = eval_set
    stats = psds_statistics(scores, es.ground_truth, es.durations, settings)
    assert stats.psds() == pytest.approx(psds(scores, es.ground_truth, es.durations, settings).value, abs=1e-12)


@pytest.mark.parametrize("settings", [PSDS1, PSDS2])
def test_integer_weights_equal_psds_on_duplicated_clips(eval_set, settings):
    es, scores = eval_set
    stats = psds_statistics(scores, es.ground_truth, es.durations, settings)
    w = np.random.default_rng(0).multinomial(stats.n_clips, np.full(stats.n_clips, 1 / stats.n_clips))
    dup_scores, dup_gt, dup_dur = {}, {}, {}
    for cid, k in zip(stats.clip_ids, w, strict=False):
        for j in range(k):
            dup_scores[f"{cid}-{j}"] = scores[cid]
            dup_gt[f"{cid}-{j}"] = es.ground_truth[cid]
            dup_dur[f"{cid}-{j}"] = es.durations[cid]
    expected = psds(dup_scores, dup_gt, dup_dur, settings).value
    assert stats.psds(w) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("settings", [PSDS1, PSDS2])
def test_batched_resamples_equal_one_at_a_time(eval_set, settings):
    es, scores = eval_set
    stats = psds_statistics(scores, es.ground_truth, es.durations, settings)
    rng = np.random.default_rng(1)
    n = stats.n_clips
    w = rng.multinomial(n, np.full(n, 1 / n), size=23)
    w[0] = 1  # the observed set
    w[1] = 0  # everything on three clips: past any window, scored on the whole class
    w[1, :3] = n // 3
    expected = np.array([stats.psds(row) for row in w])
    np.testing.assert_allclose(stats.psds_many(w, chunk=5), expected, rtol=0, atol=1e-12)
    assert stats.psds_many(w[0])[0] == pytest.approx(stats.psds(), abs=1e-12)


def test_windows_cut_most_change_points_on_a_larger_set():
    es = make_eval_set(n_clips=150, n_classes=3, seed=2)
    frame, _ = es.system(1.2, seed=3)
    stats = psds_statistics(
        scores_from_probs(frame, es.clip_ids, es.classes, es.frame_hop_s), es.ground_truth, es.durations, PSDS1
    )
    w = np.random.default_rng(2).multinomial(150, np.full(150, 1 / 150), size=40)
    np.testing.assert_allclose(stats.psds_many(w), [stats.psds(row) for row in w], rtol=0, atol=1e-12)
    windows = [stats._window(c) for c in range(3)]
    assert all(win.bound is not None for win in windows)
    assert sum(win.stop - win.start for win in windows) < 0.5 * stats.deltas.shape[1]


def test_lowest_fp_bound_equals_a_fresh_computation():
    from sedbench.evaluation.resample import _LowestFp

    rng = np.random.default_rng(3)
    clips = rng.integers(0, 9, 300)  # clip 9 of 10 has no change point
    fp = rng.integers(-1, 3, 300)
    lowest = _LowestFp(fp, clips, 10)
    for stop in (0, 1, 57, 150, 299, 300):
        np.testing.assert_array_equal(lowest.after(stop), suffix_min_fp(fp, clips, stop, 10))


def suffix_min_fp(fp: np.ndarray, clips: np.ndarray, stop: int, n_clips: int) -> np.ndarray:
    """Reference for ``_LowestFp.after``: the same bound by a fresh sort."""
    base = np.bincount(clips[:stop], weights=fp[:stop], minlength=n_clips).round().astype(np.int64)
    after_clips, after_fp = clips[stop:], fp[stop:]
    if not len(after_clips):
        return base
    order = np.argsort(after_clips, kind="stable")
    ca, da = after_clips[order], after_fp[order]
    seg = np.r_[0, np.flatnonzero(ca[1:] != ca[:-1]) + 1]
    cs = np.cumsum(da)
    before = np.r_[0, cs[seg[1:] - 1]]
    within = cs - np.repeat(before, np.diff(np.r_[seg, len(ca)]))
    lowest = np.minimum.reduceat(within, seg)
    out = base.copy()
    out[ca[seg]] = base[ca[seg]] + np.minimum(lowest, 0)
    return out


@pytest.mark.parametrize("settings", [PSDS1, PSDS2])
def test_a_resample_without_some_class_leaves_that_class_out_as_psds_does(settings):
    """A bootstrap draw that holds no event of a class: metrics.psds leaves the class out; the engine
    scored it as a TPR of 0 (0.26 against 1.0 in a 7-class case), pulling resampled PSDS down."""
    es = make_eval_set(n_clips=24, n_classes=3, seed=4)
    frame, _ = es.system(1.0, seed=2)
    scores = scores_from_probs(frame, es.clip_ids, es.classes, es.frame_hop_s)
    stats = psds_statistics(scores, es.ground_truth, es.durations, settings)
    has = stats.n_ref > 0  # (clips, classes)
    rng = np.random.default_rng(3)
    rows = []
    for dropped in ([0], [1], [0, 2]):  # two classes dropped: one left, so no cross-triggers either
        keep = ~has[:, dropped].any(axis=1)
        assert keep.any()
        rows.append(rng.multinomial(stats.n_clips, keep / keep.sum()))
    rows.append(np.ones(stats.n_clips, int))  # every class present: unchanged
    for w in rows:
        dup_scores, dup_gt, dup_dur = {}, {}, {}
        for cid, k in zip(stats.clip_ids, w, strict=True):
            for j in range(k):
                dup_scores[f"{cid}-{j}"], dup_gt[f"{cid}-{j}"] = scores[cid], es.ground_truth[cid]
                dup_dur[f"{cid}-{j}"] = es.durations[cid]
        expected = psds(dup_scores, dup_gt, dup_dur, settings).value
        assert stats.psds(w) == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(stats.psds_many(np.array(rows), chunk=3), [stats.psds(w) for w in rows],
                               rtol=0, atol=1e-12)
