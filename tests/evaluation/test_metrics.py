import numpy as np
import pandas as pd
import pytest
from sed_scores_eval import collar_based, intersection_based
from sed_scores_eval.base_modules.scores import create_score_dataframe

from sedbench.errors import SedbenchError
from sedbench.evaluation import PSDS1, PSDS2, compute_metrics, compute_psds1, psds, scores_from_probs
from sedbench.evaluation.metrics import (
    average_precision,
    clip_f1,
    clip_labels,
    clip_map,
    collar_f1,
    intersection_f1,
)
from sedbench.evaluation.synthetic import make_eval_set

CLASSES = ["dog", "cat"]


def hand_made():
    """3 clips of 10 one-second frames; clip c has no events (DESED_task drops it for PSDS)."""
    ts = np.arange(11, dtype=float)
    a = np.zeros((10, 2))
    a[2:6, 0] = [0.6, 0.9, 0.8, 0.7]
    a[7:9, 1] = [0.4, 0.55]
    a[:, 1] += 0.05
    b = np.full((10, 2), 0.1)
    b[1:4, 1] = [0.3, 0.8, 0.6]
    b[6:9, 0] = 0.65
    c = np.full((10, 2), 0.2)
    c[4:6, 0] = 0.7
    scores = {k: create_score_dataframe(v, ts, CLASSES) for k, v in {"a": a, "b": b, "c": c}.items()}
    gt = {"a": [(2.0, 6.0, "dog"), (7.0, 9.0, "cat")], "b": [(1.0, 4.0, "cat"), (6.5, 8.5, "dog")], "c": []}
    durations = {"a": 10.0, "b": 10.0, "c": 10.0}
    return scores, gt, durations


@pytest.mark.parametrize("settings", [PSDS1, PSDS2])
def test_psds_equals_sed_scores_eval_called_directly(settings):
    scores, gt, durations = hand_made()
    keep = [k for k, ev in gt.items() if ev]
    expected, per_class, *_ = intersection_based.psds(
        {k: scores[k] for k in keep},
        {k: gt[k] for k in keep},
        {k: durations[k] for k in keep},
        **settings.kwargs(),
    )
    result = psds(scores, gt, durations, settings)
    assert result.value == pytest.approx(expected, abs=1e-12)
    assert result.per_class == pytest.approx(per_class)
    assert 0 < result.value <= 1


def test_perfect_scores_give_psds1_one_and_random_scores_near_zero():
    es = make_eval_set(n_clips=40, n_classes=4, seed=1)
    perfect = scores_from_probs(es.activity, es.clip_ids, es.classes, es.frame_hop_s)
    assert compute_psds1(perfect, es.ground_truth, es.durations) == pytest.approx(1.0, abs=1e-6)
    rng = np.random.default_rng(0)
    random = scores_from_probs(rng.random(es.activity.shape), es.clip_ids, es.classes, es.frame_hop_s)
    assert compute_psds1(random, es.ground_truth, es.durations) < 0.05


def test_scores_from_probs_median_filters_and_sets_frame_times():
    probs = np.zeros((1, 20, 2), dtype=np.float32)
    probs[0, 5, 0] = 1.0  # a one-frame spike: removed by the 7-frame median
    probs[0, 10:15, 1] = 1.0  # a five-frame event: kept
    df = scores_from_probs(probs, ["x"], ["a", "b"], frame_hop_s=0.064)["x"]
    assert list(df.columns) == ["onset", "offset", "a", "b"]
    assert df["onset"].iloc[3] == pytest.approx(3 * 0.064) and df["offset"].iloc[3] == pytest.approx(
        4 * 0.064
    )
    assert df["a"].max() == 0.0
    assert df["b"].iloc[10:15].min() == 1.0
    raw = scores_from_probs(probs, ["x"], ["a", "b"], 0.064, median_window=1)["x"]
    assert raw["a"].iloc[5] == 1.0


def test_binarised_f1_equals_thresholding_raw_scores():
    es = make_eval_set(n_clips=30, n_classes=3, seed=2)
    frame, _ = es.system(1.0)
    scores = scores_from_probs(frame, es.clip_ids, es.classes, es.frame_hop_s)
    f, *_ = collar_based.fscore(
        scores, es.ground_truth, 0.5, onset_collar=0.2, offset_collar=0.2, offset_collar_rate=0.2
    )
    assert collar_f1(scores, es.ground_truth)[0] == pytest.approx(f["macro_average"])
    f, *_ = intersection_based.fscore(scores, es.ground_truth, 0.5, dtc_threshold=0.5, gtc_threshold=0.5)
    assert intersection_f1(scores, es.ground_truth)[0] == pytest.approx(f["macro_average"])


def test_clip_level_metrics_by_hand():
    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    probs = np.array([[0.9, 0.2], [0.6, 0.7], [0.4, 0.1], [0.1, 0.8]])
    # class 0: TP 1, FP 1, FN 1 -> F1 0.5; class 1: TP 1, FP 1 -> 2/3
    assert clip_f1(probs, labels) == pytest.approx((0.5 + 2 / 3) / 2)
    # class 0 ranking: 0.9(+) 0.6(-) 0.4(+) 0.1(-) -> AP = (1 + 2/3) / 2; class 1: 0.8(-) 0.7(+) -> 1/2
    assert average_precision(probs[:, 0], labels[:, 0]) == pytest.approx(5 / 6)
    assert clip_map(probs, labels) == pytest.approx((5 / 6 + 0.5) / 2)


def test_clip_map_matches_sklearn_with_ties():
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    labels = rng.random((200, 5)) < 0.3
    probs = np.round(rng.random((200, 5)), 1)  # many ties
    assert clip_map(probs, labels) == pytest.approx(
        sklearn.average_precision_score(labels, probs, average="macro")
    )


def test_compute_metrics_all_and_fast_path():
    es = make_eval_set(n_clips=25, n_classes=3, seed=4, empty_fraction=0.2)
    frame, clip = es.system(0.8)
    scores = scores_from_probs(frame, es.clip_ids, es.classes, es.frame_hop_s)
    m = compute_metrics(scores, clip, es.clip_ids, es.ground_truth, es.durations, es.classes)
    for key in ("psds1", "psds2", "event_f1", "intersection_f1", "weak_f1", "weak_map"):
        assert 0 <= m[key] <= 1, key
    assert set(m["per_class_psds1"]) == set(es.classes)
    fast = compute_metrics(
        scores, clip, es.clip_ids, es.ground_truth, es.durations, es.classes, which=["psds1"]
    )
    assert set(fast) == {"psds1", "per_class_psds1"} and fast["psds1"] == m["psds1"]
    labels = clip_labels(es.ground_truth, es.clip_ids, es.classes)
    assert labels.sum() == sum(len({e[2] for e in ev}) for ev in es.ground_truth.values())


def test_class_without_events_is_left_out_not_fatal_and_not_warned_about():
    import warnings

    from sedbench.evaluation.metrics import classes_without_events

    scores, gt, durations = hand_made()
    gt = {k: [e for e in ev if e[2] == "dog"] for k, ev in gt.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an expected condition: said once per run (run notes), not per call
        res = psds(scores, gt, durations)
    assert res.per_class["cat"] is None and res.value is not None
    assert classes_without_events(gt, ["cat", "dog"]) == ["cat"]


def test_bad_ground_truth_is_a_clear_error():
    scores, gt, durations = hand_made()
    with pytest.raises(SedbenchError, match="unknown label 'bird'"):
        psds(scores, {**gt, "a": [(1.0, 2.0, "bird")]}, durations)
    with pytest.raises(SedbenchError, match="onset"):
        psds(scores, {**gt, "a": [(3.0, 2.0, "dog")]}, durations)


def test_overlapping_same_class_events_are_merged():
    scores, gt, durations = hand_made()
    split = {**gt, "a": [(2.0, 4.5, "dog"), (4.0, 6.0, "dog"), (7.0, 9.0, "cat")]}
    assert psds(scores, split, durations).value == pytest.approx(psds(scores, gt, durations).value)


def test_frame_probs_must_be_three_dimensional():
    with pytest.raises(SedbenchError, match="shape"):
        scores_from_probs(np.zeros((10, 2)), ["x"], ["a", "b"], 0.1)
    assert isinstance(scores_from_probs(np.zeros((1, 10, 2)), ["x"], ["a", "b"], 0.1)["x"], pd.DataFrame)


def test_psds2_of_one_evaluated_class_has_no_cross_trigger_term():
    """sed_scores_eval 0.0.4 raises on PSDS2's cross-trigger term with one class; with one class there
    is no other class to cross-trigger, so the term is 0 and PSDS2 is the same PSDS without it."""
    from dataclasses import replace

    scores, gt, durations = hand_made()
    gt = {k: [e for e in ev if e[2] == "dog"] for k, ev in gt.items()}
    keep = [k for k, ev in gt.items() if ev]
    dog = {k: scores[k][["onset", "offset", "dog"]] for k in keep}
    with pytest.raises(TypeError):  # what an evaluation on one-class data crashed on
        intersection_based.psds(dog, {k: gt[k] for k in keep}, {k: durations[k] for k in keep}, **PSDS2.kwargs())
    expected, *_ = intersection_based.psds(dog, {k: gt[k] for k in keep}, {k: durations[k] for k in keep},
                                           **replace(PSDS2, cttc_threshold=None, alpha_ct=0.0).kwargs())
    result = psds(scores, gt, durations, PSDS2)
    assert result.value == pytest.approx(expected, abs=1e-12) and result.per_class["cat"] is None
