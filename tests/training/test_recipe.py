"""The DCASE 2023 recipe: resolved profiles, the recipe switches, and a tiny run under them."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sedbench.config import CONFIG_DIR, load_profile, load_yaml
from sedbench.data.batches import TrainingData
from sedbench.errors import ConfigError
from sedbench.training.engine import TrainConfig

# DESED_task recipes/dcase2023_task4_baseline (confs/default.yaml, local/sed_trainer.py, train_sed.py)
DESED_SIZES = {"strong": 10000, "weak": 1578, "unlabeled": 14412}
DCASE_TABLE = {
    "ema_decay": 0.999,
    "steps": 200 * 118,  # 200 epochs x 118 steps
    "warmup_steps": 50 * 118,  # exponential, 50 epochs...
    "consistency_rampup_steps": 50 * 118,  # ...on the same scheduler as the consistency ramp-up
    "val_every": 118,  # every epoch
    "precision": "fp32",
    "selection": "dcase",  # weak-validation macro F1 + synthetic-validation intersection F1
    "weak_val_share": 0.1,  # 90 % train / 10 % weak validation
    "lr": 0.001,
    "batch_size": {"strong": 12, "weak": 12, "unlabeled": 24},
    "consistency_weight": 2.0,
    "mixup_prob": 0.5,
    "mixup_alpha": 0.2,
}


class DesedSizedData:
    """TrainingData's bookkeeping (kinds, held-out rows) at DESED's sizes, without audio."""

    def __init__(self):
        self.kind = np.array(sum(([k] * n for k, n in DESED_SIZES.items()), []), dtype=object)
        self.held_out = np.zeros(len(self.kind), dtype=bool)
        self.dataset = SimpleNamespace(root="desed")

    rows = TrainingData.rows
    hold_out = TrainingData.hold_out
    weak_validation_rows = TrainingData.weak_validation_rows
    epoch_length = TrainingData.epoch_length

    @property
    def n(self):
        return len(self.kind)

    environment = property(lambda self: np.full(self.n, None, dtype=object))


def resolved_training(profile: str) -> TrainConfig:
    config = load_profile(profile)
    cfg = TrainConfig.from_dict(config["training"])
    data = DesedSizedData()
    data.hold_out(data.weak_validation_rows(cfg.weak_val_share))
    return cfg.in_steps(data.epoch_length(cfg.batch_size))


def base_chain(profile: str) -> list[str]:
    chain, name = [], profile
    while name:
        chain.append(name)
        name = load_yaml(CONFIG_DIR / "benchmarks" / f"{name}.yaml").get("base")
    return chain


@pytest.mark.parametrize("profile", ["dcase2023", "full", "desed"])
def test_full_desed_and_dcase2023_resolve_to_the_dcase_recipe(profile):
    cfg = resolved_training(profile)
    for key, value in DCASE_TABLE.items():
        assert getattr(cfg, key) == value, (profile, key)
    assert cfg.steps_per_epoch == 118
    assert not cfg.clip_grad  # no gradient clipping
    config = load_profile(profile)
    assert config["student"]["dropout"] == 0.5
    assert config["teachers"]["crnn-large"]["dropout"] == 0.5
    assert config["features"] == {"sample_rate": 16000, "n_fft": 2048, "win_length": 2048, "hop_length": 256,
                                  "f_min": 0, "f_max": 8000, "n_mels": 128, "clip_duration": 10.0}
    assert "quick" not in base_chain(profile)  # nothing inherited from the CPU profile
    # the teachers train with the same recipe
    teacher = TrainConfig.from_dict({**config["training"], **config.get("teacher_training", {})})
    assert teacher.ema_decay == 0.999 and teacher.epochs == 200 and teacher.precision == "fp32"


def test_profiles_keep_their_own_data_and_student():
    assert load_profile("dcase2023")["student"]["model"] == "crnn"  # the baseline itself
    assert "max_params" not in load_profile("dcase2023")["student"]
    for profile in ("full", "desed"):
        student = load_profile(profile)["student"]
        assert student["model"] == "se-crnn" and student["max_params"] == 370806
    assert load_profile("full")["data"]["source"] == "synth"
    assert load_profile("desed")["data"] == {"source": "desed", "config": "configs/data/desed.yaml"}
    quick = TrainConfig.from_dict(load_profile("quick")["training"])  # quick keeps its CPU compromises
    assert (quick.ema_decay, quick.clip_grad, quick.precision, quick.selection) == (0.99, 5.0, "bf16", "psds1")


def test_desed_weak_split_is_1420_train_158_validation():
    data = DesedSizedData()
    rows = data.weak_validation_rows(0.1)
    assert len(rows) == 158 and set(data.kind[rows]) == {"weak"}
    assert np.array_equal(rows, data.weak_validation_rows(0.1))  # fixed seed
    data.hold_out(rows)
    assert data.epoch_length({"strong": 12, "weak": 12, "unlabeled": 24}) == 118


def test_schedule_in_epochs_or_steps_but_not_both():
    with pytest.raises(ConfigError, match="exactly one"):
        TrainConfig.from_dict({"epochs": 3})  # steps keeps its default
    with pytest.raises(ConfigError, match="exactly one"):
        TrainConfig.from_dict({"steps": None})
    cfg = TrainConfig.from_dict({"steps": None, "epochs": 2.5, "warmup_steps": None, "warmup_epochs": 0.5,
                                 "steps_per_epoch": 10})
    resolved = cfg.in_steps(epoch_length=999)  # steps_per_epoch wins over the data's epoch
    assert (resolved.steps, resolved.warmup_steps, resolved.epochs) == (25, 5, None)
    assert resolved.consistency_rampup_steps == cfg.consistency_rampup_steps
    assert TrainConfig().in_steps(7) == TrainConfig()


@pytest.mark.parametrize("values, match", [
    ({"precision": "fp16"}, "precision"),
    ({"selection": "f1"}, "selection"),
    ({"selection": "dcase"}, "weak_val_share"),
    ({"weak_val_share": 1.0}, "weak_val_share"),
])
def test_bad_recipe_options_are_refused(values, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_dict(values)


def test_autocast_only_for_bf16_on_cuda():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert TrainConfig(precision="bf16").autocast(cuda)
    assert not TrainConfig(precision="fp32").autocast(cuda)
    assert not TrainConfig(precision="bf16").autocast(cpu)


def test_tiny_run_under_the_dcase_recipe(tiny_root, monkeypatch):
    """Epoch-counted schedule, weak validation held out of every batch, dcase selection, no clipping."""
    from sedbench.runner import train_and_select
    from tests.conftest import make_tiny_bench

    overrides = {"training.steps": "null", "training.epochs": 2, "training.val_every": "null",
                 "training.val_every_epochs": 1, "training.selection": "dcase", "training.weak_val_share": 0.25,
                 "training.clip_grad": 0, "training.precision": "fp32"}
    bench = make_tiny_bench(tiny_root, name="tiny-dcase", **overrides)
    held = bench.weak_val_rows()
    assert len(held) == 2 and set(bench.training_data.kind[held]) == {"weak"}  # 25 % of 8 weak clips
    seen: list[int] = []
    real_batch = bench.training_data.batch
    monkeypatch.setattr(bench.training_data, "batch", lambda idx: (seen.extend(idx), real_batch(idx))[1])
    clipped = []
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda *a, **k: clipped.append(1))
    result = train_and_select(bench, "scratch", seed=0)
    epoch = bench.training_data.epoch_length({"strong": 2, "weak": 2, "unlabeled": 4})
    assert epoch == 3  # min(16 // 2, 6 // 2, 16 // 4)
    history = result.partitions[0].history
    assert [h["step"] for h in history] == [epoch, 2 * epoch]  # validated after each epoch
    assert all(isinstance(h["val_score"], float) and 0.0 <= h["val_score"] <= 2.0 for h in history)
    assert seen and not set(seen) & set(held.tolist())
    assert clipped == []
