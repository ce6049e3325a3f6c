"""A finished run as a detector: its deployed student(s) rebuilt from ``model.pt``, its own front end,
environment routing, and score DataFrames with the run's post-processing.

One place for what ``sedbench evaluate RUN --data`` (sedbench.evaluation.ondata) and
``sedbench predict`` (``predict_files`` below) share. The predictions are those of the run itself:
the same feature configuration (``config.features`` of run.json), the same deployed networks and
class masks, clips batched and routed as the runner does, and the same median filter.

Audio longer than the training clip (``features.clip_duration``) is processed in windows of that
length with half a window of overlap (a whole number of output frames), the last one ending where the
audio ends (rather than padded with silence); overlapping frame
probabilities are averaged and clip probabilities take the maximum over windows. A clip no longer
than the training length is one window, computed exactly as the feature cache does.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
import torch
import torchaudio

from sedbench.data.features import FeatureConfig, logmel
from sedbench.data.labels import LabelEncoder
from sedbench.errors import SedbenchError, first_line, unreadable_audio

MODEL_FILE = "model.pt"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


@dataclass
class DeployedStudent:
    name: str
    environment: str | None  # clips of this environment are routed here (None: every clip)
    classes: tuple[str, ...] | None  # the class subset it detects (others forced to probability 0)
    model: torch.nn.Module  # sedbench.training.engine.DeployedModel, eval mode


@dataclass
class RunDetector:
    run_dir: Path
    record: dict[str, Any]
    classes: list[str]
    feature_cfg: FeatureConfig
    encoder: LabelEncoder
    students: list[DeployedStudent]
    device: torch.device

    # ------------------------------------------------------------------------------ loading
    @classmethod
    def load(cls, run_dir: str | os.PathLike, device: str | torch.device | None = None) -> RunDetector:
        """Rebuild a complete run's deployed student(s); one-line errors for what is missing."""
        from sedbench.models import build_model
        from sedbench.results import read_record
        from sedbench.training.engine import DeployedModel, class_mask_for, resolve_device

        run_dir = Path(run_dir)
        record = read_record(run_dir)
        if record.get("status") != "complete":
            raise SedbenchError(f"{run_dir}: run is {record.get('status')!r}, not complete; nothing to deploy")
        weights = run_dir / MODEL_FILE
        if not weights.is_file():
            raise SedbenchError(f"{weights}: missing (model.pt is git-ignored: it exists only where the run "
                                "was trained); re-run that method and seed to rebuild it")
        try:
            saved = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise SedbenchError(f"{weights}: unreadable checkpoint ({first_line(exc)}); "
                                "re-run that method and seed") from exc
        if not isinstance(saved, dict) or "partitions" not in saved:
            raise SedbenchError(f"{weights}: not a sedbench run checkpoint (no 'partitions')")
        config = record.get("config") or {}
        feature_cfg = FeatureConfig.from_dict(config.get("features"))
        classes = list(saved.get("classes") or _classes_from_scores(run_dir))
        name = saved.get("model") or (config.get("student") or {}).get("model")
        kwargs = dict(saved.get("kwargs") or {})
        nets = []
        for part in saved["partitions"]:
            net = build_model(name, n_mels=feature_cfg.n_mels, n_classes=len(classes), **kwargs)
            try:
                net.load_state_dict(part["state_dict"])
            except RuntimeError as exc:
                raise SedbenchError(f"{weights}: does not fit model {name!r} with {len(classes)} classes at "
                                    f"{feature_cfg.n_mels} mels: {' '.join(str(exc).split())[:200]}") from exc
            nets.append(net)
        # deploy as the run evaluated: by its routes (environment-mask routes one network to every
        # environment, each behind its class mask); checkpoints without routes deploy each partition
        routes = saved.get("routes") or [{"partition": i, "environment": p.get("environment"),
                                          "classes": p.get("classes")} for i, p in enumerate(saved["partitions"])]
        students = []
        for route in routes:
            part = saved["partitions"][route["partition"]]
            subset = tuple(route["classes"]) if route.get("classes") else None
            model = DeployedModel(nets[route["partition"]], class_mask_for(tuple(classes), subset)).eval()
            students.append(DeployedStudent(str(route.get("environment") or part.get("name")),
                                            route.get("environment"), subset, model))
        device = resolve_device(device)
        return cls(run_dir, record, classes, feature_cfg, LabelEncoder(classes, feature_cfg), students, device)

    @property
    def label(self) -> str:
        r = self.record
        return f"{r.get('benchmark')}/{r.get('method')}/seed {r.get('seed')}"

    @property
    def routed(self) -> bool:
        """True when the run deploys one student per environment (clips are routed by environment)."""
        return any(s.environment for s in self.students)

    @property
    def environments(self) -> list[str]:
        return [s.environment for s in self.students if s.environment]

    def student_for(self, environment: str | None) -> DeployedStudent:
        if not self.routed:
            return self.students[0]
        for student in self.students:
            if student.environment == environment:
                return student
        raise SedbenchError(f"run {self.label} has no student for environment {environment!r}; "
                            f"it deploys one per environment: {', '.join(self.environments)}")

    # --------------------------------------------------------------------------- prediction
    def predict_features(self, data: Any, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Frame (N, T, C) and clip (N, C) probabilities for an EvalData-like ``data`` (``features``,
        ``clip_ids``, ``environments``), batched and routed exactly as the runner validates (one routing,
        ``training.engine.predict_routed``)."""
        from sedbench.training.engine import predict_routed

        if self.routed and not data.environments:
            raise SedbenchError(self.no_environments_message(getattr(data, "split", "data")))
        try:
            return predict_routed([(s.environment, s.model) for s in self.students], data, self.device, batch_size)
        except SedbenchError as exc:
            raise SedbenchError(f"run {self.label}: {exc}") from None

    def no_environments_message(self, what: str) -> str:
        how = ("one student each for" if len({id(s.model) for s in self.students}) > 1
               else "one student behind a class mask for each of")
        return (f"run {self.label} routes clips by environment ({how} {', '.join(self.environments)}) and "
                f"{what} has no environments; add an environments TSV (filename environment) to the data config")

    def window_features(self, waveform: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
        """Log-mel windows (W, n_mels, T) of a mono waveform at the run's rate, and the first output
        frame of each window. One window when the audio fits in the training clip length."""
        cfg, enc = self.feature_cfg, self.encoder
        n, hop = cfg.n_samples, cfg.hop_length * enc.pooling  # samples per output frame
        total = max(1, math.ceil(waveform.shape[-1] / hop))
        step = max(1, enc.n_out_frames // 2)
        starts = [0]  # a clip that fits the training length is one window, as in training
        while waveform.shape[-1] > n and starts[-1] + enc.n_out_frames < total:
            starts.append(starts[-1] + step)
        if len(starts) > 1:  # the last window ends with the audio (padded by less than a frame), as in training
            starts[-1] = min(starts[-1], total - enc.n_out_frames)
        windows = []
        for start in starts:
            piece = waveform[start * hop : start * hop + n]
            if piece.shape[-1] < n:
                piece = torch.nn.functional.pad(piece, (0, n - piece.shape[-1]))
            windows.append(logmel(piece.contiguous(), cfg))  # per window, as the feature cache
        return torch.stack(windows), starts

    @torch.no_grad()
    def predict_waveform(self, waveform: torch.Tensor, environment: str | None = None,
                         batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """Frame probabilities (T, C) covering the whole waveform (at least one training clip's worth
        of frames) and clip probabilities (C,)."""
        features, starts = self.window_features(waveform)
        model = self.student_for(environment).model.to(self.device)
        frames, clips = [], []
        try:
            for i in range(0, len(features), batch_size):
                out = model(features[i : i + batch_size].to(self.device))
                frames.append(torch.sigmoid(out.frame_logits.float()).cpu().numpy())
                clips.append(torch.sigmoid(out.clip_logits.float()).cpu().numpy())
        finally:
            model.cpu()
        frames_w, clips_w = np.concatenate(frames), np.concatenate(clips)
        if len(starts) == 1:
            return frames_w[0], clips_w[0]
        n_out = frames_w.shape[1]
        total = np.zeros((starts[-1] + n_out, frames_w.shape[2]), np.float64)
        count = np.zeros((len(total), 1))
        for start, f in zip(starts, frames_w, strict=True):
            total[start : start + n_out] += f
            count[start : start + n_out] += 1
        return (total / count).astype(np.float32), clips_w.max(axis=0)

    def scores(self, frame_probs: np.ndarray, clip_ids: list[str], durations: dict[str, float] | None = None
               ) -> dict[str, pd.DataFrame]:
        """sed_scores_eval score DataFrames with the run's post-processing (median filter); with
        ``durations``, frames past the end of each clip's audio are cut (``scores_from_probs``)."""
        from sedbench.evaluation.postprocess import profile_median_frames, scores_from_probs

        hop = self.encoder.frame_hop_s
        window = profile_median_frames(self.record.get("config") or {}, hop)
        return scores_from_probs(frame_probs, clip_ids, self.classes, hop, window, durations)

    def clip_scores(self, frame_probs: np.ndarray, clip_id: str, duration: float | None = None) -> pd.DataFrame:
        """One clip's score DataFrame; with ``duration``, frames past the end of the audio are cut and
        the last offset is the audio's end."""
        return self.scores(frame_probs[None], [clip_id], None if duration is None else {clip_id: duration})[clip_id]


def _classes_from_scores(run_dir: Path) -> list[str]:
    """Class names of a run saved before model.pt carried them: the columns of its score files."""
    folder = run_dir / "scores"
    first = next(iter(sorted(folder.glob("*.tsv"))), None) if folder.is_dir() else None
    if first is None:
        raise SedbenchError(f"{run_dir}: neither model.pt nor score files name the classes; re-run the run")
    return [str(c) for c in pd.read_csv(first, sep="\t", nrows=0).columns[2:]]


# ------------------------------------------------------------------------------------ audio files
def read_audio(path: str | os.PathLike, sample_rate: int) -> tuple[torch.Tensor, float]:
    """Any WAV/FLAC/OGG as a mono float32 waveform at ``sample_rate`` (channels averaged, resampled
    as the feature cache does), and its duration in seconds."""
    path = Path(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, ValueError, OSError, TypeError) as exc:
        raise unreadable_audio(path, exc) from exc
    if data.shape[0] == 0:
        raise SedbenchError(f"{path}: no audio samples; replace or remove the file")
    wav = torch.from_numpy(data.mean(axis=1) if data.shape[1] > 1 else data[:, 0])
    if sr != sample_rate:
        wav = torchaudio.functional.resample(wav, sr, sample_rate)
    return wav, data.shape[0] / sr


def audio_inputs(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The files named, with folders expanded to the audio files under them (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES
                          and not f.name.startswith("."))
        else:
            out.append(p)
    return out


DETECTION_COLUMNS = ["filename", "onset", "offset", "event_label"]


@dataclass
class Prediction:
    detections: pd.DataFrame  # filename onset offset event_label (DCASE format)
    scores: dict[str, pd.DataFrame]  # clip id (file name without extension) -> score DataFrame
    durations: dict[str, float]
    errors: list[tuple[Path, str]]


def detections_from_scores(scores: dict[str, pd.DataFrame], threshold: float,
                           filenames: dict[str, str] | None = None) -> pd.DataFrame:
    """Events where a class's score exceeds ``threshold`` (sed_scores_eval's decoding), one row each."""
    from sed_scores_eval.base_modules.detection import scores_to_event_list

    rows = []
    for cid, df in scores.items():
        n_classes = df.shape[1] - 2
        for onset, offset, label in scores_to_event_list(df, np.full(n_classes, threshold)):
            rows.append(((filenames or {}).get(cid, cid), float(onset), float(offset), str(label)))
    return pd.DataFrame(rows, columns=DETECTION_COLUMNS)


def predict_files(run_dir: str | os.PathLike, paths: Sequence[str | os.PathLike], *, threshold: float = 0.5,
                  environment: str | None = None, device: str | None = None, progress: bool = True,
                  console: Any = None, on_error: Callable[[Path, str], None] | None = None) -> Prediction:
    """Detections and scores of a run's deployed student on audio files (``sedbench predict``).

    A file that cannot be read (or is named like an earlier one) is reported through ``on_error``
    and skipped; the others are still processed.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if not 0.0 < threshold < 1.0:
        raise SedbenchError(f"--threshold {threshold}: give a probability between 0 and 1")
    detector = RunDetector.load(run_dir, device)
    if detector.routed and environment is None:
        raise SedbenchError(f"run {detector.label} deploys one student per environment; choose one with "
                            f"--environment ({', '.join(detector.environments)})")
    if environment is not None and not detector.routed:
        raise SedbenchError(f"--environment {environment}: run {detector.label} deploys a single student "
                            "for every environment; leave the option out")
    detector.student_for(environment)  # an unknown environment fails before any audio is read
    files = audio_inputs(paths)
    if not files:
        given = ", ".join(str(p) for p in paths) or "none"
        raise SedbenchError(f"{given}: no audio files there; give WAV, FLAC or OGG files, or folders holding them")
    scores: dict[str, pd.DataFrame] = {}
    durations: dict[str, float] = {}
    names: dict[str, str] = {}
    errors: list[tuple[Path, str]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console or Console(stderr=True), disable=not progress,
                  transient=True) as bar:
        task = bar.add_task("predict", total=len(files))

        def fail(path: Path, message: str) -> None:
            errors.append((path, message))
            if on_error is not None:
                on_error(path, message)
            elif progress:
                bar.console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)

        for path in files:
            cid = path.stem
            try:
                if cid in names:
                    raise SedbenchError(f"{path}: same name as {names[cid]}; score files are keyed by the "
                                        "name without extension, rename one")
                if not path.is_file():
                    raise SedbenchError(f"{path}: no such file")
                wav, duration = read_audio(path, detector.feature_cfg.sample_rate)
                frames, _ = detector.predict_waveform(wav, environment)
                scores[cid] = detector.clip_scores(frames, cid, duration)
                durations[cid], names[cid] = duration, path.name
            except SedbenchError as exc:
                fail(path, str(exc))
            bar.advance(task)
    detections = detections_from_scores(scores, threshold, names)
    return Prediction(detections, scores, durations, errors)


def write_detections(path: str | os.PathLike, detections: pd.DataFrame) -> Path:
    """The DCASE detections TSV (filename onset offset event_label), written atomically."""
    from sedbench.io import atomic_write

    return atomic_write(path, lambda tmp: detections.to_csv(tmp, sep="\t", index=False, float_format="%.3f"))
