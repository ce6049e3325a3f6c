"""Frame and clip targets at the model's output resolution, as DESED_task's ManyHotEncoder.

Models pool time by ``pooling`` (4 in the DCASE CRNN), so a 10 s clip at hop 256 has
int(int(160000 / 256) / 4) = 156 output frames. An event [onset, offset] lights frames
floor(onset * sr / hop / pooling) up to, but excluding, ceil(offset * sr / hop / pooling), both
clipped to [0, n_out_frames]: 1.0-2.0 s -> frames 15..31 at DCASE settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from sedbench.data.features import DCASE, FeatureConfig
from sedbench.errors import ConfigError, DataError


def _near_hop(cfg: FeatureConfig, pooling: int) -> int:
    """The hop closest to cfg's whose frames agree with the labels (for the error message)."""
    return min((h for h in range(max(1, cfg.hop_length - 64), cfg.hop_length + 65)
                if (cfg.n_samples // h) % pooling != pooling - 1), key=lambda h: abs(h - cfg.hop_length))


def output_frames(cfg: FeatureConfig, pooling: int = 4) -> int:
    """Label frames per clip, with the same double truncation as ManyHotEncoder.n_frames; a ConfigError
    when the models' n_frames // pooling output frames would not match them."""
    n_out = int(int(cfg.n_samples / cfg.hop_length) / pooling)
    if cfg.n_frames // pooling != n_out:
        raise ConfigError(
            f"features: hop_length {cfg.hop_length} gives {cfg.n_frames} frames per clip, so the models' "
            f"{cfg.n_frames // pooling} output frames do not match the labels' {n_out} (DESED_task's encoder); "
            f"choose a hop_length for which {cfg.n_samples} // hop_length is not {pooling - 1} more than a "
            f"multiple of {pooling} (e.g. {_near_hop(cfg, pooling)})")
    return n_out


class LabelEncoder:
    def __init__(self, classes: Sequence[str], cfg: FeatureConfig = DCASE, pooling: int = 4):
        self.classes = list(classes)
        self.index = {c: i for i, c in enumerate(self.classes)}
        self.cfg, self.pooling = cfg, pooling
        # the same double truncation as ManyHotEncoder.n_frames
        self.n_out_frames = output_frames(cfg, pooling)
        self._frames_per_s = cfg.sample_rate / cfg.hop_length / pooling

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def frame_hop_s(self) -> float:
        """Seconds per output frame (0.064 s at DCASE settings)."""
        return 1.0 / self._frames_per_s

    def _class(self, label: str) -> int:
        try:
            return self.index[label]
        except KeyError:
            raise DataError(f"unknown label {label!r}; valid labels: {', '.join(self.classes)}") from None

    def time_to_frame(self, t: float | np.ndarray) -> np.ndarray:
        """Fractional output frame of a time in seconds, clipped to [0, n_out_frames]."""
        return np.clip(np.asarray(t, dtype=np.float64) * self._frames_per_s, 0, self.n_out_frames)

    def frames_to_time(self, frames: float | np.ndarray) -> np.ndarray:
        """Time in seconds of output frame boundaries, clipped to [0, clip_duration]."""
        return np.clip(np.asarray(frames, dtype=np.float64) / self._frames_per_s, 0, self.cfg.clip_duration)

    def strong(self, events: Iterable[tuple[float, float, str]]) -> np.ndarray:
        """(T_out, C) float32 frame targets from (onset, offset, label) events."""
        y = np.zeros((self.n_out_frames, self.n_classes), dtype=np.float32)
        for onset, offset, label in events:
            c = self._class(label)
            first = int(self.time_to_frame(onset))
            last = int(np.ceil(self.time_to_frame(offset)))
            y[first:last, c] = 1.0
        return y

    def weak(self, labels: Iterable[str]) -> np.ndarray:
        """(C,) float32 clip targets."""
        y = np.zeros(self.n_classes, dtype=np.float32)
        for label in labels:
            y[self._class(label)] = 1.0
        return y
