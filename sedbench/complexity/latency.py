"""Latency and peak memory of one inference at batch 1, with and without the feature front end.

CPU timings use ``time.perf_counter`` around each call with a fixed thread count (restored
afterwards), plus the process CPU time of each call; CUDA timings use events and synchronise per
run. Machines are shared, so every
figure comes with its spread: median, IQR and coefficient of variation (std / mean).
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn


def summarize(seconds: list[float]) -> dict:
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    q1, median, q3 = np.percentile(ms, [25, 50, 75])
    low, high = median_ci(ms)
    mean = float(ms.mean())
    std = float(ms.std(ddof=1)) if len(ms) > 1 else 0.0
    return {
        "median_ms": float(median),
        "median_ci95_ms": [low, high],
        "q1_ms": float(q1),
        "q3_ms": float(q3),
        "iqr_ms": float(q3 - q1),
        "mean_ms": mean,
        "std_ms": std,
        "cv": std / mean if mean > 0 else 0.0,
        "min_ms": float(ms.min()),
        "runs": len(ms),
    }


def median_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval of the median from order statistics (binomial(n, 1/2)).

    It assumes independent runs; on a machine whose speed drifts it is too narrow, which is why the
    repeat check in benchmarks/latency.py compares whole series rather than trusting it.
    """
    from scipy.stats import binom

    v = np.sort(np.asarray(values, dtype=np.float64))
    n = len(v)
    lo = int(binom.ppf((1 - level) / 2, n, 0.5))
    hi = min(n - 1, int(binom.isf((1 - level) / 2, n, 0.5)))
    return float(v[max(lo - 1, 0)]), float(v[hi])


def warm_up(fn: Callable[[], object], calls: int = 10, window: int = 10, tolerance: float = 0.05,
            max_seconds: float = 10.0) -> int:
    """Call ``fn`` at least ``calls`` times, then until two consecutive windows have medians within
    ``tolerance`` (allocator pools, oneDNN primitive caches and CPU clocks settle at their own pace);
    returns the number of calls made. Capped at ``max_seconds`` so a noisy machine still finishes."""
    times: list[float] = []
    deadline = time.perf_counter() + max_seconds
    while True:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if len(times) >= max(calls, 2 * window):
            last, before = np.median(times[-window:]), np.median(times[-2 * window:-window])
            if abs(last - before) <= tolerance * before or time.perf_counter() > deadline:
                return len(times)


def time_cpu(fn: Callable[[], object], runs: int = 50, warmup: int = 10, threads: int | None = None) -> dict:
    """Time ``fn`` on CPU with ``threads`` intra-op threads (None: all cores)."""
    previous = torch.get_num_threads()
    n = threads or os.cpu_count() or previous
    torch.set_num_threads(n)
    try:
        with torch.inference_mode():
            warmup_calls = warm_up(fn, warmup)
            seconds, cpu_seconds = [], []
            for _ in range(runs):
                start, cpu_start = time.perf_counter(), time.process_time()
                fn()
                seconds.append(time.perf_counter() - start)
                cpu_seconds.append(time.process_time() - cpu_start)
    finally:
        torch.set_num_threads(previous)
    # CPU time of the process is the figure that survives busy neighbours (it excludes time spent
    # descheduled); with several threads it also counts their spinning, so read it at 1 thread.
    cpu = summarize(cpu_seconds)
    return {
        **summarize(seconds),
        "cpu_median_ms": cpu["median_ms"],
        "cpu_iqr_ms": cpu["iqr_ms"],
        "cpu_cv": cpu["cv"],
        "threads": n,
        "warmup": warmup_calls,
        "device": "cpu",
    }


def time_cuda(fn: Callable[[], object], runs: int = 50, warmup: int = 10) -> dict:
    """Time ``fn`` on the current CUDA device with events (kernel time, not launch time)."""
    seconds = []
    with torch.inference_mode():
        warmup_calls = warm_up(lambda: (fn(), torch.cuda.synchronize()), warmup)
        for _ in range(runs):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            seconds.append(start.elapsed_time(end) / 1e3)
    return {**summarize(seconds), "warmup": warmup_calls, "device": torch.cuda.get_device_name()}


def peak_memory_cpu(fn: Callable[[], object]) -> int | None:
    """Peak bytes allocated by one call above what was live before it (weights and input excluded).

    tracemalloc cannot see torch's allocator and ru_maxrss only grows, so we replay the allocation
    events of the profiler (profile_memory=True) and take the running maximum.
    """
    os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # silence kineto's 'no GPU' chatter
    from torch.profiler import ProfilerActivity, profile

    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the profiler warns about its event cycles on every use
            with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
                fn()
        events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    except Exception:  # profiler internals are not a stable API; memory is a nice-to-have
        return None
    current = peak = 0
    for e in sorted(events, key=lambda e: e.start_ns()):
        current += e.nbytes()
        peak = max(peak, current)
    return peak


def peak_memory_cuda(fn: Callable[[], object]) -> int:
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def measure_latency(
    model: nn.Module,
    feature_cfg: object,
    runs: int = 50,
    warmup: int = 10,
    threads: tuple[int | None, ...] = (1, None),
    cuda: bool | None = None,
) -> dict:
    """Latency of one 10 s clip at batch 1: ``model`` alone and ``with_features`` (waveform in).

    Returns ``{"cpu_1_thread": {"model": stats, "with_features": stats}, "cpu_all_threads": ...,
    "cuda": ... (when available), "peak_memory_bytes": {"cpu": ..., "cuda": ...}}``; runs on a
    deep copy in eval mode so the caller's model keeps its mode and device.
    """
    from sedbench.data.features import logmel  # lazy: the front end is another part's module

    cfg = feature_config(feature_cfg)
    gen = torch.Generator().manual_seed(0)
    wave = 0.1 * torch.randn(1, cfg.n_samples, generator=gen)
    feats = logmel(wave, cfg)
    net = copy.deepcopy(model).eval().cpu()
    result: dict = {}
    for n in threads:
        key = "cpu_1_thread" if n == 1 else ("cpu_all_threads" if n is None else f"cpu_{n}_threads")
        result[key] = {
            "model": time_cpu(lambda: net(feats), runs, warmup, n),
            "with_features": time_cpu(lambda: net(logmel(wave, cfg)), runs, warmup, n),
        }
    memory = {"cpu": peak_memory_cpu(lambda: net(feats))}
    if cuda is None:
        cuda = torch.cuda.is_available()
    if cuda:
        net_gpu, wave_gpu, feats_gpu = net.cuda(), wave.cuda(), feats.cuda()
        result["cuda"] = {
            "model": time_cuda(lambda: net_gpu(feats_gpu), runs, warmup),
            "with_features": time_cuda(lambda: net_gpu(logmel(wave_gpu, cfg)), runs, warmup),
        }
        memory["cuda"] = peak_memory_cuda(lambda: net_gpu(feats_gpu))
    result["peak_memory_bytes"] = memory
    return result


def feature_config(cfg: object = None):
    """A ``FeatureConfig`` from None (DCASE), a mapping (a profile's ``features:``) or a config."""
    from sedbench.data.features import FeatureConfig

    if cfg is None:
        return FeatureConfig()
    if isinstance(cfg, FeatureConfig):
        return cfg
    if isinstance(cfg, dict):
        return FeatureConfig.from_dict(cfg)
    return FeatureConfig.from_dict({k: getattr(cfg, k) for k in FeatureConfig.__dataclass_fields__})

