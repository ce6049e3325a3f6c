"""desed-synth: a seeded generator of DESED-like soundscapes, written in the DESED layout.

Each clip is rendered from its own seed, ``SeedSequence([seed, split_id, index])``, so a clip does
not depend on the preset, on the other clips or on how many worker processes ran: the same preset
and seed give byte-identical files. A preset only says how many clips each split has (``tiny``
is a prefix of ``quick``, which is a prefix of ``full``).

A clip: one environment (kitchen, bathroom, living room) with its own class prior and background;
1-5 target events from the environment's subset (polyphony at most 3), each at an SNR drawn per
event and measured against the background over the event's active samples; unlabelled distractor
sounds; optional reverberation. Labels follow each event's own energy envelope (see
:func:`active_regions`), so a bark train with long gaps becomes several events.

The ``eval`` split is a shifted domain, like DESED's synthetic-to-real gap: lower SNRs, more and
longer reverberation, other background colours and layers, more distractors.

See docs/datasheet.md for the recipes and the statistics of the ``quick`` preset.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sedbench.data.classes import CLASSES, ENVIRONMENTS, SPLIT_KINDS, SPLITS
from sedbench.errors import ConfigError, DataError

GENERATOR_VERSION = "1.2"
SAMPLE_RATE = 16000
CLIP_SECONDS = 10.0
CLIP_SAMPLES = int(SAMPLE_RATE * CLIP_SECONDS)

PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"train_strong": 16, "train_weak": 8, "train_unlabeled": 16, "validation": 8, "eval": 8},
    "quick": {"train_strong": 1500, "train_weak": 500, "train_unlabeled": 1500, "validation": 300,
              "eval": 400},
    "full": {"train_strong": 10000, "train_weak": 1578, "train_unlabeled": 14412, "validation": 1168,
             "eval": 1168},
}



# ------------------------------------------------------------------------ the generative model
@dataclass(frozen=True)
class Environment:
    """Where a clip is recorded: which classes occur (and how often), the room and its background."""

    share: float  # fraction of clips
    prior: dict[str, float]  # class weights over the environment's subset
    layers: dict[str, tuple[float, tuple[float, float]]]  # background layer: (probability, dB range)
    rt60_scale: float = 1.0


ENVIRONMENT_SPECS: dict[str, Environment] = {
    "kitchen": Environment(
        share=0.4,
        prior={"Alarm_bell_ringing": 0.1, "Blender": 0.15, "Dishes": 0.25, "Frying": 0.15,
               "Running_water": 0.15, "Speech": 0.2},
        layers={"hum": (0.7, (-12.0, 0.0)), "fan": (0.5, (-10.0, 0.0)), "babble": (0.2, (-12.0, -3.0))},
    ),
    "bathroom": Environment(
        share=0.2,
        prior={"Electric_shaver_toothbrush": 0.4, "Running_water": 0.35, "Speech": 0.25},
        layers={"fan": (0.8, (-6.0, 3.0)), "hum": (0.3, (-15.0, -5.0))},
        rt60_scale=1.5,  # tiles
    ),
    "living_room": Environment(
        share=0.4,
        prior={"Alarm_bell_ringing": 0.1, "Cat": 0.2, "Dog": 0.2, "Speech": 0.3, "Vacuum_cleaner": 0.2},
        layers={"babble": (0.5, (-10.0, 0.0)), "traffic": (0.5, (-8.0, 2.0)), "hum": (0.2, (-15.0, -5.0))},
        rt60_scale=0.8,  # soft furnishing
    ),
}


@dataclass(frozen=True)
class Domain:
    """Recording conditions shared by the splits of one domain (training-like or eval)."""

    snr_db: tuple[float, float]
    reverb_prob: float
    rt60: tuple[float, float]
    drr_db: tuple[float, float]
    noise_beta: tuple[float, float]  # colour of the noise bed, 1/f^beta
    extra_layers: dict[str, tuple[float, tuple[float, float]]] = field(default_factory=dict)
    distractors: tuple[int, int] = (0, 2)  # inclusive range per clip
    distractor_snr_db: tuple[float, float] = (-3.0, 12.0)


TRAIN_DOMAIN = Domain(snr_db=(3.0, 20.0), reverb_prob=0.5, rt60=(0.2, 0.6), drr_db=(3.0, 12.0),
                      noise_beta=(0.8, 1.6))
EVAL_DOMAIN = Domain(snr_db=(2.0, 14.0), reverb_prob=0.9, rt60=(0.4, 1.1), drr_db=(-3.0, 6.0),
                     noise_beta=(0.0, 2.4),
                     extra_layers={"hvac": (0.4, (-6.0, 3.0)), "radio": (0.3, (-12.0, -3.0)),
                                   "traffic": (0.3, (-8.0, 2.0))},
                     distractors=(0, 3))

EVENTS_PER_CLIP = (1, 2, 3, 4, 5)
EVENTS_PROBS = (0.25, 0.3, 0.22, 0.14, 0.09)
MAX_POLYPHONY = 3

# Labels: an event is active where its own short-time energy (10 ms hop, 30 ms window) is within
# LABEL_THRESHOLD_DB of its peak; gaps shorter than MERGE_GAP_S are bridged, runs shorter than
# MIN_EVENT_S dropped, and shorter ones widened about their centre to MIN_LABEL_S. Both follow
# DESED's annotation rules: a train of barks or beeps with short pauses is one event, a pause of
# 0.4 s or more starts a new one (0.15 s cut dog barks into 0.17 s fragments), and no event is
# shorter than 250 ms. Without the minimum, a lone 0.19 s bark spans 2-3 of quick's 128 ms frames,
# so even the ground truth itself, rendered as frame scores, fails PSDS1's 0.7 detection overlap.
LABEL_HOP = 160
LABEL_THRESHOLD_DB = 15.0
MERGE_GAP_S = 0.4
MIN_EVENT_S = 0.05
MIN_LABEL_S = 0.25


def _check_specs() -> None:
    # the environment table in classes.py is the contract; the priors here must cover it exactly
    for name, subset in ENVIRONMENTS.items():
        if set(ENVIRONMENT_SPECS[name].prior) != set(subset):
            raise AssertionError(f"desed-synth prior of {name} does not match ENVIRONMENTS")


_check_specs()


# ------------------------------------------------------------------------------------- labels
def active_regions(x: np.ndarray, threshold_db: float = LABEL_THRESHOLD_DB,
                   merge_gap_s: float = MERGE_GAP_S, min_s: float = MIN_EVENT_S) -> np.ndarray:
    """(K, 2) sample ranges [start, stop) where ``x`` is within ``threshold_db`` of its peak energy."""
    frames = -(-len(x) // LABEL_HOP)
    padded = np.zeros(frames * LABEL_HOP)
    padded[: len(x)] = x
    energy = np.mean(padded.reshape(frames, LABEL_HOP) ** 2, axis=1)
    energy = np.convolve(energy, np.ones(3) / 3, mode="same")
    db = 10 * np.log10(energy + 1e-20)
    on = np.concatenate([[0], (db > db.max() - threshold_db).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(on))
    starts, stops = edges[::2], edges[1::2]
    if len(starts) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    # bridge short gaps: keep a boundary only where the silence is long enough
    breaks = np.flatnonzero(starts[1:] - stops[:-1] >= merge_gap_s * SAMPLE_RATE / LABEL_HOP)
    starts = starts[np.concatenate([[0], breaks + 1])]
    stops = stops[np.concatenate([breaks, [len(stops) - 1]])]
    regions = np.stack([starts * LABEL_HOP, np.minimum(stops * LABEL_HOP, len(x))], axis=1)
    return _widen_short(_drop_short(regions, min_s), MIN_LABEL_S)


def _drop_short(regions: np.ndarray, min_s: float) -> np.ndarray:
    return regions[regions[:, 1] - regions[:, 0] >= min_s * SAMPLE_RATE]


def _widen_short(regions: np.ndarray, min_s: float) -> np.ndarray:
    """Widen regions shorter than ``min_s`` about their centre (never before sample 0). Regions are
    at least MERGE_GAP_S apart, far more than the widening, so they stay disjoint."""
    min_n = int(min_s * SAMPLE_RATE)
    length = regions[:, 1] - regions[:, 0]
    short = length < min_n
    if not short.any():
        return regions
    out = regions.copy()
    start = np.maximum(out[short, 0] - (min_n - length[short]) // 2, 0)
    out[short, 0], out[short, 1] = start, start + min_n
    return out


def _place(regions: np.ndarray, onset: int) -> np.ndarray:
    """Shift event-local regions to clip time and cut them at the clip edges."""
    shifted = np.clip(regions + onset, 0, CLIP_SAMPLES)
    return _drop_short(shifted, MIN_EVENT_S)


# ------------------------------------------------------------------------------------- clips
@dataclass
class Event:
    label: str
    regions: np.ndarray  # (K, 2) sample ranges in the clip
    track: np.ndarray | None = None  # the event as mixed (only with stems)

    def rows(self) -> list[tuple[float, float, str]]:
        return [(round(a / SAMPLE_RATE, 3), round(b / SAMPLE_RATE, 3), self.label) for a, b in self.regions]


@dataclass
class Clip:
    split: str
    index: int
    environment: str
    audio: np.ndarray  # float64 in [-1, 1], CLIP_SAMPLES long
    events: list[Event]
    background: np.ndarray | None = None  # noise bed + distractors as mixed (only with stems)

    @property
    def filename(self) -> str:
        return clip_name(self.split, self.index)


def clip_name(split: str, index: int) -> str:
    return f"{split}_{index:05d}.wav"


def clip_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, SPLITS.index(split), index]))


def render_clip(seed: int, split: str, index: int, stems: bool = False) -> Clip:
    """Render one clip; with ``stems`` the scaled event tracks and background are kept too."""
    from sedbench.data import synth_recipes as R

    rng = clip_rng(seed, split, index)
    domain = EVAL_DOMAIN if split == "eval" else TRAIN_DOMAIN
    env_names = list(ENVIRONMENT_SPECS)
    env_name = env_names[rng.choice(len(env_names), p=[ENVIRONMENT_SPECS[e].share for e in env_names])]
    env = ENVIRONMENT_SPECS[env_name]

    bed = R.background(rng, CLIP_SAMPLES, domain.noise_beta, {**env.layers, **domain.extra_layers})
    ir = None
    if rng.random() < domain.reverb_prob:
        ir = R.room_ir(rng, rng.uniform(*domain.rt60) * env.rt60_scale, rng.uniform(*domain.drr_db))

    events = _render_events(rng, env, domain, bed, ir)
    distractors = _render_distractors(rng, domain, bed, ir)
    background = bed + distractors
    mix = background + sum((e.track for e in events), np.zeros(CLIP_SAMPLES))
    # overall level varies like recordings do; the peak stays below full scale
    gain = 10 ** (rng.uniform(-32, -18) / 20) / (np.sqrt(np.mean(mix ** 2)) + 1e-12)
    gain = min(gain, 0.95 / (np.max(np.abs(mix)) + 1e-12))
    for e in events:
        e.track = e.track * gain if stems else None
    return Clip(split, index, env_name, mix * gain, events, background * gain if stems else None)


def _render_events(rng: np.random.Generator, env: Environment, domain: Domain, bed: np.ndarray,
                   ir: np.ndarray | None) -> list[Event]:
    from sedbench.data import synth_recipes as R

    classes = list(env.prior)
    weights = np.array([env.prior[c] for c in classes])
    wanted = int(rng.choice(EVENTS_PER_CLIP, p=EVENTS_PROBS))
    occupancy = np.zeros(CLIP_SAMPLES // LABEL_HOP + 1, dtype=np.int8)  # events sounding per 10 ms
    busy: dict[str, np.ndarray] = {}
    events: list[Event] = []
    attempts = 0
    # a clip always gets at least one event: keep drawing until one fits
    while (len(events) < wanted and attempts < 3 * wanted) or (not events and attempts < 50):
        attempts += 1
        label = classes[rng.choice(len(classes), p=weights / weights.sum())]
        sound = R.RECIPES[label](rng)
        if ir is not None:
            sound = R.reverberate(sound, ir)
        local = active_regions(sound)
        placed = _find_slot(rng, local, occupancy, busy.get(label))
        if placed is None:
            continue
        onset, regions = placed
        cells = _cells(regions)
        occupancy[cells] += 1
        busy.setdefault(label, np.zeros_like(occupancy, dtype=bool))[cells] = True
        track = _at(sound, onset)
        track *= _snr_gain(track, bed, regions, rng.uniform(*domain.snr_db))
        events.append(Event(label, regions, track))
    return events


def _find_slot(rng: np.random.Generator, local: np.ndarray, occupancy: np.ndarray,
               busy: np.ndarray | None, tries: int = 10) -> tuple[int, np.ndarray] | None:
    """An onset where the event keeps polyphony <= 3 and does not overlap its own class."""
    if len(local) == 0:
        return None
    extent = int(local[-1, 1] - local[0, 0])
    for _ in range(tries):
        # events may start before the clip or run past its end: they are cut there
        start = int(rng.integers(-extent // 4, CLIP_SAMPLES - extent // 4))
        onset = start - int(local[0, 0])
        regions = _place(local, onset)
        if len(regions) == 0:
            continue
        cells = _cells(regions)
        if occupancy[cells].max() >= MAX_POLYPHONY or (busy is not None and busy[cells].any()):
            continue
        return onset, regions
    return None


def _cells(regions: np.ndarray) -> slice:
    """The 10 ms cells covered from the event's first onset to its last offset."""
    return slice(regions[0, 0] // LABEL_HOP, -(-regions[-1, 1] // LABEL_HOP))


def _at(sound: np.ndarray, onset: int) -> np.ndarray:
    """The sound placed at ``onset`` (samples, may be negative) in a clip-long track, cut at the edges."""
    track = np.zeros(CLIP_SAMPLES)
    a, b = max(onset, 0), min(onset + len(sound), CLIP_SAMPLES)
    if b > a:
        track[a:b] = sound[a - onset: b - onset]
    return track


def _snr_gain(track: np.ndarray, bed: np.ndarray, regions: np.ndarray, snr_db: float) -> float:
    """Gain putting ``track`` at ``snr_db`` above ``bed``, both measured over the active samples."""
    mask = np.zeros(CLIP_SAMPLES, dtype=bool)
    for a, b in regions:
        mask[a:b] = True
    p_event = np.mean(track[mask] ** 2)
    p_bed = np.mean(bed[mask] ** 2)
    return float(np.sqrt(p_bed * 10 ** (snr_db / 10) / (p_event + 1e-20)))


def _render_distractors(rng: np.random.Generator, domain: Domain, bed: np.ndarray,
                        ir: np.ndarray | None) -> np.ndarray:
    from sedbench.data import synth_recipes as R

    names = list(R.DISTRACTORS)
    out = np.zeros(CLIP_SAMPLES)
    for _ in range(int(rng.integers(domain.distractors[0], domain.distractors[1] + 1))):
        sound = R.DISTRACTORS[names[rng.integers(len(names))]](rng)
        if ir is not None:
            sound = R.reverberate(sound, ir)
        onset = int(rng.integers(-len(sound) // 4, CLIP_SAMPLES - len(sound) // 4))
        regions = _place(active_regions(sound), onset)
        if len(regions) == 0:
            continue
        track = _at(sound, onset)
        out += track * _snr_gain(track, bed, regions, rng.uniform(*domain.distractor_snr_db))
    return out


# ----------------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class ClipRecord:
    """What the metadata needs from a rendered clip (small, so workers can send it back)."""

    split: str
    index: int
    filename: str
    environment: str
    events: tuple[tuple[float, float, str], ...]


def write_wav(path: Path, audio: np.ndarray) -> None:
    import soundfile as sf

    # our own rounding to int16, so the bytes never depend on libsndfile's float conversion;
    # the 32768 scale is the one soundfile reads back with
    pcm = np.clip(np.round(audio * 32768), -32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    path.write_bytes(buffer.getvalue())  # a full disk surfaces as OSError, like every other write


def _render_task(task: tuple[int, str, int, str]) -> ClipRecord:
    seed, split, index, audio_root = task
    clip = render_clip(seed, split, index)
    write_wav(Path(audio_root) / split / clip.filename, clip.audio)
    rows = tuple(sorted(row for e in clip.events for row in e.rows()))
    return ClipRecord(split, index, clip.filename, clip.environment, rows)


def _tsv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    lines = ["\t".join(header)] + ["\t".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_metadata(root: Path, records: list[ClipRecord], preset: str, seed: int) -> dict[str, Any]:
    meta = root / "metadata"
    meta.mkdir(parents=True, exist_ok=True)
    order = {c: i for i, c in enumerate(CLASSES)}
    events: dict[str, int] = {}
    clip_labels: dict[str, int] = {}
    for split in SPLITS:
        recs = sorted((r for r in records if r.split == split), key=lambda r: r.filename)
        _tsv(meta / f"{split}_durations.tsv", ("filename", "duration"),
             ((r.filename, f"{CLIP_SECONDS:.3f}") for r in recs))
        kind = SPLIT_KINDS[split]
        if kind == "strong":
            rows = sorted((r.filename, on, off, lab) for r in recs for on, off, lab in r.events)
            _tsv(meta / f"{split}.tsv", ("filename", "onset", "offset", "event_label"),
                 ((f, f"{on:.3f}", f"{off:.3f}", lab) for f, on, off, lab in rows))
            events[split] = len(rows)
        elif kind == "weak":
            tags = [(r.filename, sorted({lab for *_, lab in r.events}, key=order.__getitem__)) for r in recs]
            _tsv(meta / f"{split}.tsv", ("filename", "event_labels"), ((f, ",".join(t)) for f, t in tags))
            clip_labels[split] = sum(len(t) for _, t in tags)
    _tsv(meta / "environments.tsv", ("filename", "environment"),
         sorted((r.filename, r.environment) for r in records))
    manifest = {
        "name": f"desed-synth-{preset}-seed{seed}",
        "generator": "desed-synth",
        "generator_version": GENERATOR_VERSION,
        "preset": preset,
        "seed": seed,
        "sample_rate": SAMPLE_RATE,
        "clip_duration": CLIP_SECONDS,
        "classes": list(CLASSES),
        "environments": {name: list(subset) for name, subset in ENVIRONMENTS.items()},
        "splits": {split: SPLIT_KINDS[split] for split in SPLITS},
        "counts": dict(PRESETS[preset]),
        "events": events,
        "clip_labels": clip_labels,
    }
    # written last: its presence marks the dataset as complete
    (root / "dataset.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


# ----------------------------------------------------------------------------------- the API
def default_root(preset: str, seed: int) -> Path:
    """Where a dataset goes by default, relative to the working directory."""
    return Path("data") / "desed-synth" / f"{preset}-seed{seed}"


def read_manifest(root: str | os.PathLike) -> dict[str, Any] | None:
    """The dataset.json of a complete desed-synth root, or None when there is none."""
    path = Path(root) / "dataset.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ({exc}); regenerate with --force") from exc


def summary_table(root: str | os.PathLike):
    """A rich Table of a generated dataset: clips and labelled events per split."""
    from rich.table import Table

    manifest = read_manifest(root)
    if manifest is None:
        raise DataError(f"{root}: no dataset.json; generate it with `sedbench data synth`")
    table = Table(title=f"{manifest['name']} (generator {manifest['generator_version']})")
    for col in ("split", "labels", "clips", "events"):
        table.add_column(col, justify="left" if col in ("split", "labels") else "right")
    for split in SPLITS:
        kind = manifest["splits"][split]
        if kind == "strong":
            events = str(manifest["events"][split])
        elif kind == "weak":
            events = f"{manifest['clip_labels'][split]} clip tags"
        else:
            events = "-"
        table.add_row(split, kind, str(manifest["counts"][split]), events)
    return table


def _is_match(manifest: dict[str, Any] | None, preset: str, seed: int) -> bool:
    return bool(manifest) and (manifest.get("preset"), manifest.get("seed"),
                               manifest.get("generator_version")) == (preset, seed, GENERATOR_VERSION)


def generate(preset: str, seed: int = 0, out: Path | None = None, jobs: int | None = None,
             progress: bool = True, force: bool = False) -> Path:
    """Generate desed-synth ``preset`` with ``seed`` into ``out`` and return its path.

    An existing complete dataset with the same preset, seed and generator version is reused unless
    ``force``. The dataset is built in a hidden sibling folder and renamed into place at the end,
    so ``out`` is never half-written. ``jobs`` defaults to every core (a small preset stays in this
    process: starting workers would cost more than it saves); every clip has its own seeded
    generator, so the dataset is the same whatever the number of processes.
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown desed-synth preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if jobs is None:
        jobs = max(1, min(os.cpu_count() or 1, sum(PRESETS[preset].values()) // 200))
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, not {jobs}")
    out = Path(out) if out is not None else default_root(preset, seed)
    existing = read_manifest(out)
    if _is_match(existing, preset, seed) and not force:
        return out
    _check_replaceable(out, existing, force)
    # temp and backup folders are siblings of the resolved target ("." has no usable name)
    target = out.resolve()
    _remove_stale_temps(target)
    tmp = target.parent / f".{target.name}.tmp-{_owner()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        for split in SPLITS:
            (tmp / "audio" / split).mkdir(parents=True)
        records = _render_all(tmp, PRESETS[preset], seed, jobs, progress, label=f"desed-synth {preset}")
        _write_metadata(tmp, records, preset, seed)
        _move_into_place(tmp, target, preset, seed, force)
    except OSError as exc:
        raise DataError(f"{out}: cannot write the dataset ({exc.strerror or exc}); free disk space "
                        "or choose another --out") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def ensure_dataset(preset: str, seed: int = 0, root: Path | None = None, jobs: int | None = None,
                   progress: bool = True) -> Path:
    """The root of a complete desed-synth dataset, generating it only when it is missing."""
    return generate(preset, seed, out=root, jobs=jobs, progress=progress, force=False)


def _check_replaceable(out: Path, existing: dict[str, Any] | None, force: bool) -> None:
    if existing is not None:
        if not force:
            raise DataError(
                f"{out}: holds desed-synth {existing.get('preset')} seed {existing.get('seed')} (generator "
                f"{existing.get('generator_version')}); pass --force to replace it or choose another --out")
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        # never delete something that is not ours, even with --force
        raise DataError(f"{out}: exists and is not a desed-synth dataset; choose another --out or remove it")


def _owner() -> str:
    # host and pid: on a shared file system only this host can tell whether the pid is alive
    return f"{socket.gethostname()}-{os.getpid()}"


def _remove_stale_temps(out: Path) -> None:
    """Remove temp folders left on this host by generations that were killed (process gone)."""
    if not out.parent.is_dir():
        return
    host = socket.gethostname()
    for tmp in out.parent.glob(f".{out.name}.tmp-{host}-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _move_into_place(tmp: Path, out: Path, preset: str, seed: int, force: bool) -> None:
    if out.exists():
        if _is_match(read_manifest(out), preset, seed) and not force:
            return  # another process finished the same dataset first; it is identical
        old = out.parent / f".{out.name}.old-{_owner()}"
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def _render_all(root: Path, counts: dict[str, int], seed: int, jobs: int, progress: bool,
                label: str) -> list[ClipRecord]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    tasks = [(seed, split, i, str(root / "audio")) for split in SPLITS for i in range(counts[split])]
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    records: list[ClipRecord] = []
    with Progress(*columns, disable=not progress) as bar:
        task_id = bar.add_task(label, total=len(tasks))
        for record in _map(tasks, jobs):
            records.append(record)
            bar.advance(task_id)
    return records


def _map(tasks: list[tuple[int, str, int, str]], jobs: int) -> Iterable[ClipRecord]:
    if jobs == 1:
        yield from map(_render_task, tasks)
        return
    import multiprocessing as mp

    # spawn: the caller may hold threads (torch) that fork would copy in a locked state
    chunk = max(1, min(16, len(tasks) // (jobs * 8)))
    with mp.get_context("spawn").Pool(jobs) as pool:
        yield from pool.imap_unordered(_render_task, tasks, chunksize=chunk)
        pool.close()
        pool.join()
