"""``sedbench doctor``: is this machine ready to run the benchmark, and how fast will it be?

Each check returns a ``Check`` (ok / warn / fail, what was found, and for a failure the one-line
fix). A failure means a command would break (a torchaudio that does not load, a package that
drifted from the lock, too little disk); a warning means it would run, slowly or unusually.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

from sedbench import stack

# Disk a quick benchmark needs (data ~2.7 GB of WAV + features + teachers + results), in GiB.
QUICK_DISK_GIB = 4.0
STACK = ("torch", "torchaudio", "sed_scores_eval", "numpy", "scipy", "pandas", "statsmodels", "setuptools")


@dataclass
class Check:
    name: str
    status: str  # "ok" | "warn" | "fail"
    detail: str
    fix: str = ""


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def free_gib(path: Path) -> float:
    """Free space on the file system that ``path`` is (or will be) on."""
    from sedbench.plan import free_bytes

    return free_bytes(path) / 2**30


def check_stack() -> list[Check]:
    checks = []
    versions = ", ".join(f"{name} {stack.installed_version(name) or 'missing'}" for name in STACK)
    checks.append(Check("python", "ok", f"{platform.python_version()} ({platform.machine()})"))
    problem = stack.torchaudio_problem()
    if problem:
        checks.append(Check("torchaudio", "fail", problem, stack.REINSTALL_FIX))
    else:
        checks.append(Check("torchaudio", "ok", "extension loads against the installed torch"))
    if stack.LOCK_FILE.is_file():
        drift = stack.lock_drift()
        if drift:
            checks.append(Check("lock", "fail", f"installed packages differ from {stack.LOCK_FILE.name}: "
                                + "; ".join(drift[:5]) + (" ..." if len(drift) > 5 else ""),
                                stack.REINSTALL_FIX))
        else:
            checks.append(Check("lock", "ok", f"every installed package matches {stack.LOCK_FILE.name}"))
    checks.append(Check("stack", "ok", versions))
    return checks


def check_compute() -> list[Check]:
    import torch

    checks = []
    flags = cpu_flags()
    capability = torch.backends.cpu.get_cpu_capability()
    extras = [name for name, flag in (("AVX-512", "avx512f"), ("AVX512-BF16", "avx512_bf16"),
                                      ("AMX-BF16", "amx_bf16")) if flag in flags]
    checks.append(Check("cpu", "ok" if capability != "DEFAULT" else "warn",
                        f"{os.cpu_count()} cores, torch kernels {capability}; "
                        f"{', '.join(extras) or 'no AVX-512/AMX'}"))
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    checks.append(Check("threads", "ok", f"torch uses {torch.get_num_threads()} intra-op threads; "
                        f"{affinity} cores available to this process"))
    if torch.cuda.is_available():
        names = [f"{torch.cuda.get_device_name(i)} "
                 f"({torch.cuda.get_device_properties(i).total_memory / 2**30:.0f} GiB)"
                 for i in range(torch.cuda.device_count())]
        checks.append(Check("device", "ok", f"cuda {torch.version.cuda}: " + "; ".join(names)
                            + " -> default profile full"))
    else:
        checks.append(Check("device", "ok", "no GPU: runs on the CPU, default profile quick"))
    return checks


def check_paths(data: Path, cache: Path, results: Path, need_gib: float = QUICK_DISK_GIB) -> list[Check]:
    checks = []
    for label, path in (("data", data), ("cache", cache), ("results", results)):
        checks.append(Check(label, "ok", f"{path.resolve()}"))
    free = free_gib(data)
    if free < need_gib:
        checks.append(Check("disk", "fail", f"{free:.1f} GiB free under {data.resolve()}",
                            f"free at least {need_gib:.0f} GiB there, or point --results/--cache elsewhere"))
    else:
        checks.append(Check("disk", "ok", f"{free:.1f} GiB free (quick needs about {need_gib:.0f} GiB)"))
    return checks


def diagnose(data: Path = Path("data"), cache: Path = Path("cache"), results: Path = Path("results")) -> list[Check]:
    """Every check, stack first (a broken torchaudio is the most common failure of a fresh install)."""
    return check_stack() + check_compute() + check_paths(data, cache, results)
