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
