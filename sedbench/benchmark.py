"""A benchmark: a resolved profile plus its data, features, targets and device, built lazily.

Everything that every method shares lives here, so that no method can see different data.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sedbench.config import config_hash, load_profile
from sedbench.errors import ConfigError


class Benchmark:
    def __init__(self, config: dict[str, Any], results_root: str | Path = "results",
                 cache_root: str | Path = "cache", device: str | None = None, jobs: int = 1,
                 progress: bool = True) -> None:
        self.config = config
        self.name: str = config["name"]
        self.results_root = Path(results_root)
        self.cache_root = Path(cache_root)
        self.jobs = jobs
        self.progress = progress
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))

    @classmethod
    def from_profile(cls, profile: str, overrides: tuple[str, ...] = (), **kwargs: Any) -> Benchmark:
        from sedbench.training.engine import TrainConfig  # lazy: the engine imports the data layer

        config = load_profile(profile, overrides)
        # fail on a misspelt training option now, not after data and teachers have been built
        TrainConfig.from_dict(config.get("training") or {})
        teacher = {k: v for k, v in (config.get("teacher_training") or {}).items()
                   if k not in ("freq_mixstyle", "seed")}  # the teacher zoo's own options
        TrainConfig.from_dict({**(config.get("training") or {}), **teacher})
        return cls(config, **kwargs)

    # ------------------------------------------------------------------------------ data
    @cached_property
    def dataset_root(self) -> Path:
        data = self.config.get("data", {})
        source = data.get("source", "synth")
        if source == "synth":
            from sedbench.data.synth import ensure_dataset

            root = data.get("root")
            # generation uses every core whatever --jobs says: nothing else runs while it does
            return ensure_dataset(data.get("preset", "quick"), int(data.get("seed", 0)),
                                  root=Path(root) if root else None)
        if source == "desed":
            if "config" not in data:
                raise ConfigError(f"profile {self.name}: data.source desed needs data.config (a data-config YAML)")
            return Path(data["config"])
        raise ConfigError(f"profile {self.name}: data.source must be 'synth' or 'desed', not {source!r}")

    @cached_property
    def dataset(self):
        from sedbench.data.desed import load_dataset

        return load_dataset(self.dataset_root)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.dataset.classes)

    @property
    def data_fingerprint(self) -> str:
        return self.dataset.fingerprint

    @cached_property
    def environments(self) -> dict[str, tuple[str, ...]]:
        """Environment -> class subset, from the dataset (desed-synth) or the profile."""
        envs = self.config.get("environments") or getattr(self.dataset, "environment_classes", None)
        if not envs:
            from sedbench.data.classes import ENVIRONMENTS

            envs = ENVIRONMENTS
        return {name: tuple(classes) for name, classes in envs.items()}

    @cached_property
    def feature_cfg(self):
        from sedbench.data.features import FeatureConfig

        return FeatureConfig.from_dict(self.config["features"])

    @cached_property
    def feature_cache(self):
        from sedbench.data.features import FeatureCache

        return FeatureCache(self.dataset, self.feature_cfg, cache_dir=self.cache_root / "features")

    @cached_property
    def encoder(self):
        from sedbench.data.labels import LabelEncoder

        return LabelEncoder(self.classes, self.feature_cfg)

    @cached_property
    def training_data(self):
        from sedbench.data.batches import TrainingData

        data = TrainingData(self.dataset, self.feature_cache, self.encoder)
        if self.weak_val_share:
            data.hold_out(self.weak_val_rows(data))
        return data

    @property
    def weak_val_share(self) -> float:
        return float((self.config.get("training") or {}).get("weak_val_share") or 0.0)

    def weak_val_rows(self, data=None) -> np.ndarray:
        """Rows of the training data held out as weak validation (none when weak_val_share is 0)."""
        from sedbench.training.recipe import WEAK_VAL_SEED

        data = data if data is not None else self.training_data
        if not self.weak_val_share:
            return np.zeros(0, dtype=np.int64)
        return data.weak_validation_rows(self.weak_val_share, WEAK_VAL_SEED)

    @cached_property
    def weak_validation(self):
        """The weak validation split (clip labels only), or None when weak_val_share is 0."""
        from sedbench.data.batches import WeakValidation

        rows = self.weak_val_rows()
        return WeakValidation.from_rows(self.training_data, rows) if len(rows) else None

    @cached_property
    def validation(self):
        from sedbench.data.batches import EvalData

        return EvalData(self.dataset, self.feature_cache, self.encoder, "validation")

    @cached_property
    def evaluation(self):
        from sedbench.data.batches import EvalData

        return EvalData(self.dataset, self.feature_cache, self.encoder, "eval")

    def clip_environments(self) -> np.ndarray | None:
        envs = getattr(self.training_data, "environment", None)
        return None if envs is None else np.asarray(envs, dtype=object)

    def score_split(self, data, frame_probs: np.ndarray, clip_probs: np.ndarray, rows: np.ndarray | None = None,
                    which: tuple[str, ...] | None = None) -> tuple[dict[str, Any], dict]:
        """Metrics of predictions on a split (or on ``rows`` of it); returns (metrics, scores).

        The benchmark's scoring rule: checkpoint selection (training) and final numbers (runner) both
        call it, so every method and teacher is selected and scored the same way.
        """
        from sedbench.evaluation import compute_metrics, scores_from_probs

        clip_ids = list(data.clip_ids) if rows is None else [data.clip_ids[i] for i in rows]
        scores = scores_from_probs(frame_probs, clip_ids, list(self.classes), self.encoder.frame_hop_s)
        ground_truth = {c: data.ground_truth.get(c, []) for c in clip_ids}
        durations = {c: data.durations[c] for c in clip_ids}
        metrics = compute_metrics(scores, clip_probs, clip_ids, ground_truth, durations, list(self.classes),
                                  which=which)
        return metrics, scores

    # ---------------------------------------------------------------------------- identity
    @property
    def shared_settings(self) -> dict[str, Any]:
        """What every method shares; runs are comparable only when these are equal."""
        keys = ("data", "features", "student", "training", "teachers", "teacher_training")
        settings = {k: self.config.get(k) for k in keys}
        # one teacher per comparison: the default teacher(s) every single-teacher method distils from
        settings.update({k: self.config[k] for k in ("teacher", "teacher_set", "teacher_seeds") if k in self.config})
        return settings

    @cached_property
    def benchmark_hash(self) -> str:
        return config_hash({"settings": self.shared_settings, "data": self.data_fingerprint})

    @property
    def student_model(self) -> str:
        return self.config["student"]["model"]

    @property
    def student_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.config["student"].items() if k not in ("model", "max_params", "max_macs")}
