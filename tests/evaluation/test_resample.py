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
    assert stats.psds() == pytest.approx(
        psds(scores, es.ground_truth, es.durations, settings).value, abs=1e-12
    )


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
