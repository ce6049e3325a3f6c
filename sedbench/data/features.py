"""Log-mel features exactly as the DCASE 2023 Task 4 baseline, and their on-disk cache.

Audio is read with soundfile (torchaudio.load would need torchcodec). Documented behaviour for
non-standard files: multi-channel audio is down-mixed to mono (channel mean), other sample rates
are resampled to ``FeatureConfig.sample_rate`` with torchaudio.functional.resample, and every clip
is zero-padded or truncated to ``clip_duration`` (as DESED_task's pad_audio does).

The cache holds one float32 array (N, n_mels, n_frames) per split, in the split's file order,
under ``cache_dir/<dataset fingerprint + config hash>/<split>.npy``. It is built once (a file lock
serialises concurrent builders; each array is written to a temporary file and renamed into place)
and memory-mapped on every later access.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sedbench.config import config_hash
from sedbench.errors import ConfigError, unreadable_audio
from sedbench.io import atomic_path, atomic_write_json
from sedbench.stack import import_torchaudio

# a torchaudio that does not load against torch is one line that says what to do, not a traceback
torchaudio = import_torchaudio()

CACHE_VERSION = 1  # bump when the feature computation changes, to invalidate old caches


@dataclass(frozen=True)
class FeatureConfig:
    sample_rate: int = 16000
    n_fft: int = 2048
    win_length: int = 2048
    hop_length: int = 256
    f_min: float = 0
    f_max: float = 8000
    n_mels: int = 128
    clip_duration: float = 10.0

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> FeatureConfig:
        """Build from a profile's ``features:`` mapping; unknown keys are an error, missing ones default."""
        d = dict(d or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            valid = ", ".join(sorted(names))
            raise ConfigError(f"features.{unknown[0]}: unknown feature option; use some of {valid}")
        cfg = cls(**d)
        if cfg.win_length > cfg.n_fft or cfg.hop_length <= 0 or cfg.f_max > cfg.sample_rate / 2:
            raise ConfigError(
                f"features: inconsistent settings {cfg}; need win_length <= n_fft, hop > 0, f_max <= sr/2"
            )
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def n_samples(self) -> int:
        return int(round(self.clip_duration * self.sample_rate))

    @property
    def n_frames(self) -> int:
        # torch.stft with center=True: one frame per hop plus one
        return self.n_samples // self.hop_length + 1


DCASE = FeatureConfig()  # the DCASE 2023 baseline settings: 626 frames per 10 s


# ------------------------------------------------------------------------------------ log-mel


@lru_cache(maxsize=8)
def _frontend(cfg: FeatureConfig, device: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=cfg.sample_rate,
        n_fft=cfg.n_fft,
        win_length=cfg.win_length,
        hop_length=cfg.hop_length,
        f_min=cfg.f_min,
        f_max=cfg.f_max,
        n_mels=cfg.n_mels,
        window_fn=torch.hamming_window,
        wkwargs={"periodic": False},
        power=1,
    )
    to_db = torchaudio.transforms.AmplitudeToDB(stype="amplitude")
    to_db.amin = 1e-5  # as the baseline (librosa's amin)
    return mel.to(device), to_db.to(device)


def logmel(waveform: torch.Tensor, cfg: FeatureConfig = DCASE) -> torch.Tensor:
    """(..., samples) -> (..., n_mels, frames): the DCASE 2023 baseline front end + instance min-max."""
    mel, to_db = _frontend(cfg, str(waveform.device))
    with torch.no_grad():
        x = to_db(mel(waveform.float())).clamp(min=-50, max=80)
        # TorchScaler("instance", "minmax", dims=(1, 2)) of the baseline, eps 1e-8
        lo = x.amin(dim=(-2, -1), keepdim=True)
        hi = x.amax(dim=(-2, -1), keepdim=True)
        return (x - lo) / (hi - lo + 1e-8)


def load_audio(path: str | Path, cfg: FeatureConfig = DCASE) -> torch.Tensor:
    """Read a clip as mono float32 at cfg.sample_rate, padded/truncated to cfg.clip_duration."""
    path = Path(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, ValueError, OSError, TypeError) as exc:
        raise unreadable_audio(path, exc) from exc
    wav = torch.from_numpy(data.mean(axis=1) if data.shape[1] > 1 else data[:, 0])
    if sr != cfg.sample_rate:
        wav = torchaudio.functional.resample(wav, sr, cfg.sample_rate)
    n = cfg.n_samples
    if wav.shape[0] >= n:
        return wav[:n].contiguous()
    return torch.nn.functional.pad(wav, (0, n - wav.shape[0]))


# -------------------------------------------------------------------------------------- cache


class _ClipFeatures(torch.utils.data.Dataset):
    """Decoding and log-mel per clip, in the DataLoader's workers (each single-threaded)."""

    def __init__(self, paths: list[Path], cfg: FeatureConfig):
        self.paths, self.cfg = paths, cfg

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        return logmel(load_audio(self.paths[i], self.cfg), self.cfg)


@contextmanager
def _single_thread() -> Iterator[None]:
    # one clip's STFT is too small for intra-op threads: on a busy 2-core machine they cost 2-5x
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _default_workers(n_clips: int) -> int:
    if n_clips < 64:  # worker start-up costs more than it saves
        return 0
    return min(8, len(os.sched_getaffinity(0)))


class FeatureCache:
    """Per-split log-mel arrays, computed once per (dataset fingerprint, feature config).

    ``get(split)`` returns a read-only memory-mapped float32 array (N, n_mels, n_frames) whose rows
    follow ``dataset.splits[split].filenames``.
    """

    def __init__(
        self,
        dataset: Any,
        cfg: FeatureConfig = DCASE,
        cache_dir: str | Path = Path("cache/features"),
        batch_size: int = 16,
        num_workers: int | None = None,
        progress: bool = True,
    ):
        self.dataset, self.cfg = dataset, cfg
        key = {"dataset": dataset.fingerprint, "features": cfg.to_dict(), "v": CACHE_VERSION}
        self.key = config_hash(key)
        self.dir = Path(cache_dir) / self.key
        self.batch_size, self.num_workers, self.progress = batch_size, num_workers, progress
        self.computed: list[str] = []  # splits computed by this object (the rest were reused)
        self._arrays: dict[str, np.ndarray] = {}

    def path(self, split: str) -> Path:
        return self.dir / f"{split}.npy"

    def get(self, split: str) -> np.ndarray:
        if split not in self._arrays:
            if not self._valid(split):
                with self._lock():
                    if not self._valid(split):  # another process may have built it meanwhile
                        self._build(split)
            self._arrays[split] = np.load(self.path(split), mmap_mode="r")
        return self._arrays[split]

    def _valid(self, split: str) -> bool:
        path = self.path(split)
        if not path.is_file():
            return False
        try:
            arr = np.load(path, mmap_mode="r")
        except (ValueError, OSError):
            return False  # a truncated file from an older crash: rebuild it
        n = len(self.dataset[split].filenames)
        return arr.shape == (n, self.cfg.n_mels, self.cfg.n_frames) and arr.dtype == np.float32

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _build(self, split: str) -> None:
        files = self.dataset[split].paths
        shape = (len(files), self.cfg.n_mels, self.cfg.n_frames)
        with atomic_path(self.path(split)) as tmp:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
            for start, feats in self._compute(files, split):
                out[start : start + len(feats)] = feats
            out.flush()
            del out
        atomic_write_json(
            self.dir / "cache.json",
            {
                "dataset": self.dataset.name,
                "fingerprint": self.dataset.fingerprint,
                "features": self.cfg.to_dict(),
                "version": CACHE_VERSION,
            },
        )
        self.computed.append(split)

    def _compute(self, files: list[Path], split: str) -> Iterator[tuple[int, np.ndarray]]:
        workers = _default_workers(len(files)) if self.num_workers is None else self.num_workers
        loader = torch.utils.data.DataLoader(
            _ClipFeatures(files, self.cfg), batch_size=self.batch_size, num_workers=workers
        )
        start = 0
        with _progress(self.progress) as bar, _single_thread():
            task = bar.add_task(f"features {split}", total=len(files))
            for feats in loader:
                yield start, feats.numpy()
                start += len(feats)
                bar.advance(task, len(feats))


def _progress(enabled: bool) -> Progress:
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled or not console.is_terminal,  # a transient bar leaves a blank line in a pipe or log
        transient=True,
    )
