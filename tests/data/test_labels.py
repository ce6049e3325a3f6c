from __future__ import annotations

import numpy as np
import pytest

from sedbench.data.classes import CLASSES
from sedbench.data.features import DCASE, FeatureConfig
from sedbench.data.labels import LabelEncoder
from sedbench.errors import ConfigError, DataError


def test_output_resolution() -> None:
    enc = LabelEncoder(CLASSES, DCASE)
    assert enc.n_out_frames == 156
    assert enc.frame_hop_s == pytest.approx(0.064)
    assert LabelEncoder(CLASSES, FeatureConfig(hop_length=512)).n_out_frames == 78


def test_strong_alignment_matches_many_hot_encoder() -> None:
    enc = LabelEncoder(CLASSES, DCASE)
    y = enc.strong([(1.0, 2.0, "Dog")])
    assert y.shape == (156, 10) and y.dtype == np.float32
    dog = CLASSES.index("Dog")
    assert np.flatnonzero(y[:, dog]).tolist() == list(range(15, 32))
    assert y.sum() == 17


def test_strong_clips_at_clip_edges_and_overlaps() -> None:
    enc = LabelEncoder(CLASSES, DCASE)
    y = enc.strong([(9.5, 10.5, "Cat"), (-0.2, 0.1, "Cat"), (0.0, 10.0, "Speech"), (3.0, 4.0, "Speech")])
    cat, speech = CLASSES.index("Cat"), CLASSES.index("Speech")
    assert np.flatnonzero(y[:, cat]).tolist() == [0, 1] + list(range(148, 156))
    assert y[:, speech].sum() == 156 and y.max() == 1


def test_weak_and_time_conversion() -> None:
    enc = LabelEncoder(CLASSES, DCASE)
    w = enc.weak(["Dog", "Speech", "Dog"])
    assert w.shape == (10,) and w.sum() == 2 and w[CLASSES.index("Speech")] == 1
    np.testing.assert_allclose(enc.frames_to_time([0, 15, 32, 156, 200]), [0, 0.96, 2.048, 9.984, 10.0])
    assert enc.time_to_frame(1.0) == pytest.approx(15.625)


def test_unknown_label() -> None:
    with pytest.raises(DataError, match="'Kettle'.*Alarm_bell_ringing"):
        LabelEncoder(CLASSES).weak(["Kettle"])


def test_a_hop_whose_model_frames_miss_the_labels_is_one_line_with_a_hop_that_fits():
    # 160000 // 334 = 479 = 3 mod 4: 480 feature frames, models give 120 output frames, labels 119
    with pytest.raises(ConfigError, match=r"features: hop_length 334 gives 480 frames .* \(e\.g\. 333\)"):
        LabelEncoder(CLASSES, FeatureConfig(hop_length=334))
    fits = FeatureConfig(hop_length=333)
    assert fits.n_frames // 4 == LabelEncoder(CLASSES, fits).n_out_frames
