"""The software stack sedbench runs on: the locked versions, and the one import that breaks first.

torch and torchaudio are ABI-coupled: a torchaudio wheel only loads against the torch release it was
built for (torchaudio 2.11.1's extension does not load against torch 2.11.0). A broken pair fails at
``import torchaudio`` with an OSError deep inside torch; ``import_torchaudio`` turns that into one
line that says what to do, for every command that computes features, and ``sedbench doctor``
reports it together with the rest of the machine.
"""

from __future__ import annotations

import platform
import re
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

from sedbench.config import REPO_ROOT
from sedbench.errors import SedbenchError, first_line

LOCK_FILE = REPO_ROOT / "requirements.lock"

# What a fresh install needs to do when the pair is broken; the same words in every message.
REINSTALL_FIX = "reinstall the locked stack: `rm -rf .venv && make setup` (or `sedbench doctor` for details)"


class StackError(SedbenchError):
    """The installed packages do not work together."""


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def torchaudio_problem() -> str | None:
    """None when torchaudio imports and its extension loads against the installed torch, else why not."""
    if "torchaudio" in sys.modules:
        return None
    try:
        import torchaudio  # noqa: F401
        import torchaudio.functional  # noqa: F401
    except (ImportError, OSError, RuntimeError) as exc:
        reason = first_line(exc)
        return (f"torchaudio {installed_version('torchaudio')} does not load against torch "
                f"{installed_version('torch')} ({reason})")
    return None


def import_torchaudio() -> ModuleType:
    """``import torchaudio``, or a one-line StackError naming the mismatch and the fix."""
    problem = torchaudio_problem()
    if problem is not None:
        raise StackError(f"{problem}; {REINSTALL_FIX}")
    import torchaudio

    return torchaudio


_LOCK_LINE = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def normalize(name: str) -> str:
    """PEP 503 name normalisation (``Sed_Scores.Eval`` -> ``sed-scores-eval``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK_FILE, *, all_markers: bool = False) -> dict[str, str]:
    """Pinned versions from a hashed ``uv pip compile`` lock: normalised name -> version.

    Only the lines whose environment marker holds on this interpreter are kept (the lock is
    universal: numpy, for one, has a pin per Python version), unless ``all_markers``.
    """
    from packaging.markers import Marker

    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _LOCK_LINE.match(line.strip())
        if not match:
            continue
        name, version, marker = match.groups()
        if marker and not all_markers and not Marker(marker).evaluate():
            continue
        pins.setdefault(normalize(name), version)
    return pins


def lock_drift(path: Path = LOCK_FILE) -> list[str]:
    """Locked packages whose installed version differs from the lock (``name installed != locked``)."""
    from packaging.version import Version

    drift = []
    for name, locked in sorted(read_lock(path).items()):
        have = installed_version(name)
        # compare parsed public versions: 0.1.1-2209072238 is 0.1.1.post2209072238; a local tag
        # (+cu130, +cpu) names the build of the same release, not another release
        if have is not None and Version(have).public != Version(locked).public:
            drift.append(f"{name} {have} (lock: {locked})")
    return drift


def cpu_name() -> str:
    """The processor's model name (/proc/cpuinfo), or what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def cpu_label(name: str | None = None, kernels: str | None = None) -> str:
    """A CPU and the vector kernels torch uses on it ("AMD EPYC (AVX2)"): with the thread count, what
    decides the bits of CPU training. Without arguments: this machine's."""
    if name is None and kernels is None:
        import torch

        name, kernels = cpu_name(), torch.backends.cpu.get_cpu_capability()
    name = name or "unknown CPU"
    return f"{name} ({kernels})" if kernels else name
