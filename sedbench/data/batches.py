"""Training rows (strong + weak + unlabeled), the seeded 1:1:2 batch sampler, and evaluation data.

Rows of `TrainingData` are train_strong, then train_weak, then train_unlabeled clips, each part in
its split's file order. A row number is the clip's identity everywhere in training: batches carry
it as ``index`` and the teacher-output cache is keyed by it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sedbench.data.desed import DesedDataset
from sedbench.data.features import FeatureCache
from sedbench.data.labels import LabelEncoder
from sedbench.errors import DataError

TRAIN_PARTS = (("train_strong", "strong"), ("train_weak", "weak"), ("train_unlabeled", "unlabeled"))
DEFAULT_BATCH_SIZES = {"strong": 6, "weak": 6, "unlabeled": 12}


@dataclass
class Part:
    """A contiguous block of rows [start, stop) backed by one split's feature array."""

    split: str
    kind: str
    start: int
    stop: int
    features: np.ndarray  # memmap (n, n_mels, T)


def _gather(parts: Sequence[Part], rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Features of ``rows`` (any order) from the per-part memmaps, reading each in sorted order."""
    out = np.empty((len(rows), *shape), dtype=np.float32)
    for part in parts:
        pos = np.flatnonzero((rows >= part.start) & (rows < part.stop))
        if len(pos):
            local = rows[pos] - part.start
            order = np.argsort(local, kind="stable")
            out[pos[order]] = part.features[local[order]]
    return out


class TrainingData:
    """train_strong + train_weak + train_unlabeled as one table of rows.

    Attributes: ``parts`` (per split: rows and memmapped features), ``strong`` (N, T_out, C) and
    ``weak`` (N, C) float32 targets (zeros where a row has no such label), ``kind`` (N,) str,
    ``clip_ids`` ("split/filename"), ``environment`` (N,) object (None where unknown), and the
    boolean masks ``is_strong``/``is_weak``/``is_unlabeled``.
    """

    def __init__(self, dataset: DesedDataset, cache: FeatureCache, encoder: LabelEncoder):
        if "train_strong" not in dataset.splits:
            raise DataError(f"{dataset.root}: training needs a train_strong split; add it to the data config")
        self.dataset, self.cache, self.encoder = dataset, cache, encoder
        self.parts: list[Part] = []
        start = 0
        for split, kind in TRAIN_PARTS:
            if split in dataset.splits:
                n = len(dataset.splits[split])
                self.parts.append(Part(split, kind, start, start + n, cache.get(split)))
                start += n
        self.n = start
        self.feature_shape = tuple(self.parts[0].features.shape[1:])
        # np.zeros pages stay unallocated until written, so unlabeled rows cost no memory
        self.strong = np.zeros((self.n, encoder.n_out_frames, encoder.n_classes), dtype=np.float32)
        self.weak = np.zeros((self.n, encoder.n_classes), dtype=np.float32)
        self.kind = np.empty(self.n, dtype=object)
        self.clip_ids: list[str] = []
        self.environment = np.full(self.n, None, dtype=object)
        for part in self.parts:
            self._fill(part)
        self.is_strong = self.kind == "strong"
        self.is_weak = self.kind == "weak"
        self.is_unlabeled = self.kind == "unlabeled"
        # rows kept out of every training batch (the weak validation split); see hold_out
        self.held_out = np.zeros(self.n, dtype=bool)

    def _fill(self, part: Part) -> None:
        split = self.dataset.splits[part.split]
        self.kind[part.start : part.stop] = part.kind
        self.clip_ids.extend(f"{part.split}/{f}" for f in split.filenames)
        if split.environments:
            self.environment[part.start : part.stop] = [split.environments.get(f) for f in split.filenames]
        if part.kind == "strong":
            for row, (fn, events) in enumerate(split.clip_events().items(), start=part.start):
                assert fn == split.filenames[row - part.start]
                self.strong[row] = self.encoder.strong(events)
                self.weak[row] = self.encoder.weak(lab for _, _, lab in events)
        elif part.kind == "weak":
            for row, fn in enumerate(split.filenames, start=part.start):
                self.weak[row] = self.encoder.weak(split.weak_labels.get(fn, []))

    def __len__(self) -> int:
        return self.n

    def rows(self, kind: str | None = None, environment: str | None = None) -> np.ndarray:
        """Row numbers, optionally of one kind and/or one environment."""
        mask = np.ones(self.n, dtype=bool)
        if kind is not None:
            mask &= self.kind == kind
        if environment is not None:
            mask &= self.environment == environment
        return np.flatnonzero(mask)

    def hold_out(self, rows: Sequence[int] | np.ndarray) -> None:
        """Keep ``rows`` out of every training batch (their features and teacher outputs stay
        addressable by row, so teacher caches and indices do not change)."""
        self.held_out[np.asarray(rows, dtype=np.int64)] = True

    def weak_validation_rows(self, share: float, seed: int = 42) -> np.ndarray:
        """A fixed-seed draw of ``share`` of the train_weak rows (sorted), as DESED_task's weak split:
        ``round((1 - share) * n)`` clips stay for training, the rest validate."""
        weak = self.rows("weak")
        n_val = len(weak) - int(round((1.0 - share) * len(weak)))
        if share > 0 and n_val < 1:
            raise DataError(f"{self.dataset.root}: weak_val_share {share} of {len(weak)} weak clips holds out none; "
                            "the dcase selection needs weak validation clips")
        return np.sort(np.random.default_rng(seed).permutation(weak)[:n_val])

    def epoch_length(self, batch_sizes: Mapping[str, int]) -> int:
        """DESED_task's epoch in steps: the fewest full batches of any part (strong, weak, unlabeled)
        that has training rows and a batch size."""
        counts = [int(np.sum((self.kind == kind) & ~self.held_out)) // int(n)
                  for kind, n in batch_sizes.items() if n and np.any((self.kind == kind) & ~self.held_out)]
        return max(1, min(counts)) if counts else 1

    def features(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        return _gather(self.parts, np.asarray(indices, dtype=np.int64), self.feature_shape)

    def batch(self, indices: Sequence[int] | np.ndarray) -> dict[str, torch.Tensor]:
        idx = np.asarray(indices, dtype=np.int64)
        return {
            "features": torch.from_numpy(self.features(idx)),
            "strong": torch.from_numpy(self.strong[idx]),
            "weak": torch.from_numpy(self.weak[idx]),
            "is_strong": torch.from_numpy(self.is_strong[idx]),
            "is_weak": torch.from_numpy(self.is_weak[idx]),
            "is_unlabeled": torch.from_numpy(self.is_unlabeled[idx]),
            "index": torch.from_numpy(idx),
        }


class MixedBatchSampler:
    """Per step, a list of rows: strong first, then weak, then unlabeled (default 6:6:12).

    Each part is drawn as consecutive epochs of seeded permutations, with its own generator, so
    restricting one part never changes the draws of another. Iterating again replays the same
    sequence; ``start_step`` resumes mid-sequence. A part with no rows contributes nothing.
    """

    def __init__(
        self,
        data: TrainingData,
        batch_sizes: Mapping[str, int] | None = None,
        seed: int = 0,
        steps: int = 1,
        rows: Sequence[int] | np.ndarray | None = None,
    ):
        self.data, self.seed, self.steps = data, seed, steps
        self.batch_sizes = dict(DEFAULT_BATCH_SIZES if batch_sizes is None else batch_sizes)
        unknown = set(self.batch_sizes) - set(DEFAULT_BATCH_SIZES)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise DataError(f"batch_size: unknown part(s) {names}; use strong, weak, unlabeled")
        allowed = np.ones(len(data), dtype=bool)
        if rows is not None:
            allowed[:] = False
            allowed[np.asarray(rows, dtype=np.int64)] = True
        held_out = getattr(data, "held_out", None)  # the weak validation split never trains
        if held_out is not None:
            allowed &= ~held_out
        self.part_rows = {k: np.flatnonzero(allowed & (data.kind == k)) for k in DEFAULT_BATCH_SIZES}
        if self.batch_sizes.get("strong", 0) and not len(self.part_rows["strong"]):
            raise DataError(f"{data.dataset.root}: no strong clips to train on (after restricting rows)")

    def restrict_to(self, rows: Sequence[int] | np.ndarray) -> MixedBatchSampler:
        """A sampler with the same settings over a subset of rows (e.g. one environment's clips)."""
        return MixedBatchSampler(self.data, self.batch_sizes, self.seed, self.steps, rows)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list[int]]:
        return self.iter_from(0)

    def iter_from(self, start_step: int) -> Iterator[list[int]]:
        streams = [_EpochStream(self.part_rows[k], self.seed, i) for i, k in enumerate(DEFAULT_BATCH_SIZES)]
        sizes = [self.batch_sizes.get(k, 0) for k in DEFAULT_BATCH_SIZES]
        for step in range(self.steps):
            batch = [row for stream, n in zip(streams, sizes, strict=True) for row in stream.take(n)]
            if step >= start_step:
                yield batch


class _EpochStream:
    """An endless stream of rows: shuffled epochs from a generator seeded by (seed, part)."""

    def __init__(self, rows: np.ndarray, seed: int, part: int):
        self.rows = rows
        self.rng = np.random.default_rng([seed, part])
        self.buffer: list[int] = []

    def take(self, n: int) -> list[int]:
        if not len(self.rows):
            return []
        while len(self.buffer) < n:
            self.buffer.extend(self.rng.permutation(self.rows).tolist())
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


class EvalData:
    """One strong-labelled split (validation or eval) for scoring.

    ``clip_ids`` are file names without extension (the ids of sed_scores_eval score files);
    ``ground_truth`` has every clip, with an empty list for clips without events (PSDS drops those,
    as DESED_task does; that is evaluation's choice, not the reader's).
    """

    def __init__(self, dataset: DesedDataset, cache: FeatureCache, encoder: LabelEncoder, split: str):
        s = dataset[split]
        if s.kind != "strong":
            raise DataError(f"{s.audio_dir}: split {split} has no strong labels; evaluation needs them")
        self.split, self.encoder = split, encoder
        self.features = cache.get(split)
        self.filenames = list(s.filenames)
        self.clip_ids = [Path(f).stem for f in self.filenames]
        events = s.clip_events()
        self.ground_truth = {Path(f).stem: events[f] for f in self.filenames}
        self.durations = {Path(f).stem: d for f, d in s.durations.items()}
        self.environments = (
            None if s.environments is None else {Path(f).stem: e for f, e in s.environments.items()}
        )
        self.strong = np.stack([encoder.strong(events[f]) for f in self.filenames])
        self.weak = np.stack([encoder.weak(lab for _, _, lab in events[f]) for f in self.filenames])

    def __len__(self) -> int:
        return len(self.filenames)

    def iter_batches(self, batch_size: int = 32) -> Iterator[dict[str, object]]:
        """Batches in file order: features, strong/weak targets, index (row) and clip_ids."""
        for start in range(0, len(self), batch_size):  # features are copied: the memmap is read-only
            stop = min(start + batch_size, len(self))
            yield {
                "features": torch.from_numpy(np.array(self.features[start:stop])),
                "strong": torch.from_numpy(self.strong[start:stop]),
                "weak": torch.from_numpy(self.weak[start:stop]),
                "index": torch.arange(start, stop, dtype=torch.long),
                "clip_ids": self.clip_ids[start:stop],
            }


@dataclass
class WeakValidation:
    """Clips held out of train_weak to validate clip tagging (DESED_task's weak validation set).

    Quacks like `EvalData` for prediction: ``features`` (N, n_mels, T) in memory, ``clip_ids``;
    ``labels`` (N, C) 0/1 and ``environments`` (N,) object (None where unknown).
    """

    rows: np.ndarray  # the clips' rows in TrainingData
    features: np.ndarray
    clip_ids: list[str]
    labels: np.ndarray
    environments: np.ndarray

    @classmethod
    def from_rows(cls, data: TrainingData, rows: np.ndarray) -> WeakValidation:
        rows = np.asarray(rows, dtype=np.int64)
        return cls(rows, data.features(rows), [data.clip_ids[i] for i in rows],
                   (data.weak[rows] > 0.5).astype(np.int8), data.environment[rows])

    def __len__(self) -> int:
        return len(self.rows)

    def environment_rows(self, environment: str | None) -> np.ndarray:
        if environment is None:
            return np.arange(len(self.rows))
        return np.flatnonzero(self.environments == environment)
