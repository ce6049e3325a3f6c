from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sedbench.data.batches import EvalData, MixedBatchSampler, TrainingData
from sedbench.data.classes import CLASSES
from sedbench.data.desed import load_dataset
from sedbench.data.features import FeatureCache, FeatureConfig
from sedbench.data.labels import LabelEncoder
from sedbench.errors import DataError

CFG = FeatureConfig(n_fft=1024, win_length=1024, hop_length=512, n_mels=64)


@pytest.fixture
def parts(synth_root: Path, tmp_path: Path):
    ds = load_dataset(synth_root)
    cache = FeatureCache(ds, CFG, cache_dir=tmp_path / "cache", progress=False)
    return ds, cache, LabelEncoder(ds.classes, CFG)


def test_training_rows(parts) -> None:
    ds, cache, enc = parts
    data = TrainingData(ds, cache, enc)
    assert len(data) == 4 + 3 + 5
    assert data.kind.tolist() == ["strong"] * 4 + ["weak"] * 3 + ["unlabeled"] * 5
    assert data.clip_ids[0] == "train_strong/train_strong_0000.wav"
    assert data.clip_ids[4] == "train_weak/train_weak_0000.wav"
    assert data.environment[1] == "bathroom"
    assert data.strong.shape == (12, 78, 10) and data.weak.shape == (12, 10)
    # weak derived from the strong labels; weak rows get no frame targets; unlabeled rows nothing
    assert data.weak[2].nonzero()[0].tolist() == [CLASSES.index("Dishes"), CLASSES.index("Frying")]
    assert data.strong[4:].sum() == 0 and data.weak[7:].sum() == 0
    assert data.weak[4].nonzero()[0].tolist() == [CLASSES.index("Dog"), CLASSES.index("Speech")]
    np.testing.assert_array_equal(data.strong[0], enc.strong([(1.0, 2.0, "Dog"), (0.5, 4.25, "Speech")]))
    assert data.rows(kind="weak").tolist() == [4, 5, 6]
    assert data.rows(environment="kitchen").tolist() == [0, 3, 6, 9]


def test_batch_dict(parts) -> None:
    ds, cache, enc = parts
    data = TrainingData(ds, cache, enc)
    idx = [9, 0, 5, 2]  # unsorted and across parts
    b = data.batch(idx)
    assert b["features"].shape == (4, 64, 313) and b["features"].dtype == torch.float32
    assert b["strong"].shape == (4, 78, 10) and b["weak"].shape == (4, 10)
    assert b["index"].dtype == torch.long and b["index"].tolist() == idx
    assert b["is_strong"].tolist() == [False, True, False, True]
    assert b["is_weak"].tolist() == [False, False, True, False]
    assert b["is_unlabeled"].tolist() == [True, False, False, False]
    np.testing.assert_array_equal(b["features"][0].numpy(), cache.get("train_unlabeled")[2])
    np.testing.assert_array_equal(b["features"][2].numpy(), cache.get("train_weak")[1])
    np.testing.assert_array_equal(b["features"][3].numpy(), cache.get("train_strong")[2])


def test_sampler_ratio_order_and_determinism(parts) -> None:
    data = TrainingData(*parts)
    sampler = MixedBatchSampler(data, {"strong": 2, "weak": 2, "unlabeled": 4}, seed=3, steps=10)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 10
    for rows in batches:
        assert [data.kind[r] for r in rows] == ["strong"] * 2 + ["weak"] * 2 + ["unlabeled"] * 4
    assert batches == list(
        MixedBatchSampler(data, {"strong": 2, "weak": 2, "unlabeled": 4}, seed=3, steps=10)
    )
    assert batches != list(
        MixedBatchSampler(data, {"strong": 2, "weak": 2, "unlabeled": 4}, seed=4, steps=10)
    )
    # epochs: every strong row once per 2 steps (4 rows, 2 per step)
    for step in range(0, 10, 2):
        assert sorted(batches[step][:2] + batches[step + 1][:2]) == [0, 1, 2, 3]
    assert list(sampler.iter_from(7)) == batches[7:]


def test_default_batch_sizes(parts) -> None:
    data = TrainingData(*parts)
    rows = next(iter(MixedBatchSampler(data, seed=0, steps=1)))
    kinds = [data.kind[r] for r in rows]
    assert kinds == ["strong"] * 6 + ["weak"] * 6 + ["unlabeled"] * 12


def test_restrict_to_environment(parts) -> None:
    data = TrainingData(*parts)
    sampler = MixedBatchSampler(data, {"strong": 2, "weak": 1, "unlabeled": 2}, seed=0, steps=6)
    kitchen = data.rows(environment="kitchen")
    sub = sampler.restrict_to(kitchen)
    for rows in sub:
        assert set(rows) <= set(kitchen.tolist())
        assert [data.kind[r] for r in rows] == ["strong"] * 2 + ["weak"] + ["unlabeled"] * 2
    with pytest.raises(DataError, match="no strong clips"):
        sampler.restrict_to(data.rows(kind="weak"))


def test_training_needs_train_strong(desed_config: dict, tmp_path: Path) -> None:
    cfg = dict(desed_config, splits={k: v for k, v in desed_config["splits"].items() if k != "train_strong"})
    ds = load_dataset(cfg)
    with pytest.raises(DataError, match="train_strong"):
        TrainingData(
            ds, FeatureCache(ds, CFG, cache_dir=tmp_path / "c", progress=False), LabelEncoder(CLASSES, CFG)
        )


def test_eval_data(desed_config: dict, tmp_path: Path) -> None:
    ds = load_dataset(desed_config)
    cache = FeatureCache(ds, CFG, cache_dir=tmp_path / "cache", progress=False)
    ev = EvalData(ds, cache, LabelEncoder(ds.classes, CFG), "eval")
    assert ev.clip_ids == ["Y00pbt6aJV8Y_350.000_360.000", "Y05kmvM0gUA4_30.000_40.000"]
    assert ev.ground_truth == {
        "Y00pbt6aJV8Y_350.000_360.000": [(1.2, 3.4, "Alarm_bell_ringing")],
        "Y05kmvM0gUA4_30.000_40.000": [],
    }
    assert ev.durations == {"Y00pbt6aJV8Y_350.000_360.000": 10.0, "Y05kmvM0gUA4_30.000_40.000": 10.0}
    batches = list(ev.iter_batches(batch_size=1))
    assert len(batches) == 2 and batches[1]["clip_ids"] == ["Y05kmvM0gUA4_30.000_40.000"]
    assert batches[0]["features"].shape == (1, 64, 313) and batches[1]["index"].tolist() == [1]
    assert batches[1]["strong"].sum() == 0 and batches[0]["weak"].sum() == 1
    with pytest.raises(DataError, match="strong labels"):
        EvalData(ds, cache, LabelEncoder(ds.classes, CFG), "train_weak")
