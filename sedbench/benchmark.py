"""A benchmark: a resolved profile plus its data, features, targets and device, built lazily.

Everything that every method shares lives here, so that no method can see different data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sedbench.config import config_hash, load_profile, merge, student_model, teacher_recipe
from sedbench.errors import ConfigError, DataError


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup (container) CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def default_threads(jobs: int = 1) -> int:
    """Torch CPU threads per process when ``jobs`` processes share the machine."""
    return max(1, available_cpus() // max(1, jobs))


class Benchmark:
    """``threads``: torch intra-op threads of every training in this process (default: the CPUs
    divided by ``jobs``). On CPU the thread count changes the bits of a trained model (reductions are
    split differently), so it is set explicitly, recorded, and part of what keys teachers and runs.
    ``dry_run``: nothing is generated or written (a dataset that does not exist yet stays absent).
    """

    def __init__(self, config: dict[str, Any], results_root: str | Path = "results",
                 cache_root: str | Path = "cache", device: str | None = None, jobs: int = 1,
                 progress: bool = True, threads: int | None = None, dry_run: bool = False) -> None:
        self.config = config
        self.name: str = config["name"]
        self.results_root = Path(results_root)
        self.cache_root = Path(cache_root)
        self.jobs = jobs
        self.progress = progress
        from sedbench.training.engine import resolve_device  # lazy: the engine imports the data layer

        self.device = resolve_device(device)
        self.threads = int(threads) if threads else default_threads(jobs)
        self.dry_run = dry_run
        self.teacher_outcomes: dict[str, str] = {}  # run_matrix: "teacher NAME" -> trained | reused | failed
        self.teacher_errors: dict[str, str] = {}  # run_matrix: "teacher NAME" -> why it failed

    @classmethod
    def from_profile(cls, profile: str, overrides: tuple[str, ...] = (), **kwargs: Any) -> Benchmark:
        from sedbench.training.engine import TrainConfig  # lazy: the engine imports the data layer

        config = load_profile(profile, overrides)
        # fail on a misspelt training option now, not after data and teachers have been built
        TrainConfig.from_dict(config.get("training") or {})
        for name in config.get("teachers") or {}:  # and each teacher's recipe
            TrainConfig.from_dict(merge(config.get("training") or {}, teacher_recipe(config, name)))
        from sedbench.data.features import FeatureConfig
        from sedbench.data.labels import output_frames

        output_frames(FeatureConfig.from_dict(config["features"]))  # and a front end the labels cannot follow
        return cls(config, **kwargs)

    # ------------------------------------------------------------------------------ data
    @cached_property
    def dataset_root(self) -> Path:
        data = self.config.get("data", {})
        source = data.get("source", "synth")
        if source == "synth":
            from sedbench.data.synth import ensure_dataset

            root = data.get("root")
            if self.dry_run and not self.dataset_exists:
                raise DataError(f"{self.synth_root}: not generated yet (a dry run generates nothing)")
            # generation uses every core whatever --jobs says: nothing else runs while it does
            return ensure_dataset(data.get("preset", "quick"), int(data.get("seed", 0)),
                                  root=Path(root) if root else None)
        if source == "desed":
            if "config" not in data:
                raise ConfigError(f"profile {self.name}: data.source desed needs data.config (a data-config YAML)")
            return Path(data["config"])
        raise ConfigError(f"profile {self.name}: data.source must be 'synth' or 'desed', not {source!r}")

    @property
    def synth_root(self) -> Path | None:
        """Where the profile's desed-synth dataset lives (None for real DESED)."""
        data = self.config.get("data", {})
        if data.get("source", "synth") != "synth":
            return None
        from sedbench.data.synth import default_root

        root = data.get("root")
        return Path(root) if root else default_root(data.get("preset", "quick"), int(data.get("seed", 0)))

    @property
    def dataset_exists(self) -> bool:
        """False only for a desed-synth dataset that has not been generated (a dry run reports it)."""
        from sedbench.data.synth import _is_match, read_manifest

        data = self.config.get("data", {})
        root = self.synth_root
        if root is None:
            return True
        return _is_match(read_manifest(root), data.get("preset", "quick"), int(data.get("seed", 0)))

    @cached_property
    def dataset(self):
        from sedbench.data.desed import load_dataset

        dataset = load_dataset(self.dataset_root)
        if not self.dry_run:
            self.check_audio(dataset)
        return dataset

    def check_audio(self, dataset) -> None:
        """The audio checks of `sedbench data check`, once per dataset fingerprint (a truncated or
        unreadable file fails here, before any training)."""
        from sedbench.data.check import ensure_checked

        ensure_checked(dataset, self.cache_root, int(self.config.get("features", {}).get("sample_rate", 16000)),
                       progress=self.progress)

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

    @property
    def median_window(self) -> int:
        """The post-processing median filter in output frames (``postprocess.median_filter_s``)."""
        from sedbench.evaluation.postprocess import profile_median_frames

        return profile_median_frames(self.config, self.encoder.frame_hop_s)

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
        from sedbench.evaluation import scores_from_probs

        clip_ids = list(data.clip_ids) if rows is None else [data.clip_ids[i] for i in rows]
        durations = {c: data.durations[c] for c in clip_ids}
        scores = scores_from_probs(frame_probs, clip_ids, list(self.classes), self.encoder.frame_hop_s,
                                   self.median_window, durations)
        return self.metrics_of(data, scores, clip_probs, clip_ids, which), scores

    def metrics_of(self, data, scores: dict, clip_probs: np.ndarray, clip_ids: list[str],
                   which: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The metrics of score DataFrames (and clip probabilities, rows in ``clip_ids`` order)."""
        from sedbench.evaluation import compute_metrics

        ground_truth = {c: data.ground_truth.get(c, []) for c in clip_ids}
        durations = {c: data.durations[c] for c in clip_ids}
        return compute_metrics(scores, clip_probs, clip_ids, ground_truth, durations, list(self.classes),
                               which=which)

    # ---------------------------------------------------------------------------- identity
    @property
    def shared_settings(self) -> dict[str, Any]:
        """What every method shares; runs are comparable only when these are equal."""
        keys = ("data", "features", "student", "training", "teachers", "teacher_training", "environments")
        settings = {k: self.config.get(k) for k in keys}
        zoo = settings["teacher_training"] or {}
        if "seed" in zoo and zoo["seed"] == 0:
            # seed 0 is the default: named or not, one set of teachers (as their keys say), one group
            settings["teacher_training"] = {k: v for k, v in zoo.items() if k != "seed"}
        # one teacher per comparison: the default teacher(s) every single-teacher method distils from
        # (keys added later enter only when a profile sets them, so older records keep their hash)
        settings.update({k: self.config[k] for k in ("teacher", "teacher_set", "teacher_seeds", "postprocess")
                         if k in self.config})
        return settings

    @property
    def execution(self) -> dict[str, Any]:
        """How training executes, beyond the config: it changes the bits of what is trained. Part of
        the key of every teacher and run (a cache never serves a model trained another way)."""
        cpu = self.device.type == "cpu"
        return {"device": self.device.type, "threads": self.threads if cpu else None, "torch": torch.__version__}

    @contextmanager
    def torch_threads(self) -> Iterator[None]:
        """Train with exactly ``self.threads`` intra-op threads (restored afterwards)."""
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    @cached_property
    def benchmark_hash(self) -> str:
        return config_hash({"settings": self.shared_settings, "data": self.data_fingerprint})

    @property
    def student_model(self) -> str:
        return self.config["student"]["model"]

    @property
    def student_kwargs(self) -> dict[str, Any]:
        return student_model(self.config)[1]

    def build_student(self) -> torch.nn.Module:
        """The profile's student, untrained, with its options (stem_stride, rnn_layers, ...)."""
        from sedbench.models import build_model  # lazy, as the data and training layers above

        return build_model(self.student_model, n_mels=self.feature_cfg.n_mels, n_classes=len(self.classes),
                           **self.student_kwargs)
