"""Synthetic detector outputs with known ground truth, for tests and benchmarks.

A clip gets 1-4 events; a system's frame probabilities are the true activity blurred by noise whose
strength ``noise`` sets how good the system is (0: perfect, large: random).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SyntheticEvalSet:
    clip_ids: list[str]
    classes: list[str]
    frame_hop_s: float
    ground_truth: dict[str, list[tuple[float, float, str]]]
    durations: dict[str, float]
    activity: np.ndarray  # (N, T, C) 0/1 frame targets

    def system(self, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Frame probabilities (N, T, C) and clip probabilities (N, C) of a system of given noise."""
        rng = np.random.default_rng(seed)
        logits = (self.activity * 2 - 1) * 3.0 + rng.normal(0.0, 3.0 * noise + 1e-3, self.activity.shape)
        frame = 1 / (1 + np.exp(-logits))
        present = self.activity.max(axis=1)
        clip_logits = (present * 2 - 1) * 2.0 + rng.normal(0.0, 2.0 * noise + 1e-3, present.shape)
        clip = 1 / (1 + np.exp(-clip_logits))
        return frame.astype(np.float32), clip.astype(np.float32)


def make_eval_set(
    n_clips: int = 50,
    n_classes: int = 10,
    n_frames: int = 156,
    clip_s: float = 10.0,
    seed: int = 0,
    empty_fraction: float = 0.0,
) -> SyntheticEvalSet:
    rng = np.random.default_rng(seed)
    classes = [f"class_{c}" for c in range(n_classes)]
    hop = clip_s / n_frames
    clip_ids = [f"clip_{i:05d}" for i in range(n_clips)]
    activity = np.zeros((n_clips, n_frames, n_classes), dtype=np.float32)
    ground_truth: dict[str, list[tuple[float, float, str]]] = {}
    for i, cid in enumerate(clip_ids):
        events = []
        if rng.random() >= empty_fraction:
            for c in rng.choice(n_classes, size=rng.integers(1, min(4, n_classes) + 1), replace=False):
                on = int(rng.integers(0, n_frames - 8))
                off = int(min(n_frames, on + rng.integers(6, n_frames // 2)))
                activity[i, on:off, c] = 1
                events.append((round(on * hop, 6), round(off * hop, 6), classes[c]))
        ground_truth[cid] = sorted(events)
    durations = {cid: clip_s for cid in clip_ids}
    return SyntheticEvalSet(clip_ids, classes, hop, ground_truth, durations, activity)


# Method -> (noise of its detector, parameters, MACs): a made-up benchmark with a visible trade-off.
DEMO_METHODS: dict[str, tuple[float, int, float]] = {
    "scratch": (1.2, 340_000, 3.1e8),
    "vanilla": (1.05, 340_000, 3.1e8),
    "dual": (0.95, 345_000, 3.2e8),
    "big-student": (0.85, 1_100_000, 9.3e8),
    "tiny": (1.5, 90_000, 0.8e8),
}


def write_synthetic_results(
    root,
    methods: dict[str, tuple[float, int, float]] | None = None,
    seeds: tuple[int, ...] = (1, 2, 3),
    benchmark: str = "synthetic",
    benchmark_hash: str = "synth0000000",
    n_clips: int = 40,
    n_classes: int = 4,
    seed: int = 0,
) -> list:
    """Complete run folders (record + scores + ground truth) for made-up methods: for tests and demos.

    Every seed of a method shares the detector's quality and differs in its noise draw.
    """
    from sedbench.evaluation.metrics import compute_metrics
    from sedbench.evaluation.postprocess import scores_from_probs
    from sedbench.evaluation.scores import write_scores
    from sedbench.results import run_dir, write_record

    es = make_eval_set(n_clips=n_clips, n_classes=n_classes, seed=seed, empty_fraction=0.1)
    dirs = []
    for m_idx, (method, (noise, params, macs)) in enumerate((methods or DEMO_METHODS).items()):
        for s in seeds:
            frame, clip = es.system(noise, seed=1000 * m_idx + s)
            scores = scores_from_probs(frame, es.clip_ids, es.classes, es.frame_hop_s, durations=es.durations)
            metrics = compute_metrics(scores, clip, es.clip_ids, es.ground_truth, es.durations, es.classes)
            d = run_dir(root, benchmark, method, s)
            write_scores(d / "scores", scores, es.ground_truth, es.durations, clip_probs=clip)
            latency = 2.0 + macs / 1e8
            write_record(
                d,
                {
                    "schema_version": 1,
                    "benchmark": benchmark,
                    "benchmark_hash": benchmark_hash,
                    "config_hash": f"{benchmark_hash}-{method}-{s}",
                    "method": method,
                    "seed": s,
                    "config": {},
                    "status": "complete",
                    "error": None,
                    "metrics": metrics,
                    "validation": {"psds1": metrics["psds1"]},
                    "complexity": {
                        "params": params,
                        "params_training_only": 0,
                        "macs": macs,
                        "latency": {"cpu_1_thread": {"model": {"median_ms": latency, "iqr_ms": 0.1, "cv": 0.02},
                                                     "with_features": None}},
                    },
                    "timings": {
                        "train_s": 60.0 + params / 1e4,
                        "eval_s": 1.0,
                        "total_s": 62.0 + params / 1e4,
                        "energy_kwh": None,
                    },
                    "environment": {},
                    "started": "2026-01-01T00:00:00+00:00",
                    "finished": "2026-01-01T00:10:00+00:00",
                },
            )
            dirs.append(d)
    return dirs


def fake_record(
    method: str,
    seed: int,
    psds1: float,
    *,
    benchmark: str = "synthetic",
    benchmark_hash: str = "synth0000000",
    status: str = "complete",
    params: int = 300_000,
    macs: float = 3e8,
    finished: str = "2026-01-01T00:10:00+00:00",
    **metrics: float,
) -> dict:
    """A schema-1 run record with given numbers and no score files: for table and store tests."""
    return {
        "schema_version": 1,
        "benchmark": benchmark,
        "benchmark_hash": benchmark_hash,
        "config_hash": f"{benchmark_hash}-{method}-{seed}",
        "method": method,
        "seed": seed,
        "config": {},
        "status": status,
        "error": None if status == "complete" else "boom",
        "metrics": {
            "psds1": psds1,
            "psds2": metrics.pop("psds2", psds1 / 2),
            **metrics,
            "per_class_psds1": {"a": psds1, "b": psds1 / 2},
        },
        "validation": {"psds1": psds1},
        "complexity": {
            "params": params,
            "macs": macs,
            "latency": {"cpu_1_thread": {"model": {"median_ms": macs / 1e8, "iqr_ms": 0.1, "cv": 0.01}}},
        },
        "timings": {"train_s": 100.0, "eval_s": 5.0, "total_s": 105.0, "energy_kwh": None},
        "environment": {},
        "started": finished,
        "finished": finished,
    }
