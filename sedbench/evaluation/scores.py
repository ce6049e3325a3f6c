"""Per-clip score files in sed_scores_eval's format, plus the ground truth beside them.

Layout of a run directory (so it is self-contained: any metric or bootstrap can be recomputed):

    <run>/scores/<clip_id>.tsv      onset  offset  <class 1> ... <class C>   (sed_scores_eval.io format)
    <run>/ground_truth.tsv          filename  onset  offset  event_label    (eventless clip: empty label)
    <run>/durations.tsv             filename  duration
    <run>/clip_scores.tsv           filename  <class 1> ... <class C>          (clip-level probabilities)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from sed_scores_eval.base_modules.scores import validate_score_dataframe

from sedbench.errors import SedbenchError
from sedbench.io import atomic_write, make_temp_dir, replace_dir

GROUND_TRUTH_FILE = "ground_truth.tsv"
DURATIONS_FILE = "durations.tsv"
CLIP_SCORES_FILE = "clip_scores.tsv"
SCORES_DIR = "scores"

GroundTruth = dict[str, list[tuple[float, float, str]]]


def write_scores(
    directory: str | os.PathLike,
    scores: dict[str, pd.DataFrame],
    ground_truth: GroundTruth | None = None,
    durations: dict[str, float] | None = None,
    clip_probs: np.ndarray | None = None,
) -> Path:
    """Write one TSV per clip into ``directory`` (replacing it as a whole, atomically).

    ``ground_truth``, ``durations`` and ``clip_probs`` ((N, C), rows in the order of ``scores``), when
    given, go beside the folder (into its parent), which is the run directory when ``directory`` is
    ``<run>/scores``.
    """
    directory = Path(directory)
    tmp = make_temp_dir(directory, prefix=f".{directory.name}.")
    try:
        for cid, df in scores.items():
            _write_score_file(tmp / f"{cid}.tsv", df)
        replace_dir(tmp, directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    if ground_truth is not None:
        clip_ids = list(durations) if durations is not None else list(scores)
        write_ground_truth(directory.parent / GROUND_TRUTH_FILE, ground_truth, clip_ids)
    if durations is not None:
        write_durations(directory.parent / DURATIONS_FILE, durations)
    if clip_probs is not None:
        classes = [str(c) for c in next(iter(scores.values())).columns[2:]]
        df = pd.DataFrame(np.asarray(clip_probs, dtype=np.float64), columns=classes)
        df.insert(0, "filename", list(scores))
        atomic_write(
            directory.parent / CLIP_SCORES_FILE,
            lambda tmp: df.to_csv(tmp, sep="\t", index=False, float_format="%.9g"),
        )
    return directory


def remove_scores(directory: str | os.PathLike) -> None:
    """Undo ``write_scores``: the folder and what it wrote beside it (none of it need exist)."""
    directory = Path(directory)
    shutil.rmtree(directory, ignore_errors=True)
    for name in (GROUND_TRUTH_FILE, DURATIONS_FILE, CLIP_SCORES_FILE):
        (directory.parent / name).unlink(missing_ok=True)


def read_clip_scores(
    run_dir: str | os.PathLike, clip_ids: list[str], classes: list[str]
) -> np.ndarray | None:
    """Clip-level probabilities (N, C) in ``clip_ids`` order, or None when the run did not store them."""
    path = Path(run_dir) / CLIP_SCORES_FILE
    if not path.is_file():
        return None
    df = pd.read_csv(path, sep="\t", float_precision="round_trip")
    missing = set(classes) - set(df.columns)
    if "filename" not in df.columns or missing:
        raise SedbenchError(f"{path}: expected columns filename and {sorted(missing) or classes}")
    df = df.set_index(df["filename"].astype(str).map(_clip_id))
    absent = [c for c in clip_ids if c not in df.index]
    if absent:
        raise SedbenchError(f"{path}: no clip scores for {len(absent)} clip(s), e.g. {absent[0]}")
    return df.loc[clip_ids, classes].to_numpy(dtype=np.float64).astype(np.float32).astype(np.float64)


def is_score_file(path: Path) -> bool:
    """Whether ``path`` is a per-clip score file as ``write_scores`` writes them (its header)."""
    if path.suffix != ".tsv" or not path.is_file():
        return False
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.readline().startswith("onset\toffset\t")


def _write_score_file(path: Path, df: pd.DataFrame) -> None:
    validate_score_dataframe(df)
    # Times at full precision, scores with 9 significant digits: enough to round-trip float32 exactly.
    values = df.to_numpy(dtype=np.float64)
    fmt = ["%.17g", "%.17g"] + ["%.9g"] * (values.shape[1] - 2)
    header = "\t".join(str(c) for c in df.columns)
    np.savetxt(path, values, fmt=fmt, delimiter="\t", header=header, comments="")


def read_scores(directory: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Read every ``<clip_id>.tsv`` of ``directory`` (a run directory or its ``scores`` folder)."""
    directory = Path(directory)
    if (directory / SCORES_DIR).is_dir():
        directory = directory / SCORES_DIR
    if not directory.is_dir():
        raise SedbenchError(f"no score folder at {directory}: was the run completed?")
    files = sorted(directory.glob("*.tsv"))
    if not files:
        raise SedbenchError(f"score folder {directory} holds no .tsv files")
    scores = {}
    for f in files:
        try:
            df = pd.read_csv(f, sep="\t", float_precision="round_trip")
            validate_score_dataframe(df)
        except (ValueError, pd.errors.ParserError) as exc:
            raise SedbenchError(f"corrupt score file {f}: {exc}") from exc
        scores[f.stem] = _as_float32_scores(df)
    return scores


def _as_float32_scores(df: pd.DataFrame) -> pd.DataFrame:
    # Scores are float32 values (what models output; see scores_from_probs) written with 9 significant
    # digits; going through float32 on the way back restores exactly the values that were evaluated.
    cols = df.columns[2:]
    df[cols] = df[cols].to_numpy(dtype=np.float64).astype(np.float32).astype(np.float64)
    return df


def write_ground_truth(path: str | os.PathLike, ground_truth: GroundTruth, clip_ids: list[str]) -> Path:
    """DESED strong-label TSV; clips without events get one row with an empty label so they are kept."""
    rows = []
    for cid in clip_ids:
        events = ground_truth.get(cid, [])
        if not events:
            rows.append((cid, np.nan, np.nan, ""))
        rows.extend((cid, float(on), float(off), label) for on, off, label in sorted(events))
    df = pd.DataFrame(rows, columns=["filename", "onset", "offset", "event_label"])
    return atomic_write(path, lambda tmp: df.to_csv(tmp, sep="\t", index=False, float_format="%.17g"))


def read_ground_truth(path: str | os.PathLike) -> GroundTruth:
    """Clip id -> events; clips listed without events map to an empty list."""
    path = Path(path)
    if path.is_dir():
        path = path / GROUND_TRUTH_FILE
    if not path.is_file():
        raise SedbenchError(f"no ground truth file at {path}")
    df = pd.read_csv(
        path,
        sep="\t",
        float_precision="round_trip",
        keep_default_na=False,
        na_values={"onset": [""], "offset": [""]},
    )
    missing = {"filename", "onset", "offset", "event_label"} - set(df.columns)
    if missing:
        raise SedbenchError(f"{path} lacks column(s) {sorted(missing)}")
    gt: GroundTruth = {}
    for name, on, off, label in df[["filename", "onset", "offset", "event_label"]].itertuples(index=False):
        cid = _clip_id(str(name))
        events = gt.setdefault(cid, [])
        if isinstance(label, str) and label:
            events.append((float(on), float(off), label))
    return gt


def write_durations(path: str | os.PathLike, durations: dict[str, float]) -> Path:
    df = pd.DataFrame({"filename": list(durations), "duration": [float(d) for d in durations.values()]})
    return atomic_write(path, lambda tmp: df.to_csv(tmp, sep="\t", index=False, float_format="%.17g"))


def read_durations(path: str | os.PathLike) -> dict[str, float]:
    path = Path(path)
    if path.is_dir():
        path = path / DURATIONS_FILE
    if not path.is_file():
        raise SedbenchError(f"no durations file at {path}")
    df = pd.read_csv(path, sep="\t", float_precision="round_trip")
    if not {"filename", "duration"} <= set(df.columns):
        raise SedbenchError(f"{path} must have columns filename and duration")
    return {_clip_id(str(n)): float(d) for n, d in zip(df["filename"], df["duration"], strict=False)}


def _clip_id(filename: str) -> str:
    # Ground-truth TSVs name audio files; score files are keyed by the name without extension.
    stem, dot, ext = filename.rpartition(".")
    return stem if dot and ext.lower() in {"wav", "flac", "mp3", "ogg"} else filename


def read_run_inputs(
    run_dir: str | os.PathLike,
) -> tuple[dict[str, pd.DataFrame], GroundTruth, dict[str, float]]:
    """Scores, ground truth and durations stored in a run directory."""
    run_dir = Path(run_dir)
    return read_scores(run_dir / SCORES_DIR), read_ground_truth(run_dir), read_durations(run_dir)
