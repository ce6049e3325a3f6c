import json

import numpy as np
import pytest
from sed_scores_eval.base_modules.io import read_sed_scores

from sedbench.evaluation import (
    compute_metrics,
    evaluate_run,
    read_clip_scores,
    read_run_inputs,
    scores_from_probs,
    write_scores,
)
from sedbench.evaluation.synthetic import fake_record, make_eval_set
from sedbench.results import read_record, write_record


@pytest.fixture(scope="module")
def system():
    es = make_eval_set(n_clips=15, n_classes=3, seed=5, empty_fraction=0.2)
    frame, clip = es.system(0.9)
    return es, scores_from_probs(frame, es.clip_ids, es.classes, es.frame_hop_s), clip


def test_round_trip_is_exact_and_sed_scores_eval_can_read_it(tmp_path, system):
    es, scores, clip = system
    write_scores(tmp_path / "scores", scores, es.ground_truth, es.durations, clip_probs=clip)
    back, gt, durations = read_run_inputs(tmp_path)
    assert list(back) == sorted(scores)
    for cid, df in scores.items():
        assert np.array_equal(back[cid].to_numpy(), df.to_numpy())
    assert gt == {k: [tuple(e) for e in v] for k, v in es.ground_truth.items()}
    assert any(not ev for ev in gt.values())  # clips without events survive the round trip
    assert durations == es.durations
    assert np.array_equal(read_clip_scores(tmp_path, es.clip_ids, es.classes), clip.astype(np.float64))
    theirs = read_sed_scores(tmp_path / "scores")
    assert np.allclose(theirs[es.clip_ids[0]].to_numpy(), scores[es.clip_ids[0]].to_numpy())


def test_rewrite_replaces_the_whole_folder(tmp_path, system):
    es, scores, _ = system
    write_scores(tmp_path / "scores", scores)
    first = dict(list(scores.items())[:3])
    write_scores(tmp_path / "scores", first)
    assert sorted(p.stem for p in (tmp_path / "scores").iterdir()) == sorted(first)
    assert [p.name for p in tmp_path.iterdir()] == ["scores"]  # no temporary folders left


def test_evaluate_run_recomputes_and_updates_the_record(tmp_path, system):
    es, scores, clip = system
    write_scores(tmp_path / "scores", scores, es.ground_truth, es.durations, clip_probs=clip)
    metrics = compute_metrics(scores, clip, es.clip_ids, es.ground_truth, es.durations, es.classes)
    record = fake_record("scratch", 0, psds1=0.123)
    write_record(tmp_path, record)
    again = evaluate_run(tmp_path)
    assert again == metrics
    assert read_record(tmp_path)["metrics"]["psds1"] == 0.123  # untouched without update
    evaluate_run(tmp_path, update=True)
    updated = read_record(tmp_path)
    assert updated["metrics"]["psds1"] == metrics["psds1"]
    assert updated["metrics"]["weak_map"] == metrics["weak_map"]
    assert updated["complexity"] == json.loads(json.dumps(record["complexity"]))
