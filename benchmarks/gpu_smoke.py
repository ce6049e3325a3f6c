"""GPU smoke test: the first thing to run on a machine with a GPU (the `device` tool's H100/H200).

1. `tiny` with every method (and control) on cuda: does each one train, evaluate and write a record?
2. `full` shortened (``--steps``, default 300) for scratch and vanilla on the real DCASE front end:
   step time, GPU busy share (NVML, sampled in a thread) and peak memory per run.

    python benchmarks/gpu_smoke.py --out /tmp/smoke            # prints a table; exit 1 on a failure
    python benchmarks/gpu_smoke.py --skip-full                 # only step 1

`full` generates DESED-sized data first (about 28k clips; every core of the machine): pass
``--full-preset quick`` to shorten step 2 to the quick dataset at DCASE resolution.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import torch

from sedbench.benchmark import Benchmark
from sedbench.config import load_profile
from sedbench.methods import method_names
from sedbench.runner import run_one
from sedbench.training.fit import train_teacher


class BusySampler:
    """GPU utilisation (%) sampled every 100 ms through NVML while a block runs."""

    def __init__(self, index: int = 0) -> None:
        self.samples: list[int] = []
        self._stop = threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self._nvml = pynvml
        except Exception:  # no NVML: the share is reported as unknown
            self._nvml = None

    def __enter__(self) -> BusySampler:
        if self._nvml is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self._nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu)
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        self._stop.set()

    @property
    def busy(self) -> str:
        return f"{sum(self.samples) / len(self.samples):.0f} %" if self.samples else "n/a"


def bench_for(profile: str, root: Path, overrides: tuple[str, ...] = ()) -> Benchmark:
    config = load_profile(profile, overrides)
    config["data"]["root"] = str(root / "data" / profile)
    return Benchmark(config, results_root=root / "results", cache_root=root / "cache", device="cuda",
                     progress=False)


def timed_run(bench: Benchmark, method: str) -> dict:
    torch.cuda.reset_peak_memory_stats()
    with BusySampler() as busy:
        start = time.perf_counter()
        record = run_one(bench, method, seed=0)
        wall = time.perf_counter() - start
    train_s = (record.get("timings") or {}).get("train_s") or float("nan")
    steps = int(bench.config["training"]["steps"])
    return {"method": method, "status": record["status"], "error": record.get("error"), "wall_s": wall,
            "step_ms": 1000 * train_s / steps, "busy": busy.busy,
            "peak_gib": torch.cuda.max_memory_allocated() / 2**30,
            "psds1": (record.get("metrics") or {}).get("psds1")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/sedbench-smoke"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--full-preset", default="full")
    parser.add_argument("--skip-full", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: this smoke test needs a GPU")
        return 1
    print(f"device {torch.cuda.get_device_name(0)}, torch {torch.__version__}, cuda {torch.version.cuda}")
    rows = []
    tiny = bench_for("tiny", args.out)
    for name in tiny.config["teachers"]:
        train_teacher(tiny, name)
    for method in method_names():
        rows.append({"stage": "tiny", **timed_run(tiny, method)})
    if not args.skip_full:
        overrides = (f"training.steps={args.steps}", f"training.val_every={args.steps}",
                     f"teacher_training.steps={args.steps}", f"teacher_training.val_every={args.steps}",
                     f"data.preset={args.full_preset}")
        full = bench_for("full", args.out, overrides)
        start = time.perf_counter()
        full.dataset  # noqa: B018 - generation, timed on its own
        print(f"full data ({args.full_preset}): {time.perf_counter() - start:.0f} s")
        for method in ("scratch", "vanilla"):
            rows.append({"stage": f"full {args.steps} steps", **timed_run(full, method)})
    print(f"{'stage':<18} {'method':<20} {'status':<9} {'step ms':>8} {'GPU busy':>9} {'peak GiB':>9} {'psds1':>6}")
    for r in rows:
        psds1 = f"{r['psds1']:.3f}" if r["psds1"] is not None else "-"
        print(f"{r['stage']:<18} {r['method']:<20} {r['status']:<9} {r['step_ms']:>8.1f} {r['busy']:>9} "
              f"{r['peak_gib']:>9.2f} {psds1:>6}")
        if r["error"]:
            print(f"    {r['error']}")
    return 0 if all(r["status"] == "complete" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
