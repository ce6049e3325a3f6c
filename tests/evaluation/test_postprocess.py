"""The median filter is held in seconds, so a coarser front end does not erase short events."""

from __future__ import annotations

import numpy as np
import pytest

from sedbench.evaluation.postprocess import DESED_MEDIAN_S, median_frames, profile_median_frames, smooth


@pytest.mark.parametrize(("seconds", "hop", "frames"), [
    (DESED_MEDIAN_S, 0.064, 7),   # DESED_task at DCASE resolution: its 7 frames exactly
    (DESED_MEDIAN_S, 0.128, 3),   # quick's 128 ms frames: 3.5 -> the odd count below
    (DESED_MEDIAN_S, 0.032, 13),  # 14 -> 13
    (0.0, 0.064, 1),              # no filter
])
def test_median_frames_keeps_the_seconds(seconds, hop, frames):
    assert median_frames(seconds, hop) == frames


def test_a_config_without_the_key_gets_the_seven_frames_it_was_scored_with():
    # a run recorded before postprocess.median_filter_s existed was scored with 7 frames at any rate
    assert profile_median_frames({}, 0.064) == 7 and profile_median_frames({}, 0.128) == 7
    assert profile_median_frames({"postprocess": {"median_filter_s": DESED_MEDIAN_S}}, 0.128) == 3
    assert profile_median_frames({"postprocess": {"median_filter_s": 0.0}}, 0.128) == 1


def test_a_short_event_survives_desed_seconds_and_not_seven_coarse_frames():
    probs = np.zeros((1, 40, 1))
    probs[0, 10:13, 0] = 0.9  # a 0.38 s bark at 128 ms frames
    assert smooth(probs, median_frames(DESED_MEDIAN_S, 0.128)).max() == pytest.approx(0.9)
    assert smooth(probs, 7).max() == 0.0  # 7 frames of 128 ms (0.9 s) erase it


def test_quick_keeps_its_seven_frames_and_dcase_its_seven():
    from sedbench.config import load_profile

    assert profile_median_frames(load_profile("quick"), 0.128) == 7
    assert profile_median_frames(load_profile("dcase2023"), 0.064) == 7


def test_a_short_clip_is_scored_over_its_audio_not_its_padding():
    """A clip shorter than the training length is padded with silence before the network; its scores
    stop at its end, so detections on the padding are not false alarms PSDS charges to the audio
    (on real DESED, validation clips of 7-9 s). The median filter sees only the clip's own frames."""
    from sedbench.evaluation.metrics import compute_psds1
    from sedbench.evaluation.postprocess import scores_from_probs

    hop, n_frames = 0.128, 78
    probs = np.zeros((2, n_frames, 2), np.float32)
    probs[:, 8:30, 0] = 0.7  # class a, 1.0-3.8 s, in both clips
    probs[:, 2:6, 1] = 0.5  # class b, 0.26-0.77 s, in both clips
    probs[1, 57:, 1] = 0.9  # and on the short clip's padding (7.296 s on)
    durations = {"full": 10.0, "short": 7.24}
    gt = {cid: [(1.024, 3.84, "a"), (0.256, 0.768, "b")] for cid in durations}

    cut = scores_from_probs(probs, list(durations), ["a", "b"], hop, median_window=7, durations=durations)
    whole = scores_from_probs(probs, list(durations), ["a", "b"], hop, median_window=7)
    assert cut["full"].equals(whole["full"])  # a full-length clip is scored bit for bit as before
    assert len(cut["short"]) == 57 and cut["short"]["offset"].iloc[-1] == 7.24
    assert cut["short"]["b"].iloc[-3:].max() == 0.0  # the filter did not pull the padding into the clip
    assert compute_psds1(whole, gt, durations) < 0.9 < compute_psds1(cut, gt, durations)


def test_the_benchmark_scores_each_clip_over_its_own_duration(tiny_bench, monkeypatch):
    """Checkpoint selection and a run's eval (Benchmark.score_split) cut each clip at its duration."""
    data = tiny_bench.evaluation
    short = data.clip_ids[0]
    monkeypatch.setitem(data.durations, short, 5.0)
    n, frames, classes = len(data.clip_ids), tiny_bench.encoder.n_out_frames, len(tiny_bench.classes)
    _, scores = tiny_bench.score_split(data, np.full((n, frames, classes), 0.5, np.float32),
                                       np.full((n, classes), 0.5, np.float32))
    assert scores[short]["offset"].iloc[-1] == 5.0
    assert len(scores[data.clip_ids[1]]) == frames
