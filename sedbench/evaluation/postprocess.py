"""From frame probabilities to sed_scores_eval score DataFrames (the DESED_task post-processing)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter

from sedbench.errors import SedbenchError

# DESED_task's median filter: 7 output frames of 64 ms (hop 256 at 16 kHz, pooled by 4)
DESED_MEDIAN_S = 0.448


def median_frames(median_filter_s: float, frame_hop_s: float) -> int:
    """The median filter of about ``median_filter_s`` seconds in frames of ``frame_hop_s``: an odd count,
    rounded down when the nearest whole count is even (7 at DCASE's 64 ms frames, 3 at quick's 128 ms).

    A window fixed in frames would double in seconds at a coarser resolution, and a 0.9 s median erases
    every event shorter than 0.45 s (barks, dishes) before PSDS sees it.
    """
    frames = max(1, round(median_filter_s / frame_hop_s))
    return frames if frames % 2 else frames - 1


# what every version before ``postprocess.median_filter_s`` applied, whatever the frame rate
LEGACY_MEDIAN_FRAMES = 7


def profile_median_frames(config: dict, frame_hop_s: float) -> int:
    """The median filter a profile (or a run's recorded config) asks for, in frames. A config without
    ``postprocess.median_filter_s`` (a run recorded before it existed) gets the 7 frames it was scored
    with, so re-scoring an old run (``evaluate --data``, ``predict``) post-processes it as it was."""
    seconds = (config.get("postprocess") or {}).get("median_filter_s")
    return LEGACY_MEDIAN_FRAMES if seconds is None else median_frames(float(seconds), frame_hop_s)


def smooth(frame_probs: np.ndarray, median_window: int = 7) -> np.ndarray:
    """Median filter over time, per clip and class (DESED_task: 7 frames, scipy's 'reflect' edges)."""
    probs = np.asarray(frame_probs)
    if probs.ndim != 3:
        raise SedbenchError(f"frame probabilities must be (clips, frames, classes), got shape {probs.shape}")
    if median_window <= 1:
        return probs
    return median_filter(probs, size=(1, median_window, 1))


def frames_within(duration: float, frame_hop_s: float) -> int:
    """How many output frames start before the end of ``duration`` seconds of audio (at least one)."""
    return max(1, math.ceil(duration / frame_hop_s - 1e-9))


def scores_from_probs(
    frame_probs: np.ndarray,
    clip_ids: list[str],
    classes: list[str],
    frame_hop_s: float,
    median_window: int = 7,
    durations: Mapping[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """One score DataFrame per clip: columns onset, offset, then one score column per class.

    With ``durations`` (seconds per clip id), a clip shorter than the network's input (padded with
    silence to the training length) keeps only its frames that start before its end, and its last
    offset is its end: PSDS counts false positives over the clip's real duration, so scores over
    the padding would be false alarms the audio never had. The median filter then runs over those
    frames alone. (DESED_task's ``batched_decode_preds`` computes the true length from ``pad_indx``
    but slices a (classes, frames) tensor with it, so its scores keep the padding.) Clips of the full
    length are unchanged.

    Scores are kept at float32 precision (what the model produced) so that score files written with
    9 significant digits read back bit-identical and recomputed metrics match the stored ones.
    """
    probs = np.asarray(frame_probs)
    if probs.ndim != 3:
        raise SedbenchError(f"frame probabilities must be (clips, frames, classes), got shape {probs.shape}")
    n_clips, n_frames, n_classes = probs.shape
    if len(clip_ids) != n_clips or len(classes) != n_classes:
        raise SedbenchError(
            f"{n_clips} clips x {n_classes} classes of scores but {len(clip_ids)} clip ids and "
            f"{len(classes)} class names were given"
        )
    edges = np.arange(n_frames + 1, dtype=np.float64) * frame_hop_s
    columns = ["onset", "offset", *classes]
    scores = {}
    for i, cid in enumerate(clip_ids):
        keep = n_frames if durations is None else min(n_frames, frames_within(durations[cid], frame_hop_s))
        # per clip, the filter is the batched one's slice: full-length clips score bit for bit as before
        clip = smooth(probs[i : i + 1, :keep], median_window)[0].astype(np.float32).astype(np.float64)
        onset, offset = edges[:keep, None], edges[1 : keep + 1, None].copy()
        if durations is not None:
            offset[-1, 0] = min(offset[-1, 0], float(durations[cid]))
        scores[cid] = pd.DataFrame(np.concatenate((onset, offset, clip), axis=1), columns=columns)
    return scores


def binarize(scores: dict[str, pd.DataFrame], threshold: float) -> dict[str, pd.DataFrame]:
    """Scores > threshold -> 1, else 0.

    Evaluating 0/1 scores at any threshold in (0, 1) gives exactly the detections of the raw scores at
    ``threshold``, while sed_scores_eval only has two score levels to sweep: F1 at a fixed threshold
    costs a fraction of a full threshold sweep.
    """
    out = {}
    for cid, df in scores.items():
        df = df.copy()
        values = df.iloc[:, 2:].to_numpy()
        df.iloc[:, 2:] = (values > threshold).astype(np.float64)
        out[cid] = df
    return out
