"""Read a dataset in the DESED / DCASE Task 4 layout into a `DesedDataset`.

Two kinds of source:

* a desed-synth root (it has ``dataset.json``; the layout is fixed, see docs/architecture.md);
* a data config (YAML path or dict) mapping each split to its audio folder and TSVs, for real DESED
  (template: configs/data/desed.yaml). Relative paths in it resolve against ``root``; a relative
  ``root`` in a YAML file resolves against the file's folder.

Validation raises a one-line `DataError` naming the file at fault. `sedbench.data.check` reuses the
same readers but collects every problem instead of stopping at the first.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import soundfile as sf

from sedbench.config import check_dataclass, load_yaml
from sedbench.data.classes import CLASSES, SPLIT_KINDS, SPLITS
from sedbench.errors import ConfigError, DataError, first_line, unreadable_audio
from sedbench.io import atomic_write_json

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
STRONG_COLUMNS = ("filename", "onset", "offset", "event_label")
WEAK_COLUMNS = ("filename", "event_labels")
DURATION_COLUMNS = ("filename", "duration")
ENVIRONMENT_COLUMNS = ("filename", "environment")



@dataclass
class Split:
    """One split: its audio files (sorted) and labels.

    ``events`` has one row per event (DESED rows with an empty label, meaning "no events in this
    clip", are dropped); clips without events simply have no row. ``weak_labels`` maps every clip
    of a weak split to its sorted labels. ``durations`` comes from the durations TSV, or from the
    audio headers (read on first access) when there is none.
    """

    name: str
    kind: str  # 'strong' | 'weak' | 'unlabeled'
    audio_dir: Path
    filenames: list[str]
    events: pd.DataFrame | None = None
    weak_labels: dict[str, list[str]] | None = None
    environments: dict[str, str] | None = None
    durations_tsv: Path | None = None
    _durations: dict[str, float] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.filenames)

    def path(self, filename: str) -> Path:
        return self.audio_dir / filename

    @property
    def paths(self) -> list[Path]:
        return [self.audio_dir / f for f in self.filenames]

    @property
    def durations(self) -> dict[str, float]:
        if self._durations is None:
            self._durations = _durations_from_headers(self)
        return self._durations

    @durations.setter
    def durations(self, value: dict[str, float]) -> None:
        self._durations = value

    def clip_events(self) -> dict[str, list[tuple[float, float, str]]]:
        """{filename: [(onset, offset, label), ...]} for every clip (empty list: no events)."""
        out: dict[str, list[tuple[float, float, str]]] = {f: [] for f in self.filenames}
        if self.events is not None:
            for fn, on, off, lab in self.events[list(STRONG_COLUMNS)].itertuples(index=False):
                out[fn].append((float(on), float(off), str(lab)))
        return out

    def clip_labels(self) -> dict[str, list[str]]:
        """Clip-level labels: weak labels, or the classes present in a strong clip's events."""
        if self.weak_labels is not None:
            return self.weak_labels
        return {f: sorted({lab for _, _, lab in ev}) for f, ev in self.clip_events().items()}


@dataclass
class DesedDataset:
    name: str
    root: Path
    classes: list[str]
    splits: dict[str, Split]
    fingerprint: str
    # environment -> its class subset (desed-synth's dataset.json; `environment_classes:` in a config)
    environment_classes: dict[str, list[str]] | None = None
    # things a user should know that do not make the dataset unusable (e.g. an eval-only set without
    # events), by the split they are about: `evaluate --data --split eval` says only eval's
    notes_by_split: dict[str, list[str]] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """Every split's notes (a run reads them all)."""
        return [note for notes in self.notes_by_split.values() for note in notes]

    def notes_of(self, split: str) -> list[str]:
        return list(self.notes_by_split.get(split, []))

    def __getitem__(self, split: str) -> Split:
        if split not in self.splits:
            raise DataError(
                f"{self.root}: dataset has no split {split!r}; it has {', '.join(self.splits) or 'none'}"
            )
        return self.splits[split]

    def __contains__(self, split: str) -> bool:
        return split in self.splits


def load_dataset(source: str | Path | dict[str, Any]) -> DesedDataset:
    """Read a desed-synth root or a data config; raise a one-line DataError on the first problem."""
    problems: list[str] = []
    dataset = read_dataset(source, problems)
    if problems:
        more = f" ({len(problems) - 1} more: run `sedbench data check`)" if len(problems) > 1 else ""
        raise DataError(problems[0] + more)
    assert dataset is not None
    return dataset


def read_dataset(source: str | Path | dict[str, Any], problems: list[str]) -> DesedDataset | None:
    """Like `load_dataset`, but append problems to ``problems`` and read whatever is readable.

    Returns None when nothing usable could be read (e.g. the root does not exist).
    """
    config = resolve_source(source)
    root, classes = config["root"], config["classes"]
    env_map = _read_environments(config.get("environments"), problems)
    splits: dict[str, Split] = {}
    notes: dict[str, list[str]] = {}
    for name, spec in config["splits"].items():
        split = _read_split(name, spec, classes, env_map, config["missing_audio"], problems,
                            notes.setdefault(name, []))
        if split is not None:
            splits[name] = split
    if not splits and not problems:
        problems.append(f"{config['origin']}: no splits found; expected some of {', '.join(SPLITS)}")
    if not splits:
        return None
    for name, note in _check_strong_events(config, splits, problems):
        notes[name].append(note)
    fingerprint = _fingerprint(config, splits)
    return DesedDataset(config["name"], root, classes, splits, fingerprint, config["environment_classes"],
                        {name: split_notes for name, split_notes in notes.items() if split_notes})


EMPTY_STRONG_CONSEQUENCE = {
    "train_strong": "strong supervision would have nothing to learn from",
    "validation": "checkpoints would be selected on a split without events",
    "eval": "no metric can be computed on it",
}


def _check_strong_events(config: dict[str, Any], splits: dict[str, Split], problems: list[str]
                         ) -> list[tuple[str, str]]:
    """A strong split whose labels hold no event is an error, except in an eval-only set (a notice,
    returned as (split, note))."""
    notes: list[tuple[str, str]] = []
    eval_only = set(splits) <= {"eval"}
    for name, split in splits.items():
        if split.kind != "strong" or split.events is None or len(split.events):
            continue
        tsv = config["splits"][name].get("strong", split.audio_dir)
        if eval_only:
            notes.append((name, f"{tsv}: split {name} has no events; it can be predicted but not scored"))
        else:
            problems.append(f"{tsv}: split {name} has no events (only a header or empty labels); "
                            f"{EMPTY_STRONG_CONSEQUENCE.get(name, 'it cannot be used')}; fix or regenerate the labels")
    return notes


# ----------------------------------------------------------------------------------- sources


def resolve_source(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Normalise a source to {name, root, classes, splits: {name: {audio, strong|weak, durations}}, ...}."""
    if isinstance(source, dict):
        return _from_config(source, base=Path.cwd(), origin="data config")
    path = Path(source)
    if path.is_dir():
        if (path / "dataset.json").is_file():
            return _from_synth_root(path)
        raise DataError(
            f"{path}: not a desed-synth root (no dataset.json); for real DESED pass a data config "
            "such as configs/data/desed.yaml"
        )
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise DataError(f"{path}: no such data config; check the path")
        return _from_config(load_yaml(path), base=path.resolve().parent, origin=str(path))
    raise DataError(f"{path}: no such dataset folder or data config (.yaml); check the path")


def _from_synth_root(root: Path) -> dict[str, Any]:
    meta_path = root / "dataset.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{meta_path}: unreadable dataset.json ({exc}); regenerate the dataset") from exc
    splits: dict[str, dict[str, Path]] = {}
    for name in SPLITS:
        audio = root / "audio" / name
        if not audio.exists():
            continue
        spec = {"audio": audio, "durations": root / "metadata" / f"{name}_durations.tsv"}
        kind = SPLIT_KINDS[name]
        if kind == "strong":
            spec["strong"] = root / "metadata" / f"{name}.tsv"
        elif kind == "weak":
            spec["weak"] = root / "metadata" / f"{name}.tsv"
        splits[name] = spec
    env = root / "metadata" / "environments.tsv"
    seed = f"s{meta['seed']}" if "seed" in meta else None
    name = meta.get("name") or "-".join(str(x) for x in ("desed-synth", meta.get("preset"), seed) if x)
    return {
        "name": name,
        "root": root.resolve(),
        "origin": str(root),
        "classes": list(meta.get("classes") or CLASSES),
        "splits": splits,
        "environments": env if env.is_file() else None,
        "environment_classes": meta.get("environments")
        if isinstance(meta.get("environments"), dict)
        else None,
        "missing_audio": "error",
    }


def _as_text(value: Any) -> Any:
    """A config's paths and names as the text they are read as: YAML reads `root: 2021` as a number, the
    Python API may pass Paths; a split left empty ("" or []) means "not available"."""
    if isinstance(value, dict):
        return {k: (None if k != "classes" and v in ("", []) else _as_text(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return value if value is None or isinstance(value, str | bool) else str(value)


@dataclass
class DataConfig:
    """The keys of a data config (configs/data/desed.yaml says what each is for); a misspelt key is
    refused rather than ignored (``clases:`` would silently mean the 10 DESED classes)."""

    root: str | None = None
    name: str | None = None
    classes: list[str] | None = None
    missing_audio: Literal["error", "drop"] = "error"
    splits: dict[str, dict[str, str | None] | None] | None = None
    environments: str | None = None
    environment_classes: dict[str, list[str]] | None = None


def _from_config(config: dict[str, Any], base: Path, origin: str) -> dict[str, Any]:
    try:
        check_dataclass(DataConfig, _as_text(config), "")
    except ConfigError as exc:
        raise DataError(f"{origin}: {exc}") from exc
    if "root" not in config:
        raise DataError(f"{origin}: missing `root:` (the dataset folder); add it")
    root = (base / Path(os.path.expanduser(str(config["root"])))).resolve()
    if not root.is_dir():
        raise DataError(f"{origin}: root {root} does not exist; set `root:` to the DESED dataset folder")
    splits_cfg = config.get("splits") or {}
    if not isinstance(splits_cfg, dict):
        raise DataError(f"{origin}: `splits:` must be a mapping of split name to its files")
    splits: dict[str, dict[str, Path]] = {}
    for name, spec in splits_cfg.items():
        if name not in SPLIT_KINDS:
            raise DataError(f"{origin}: unknown split {name!r}; use some of {', '.join(SPLITS)}")
        if not spec:  # a split left empty in the template means "not available"
            continue
        if not isinstance(spec, dict) or "audio" not in spec:
            raise DataError(f"{origin}: split {name} needs at least `audio:` (its audio folder)")
        kind = SPLIT_KINDS[name]
        if kind != "unlabeled" and kind not in spec:
            raise DataError(f"{origin}: split {name} needs `{kind}:` (its {kind} labels TSV)")
        splits[name] = {k: root / os.path.expanduser(str(v)) for k, v in spec.items() if v}
    env = config.get("environments")
    missing_audio = config.get("missing_audio", "error")
    return {
        "name": str(config.get("name") or root.name),
        "root": root,
        "origin": origin,
        "classes": list(config.get("classes") or CLASSES),
        "splits": splits,
        "environments": root / env if env else None,
        "environment_classes": config.get("environment_classes"),
        "missing_audio": missing_audio,
    }


# ------------------------------------------------------------------------------------ splits


def _read_split(
    name: str,
    spec: dict[str, Path],
    classes: list[str],
    env_map: dict[str, str] | None,
    missing_audio: str,
    problems: list[str],
    notes: list[str],
) -> Split | None:
    audio_dir = Path(spec["audio"])
    if not audio_dir.is_dir():
        problems.append(f"{audio_dir}: audio folder of split {name} not found; check the path")
        return None
    filenames = list_audio(audio_dir)
    if not filenames:
        problems.append(f"{audio_dir}: split {name} is empty (no .wav/.flac files); add audio or drop it")
        return None
    same_clip = _same_clip_id(filenames)
    if same_clip:
        problems.append(f"{audio_dir}: {' and '.join(same_clip)} are one clip id (scores and labels are keyed by "
                        "the name without its extension); keep one of them")
        return None
    kind = SPLIT_KINDS[name]
    split = Split(name, kind, audio_dir, filenames)
    known = set(filenames)
    if kind == "strong":
        # a stray file changes metrics only where clips are scored, and a durations TSV lists those clips
        listed = spec.get("durations") is not None and Path(spec["durations"]).is_file()
        split.events = _read_strong(Path(spec["strong"]), classes, known, missing_audio, problems, notes,
                                    said=listed or name not in ("validation", "eval"))
    elif kind == "weak":
        split.weak_labels = _read_weak(Path(spec["weak"]), classes, filenames, missing_audio, problems, notes)
    if spec.get("durations") is not None:
        split.durations_tsv = Path(spec["durations"])
        durations = _read_durations(split.durations_tsv, known, problems)
        if durations is not None:
            split.durations = durations
    if env_map is not None:
        split.environments = {f: env_map[f] for f in filenames if f in env_map}
    return split


def _same_clip_id(filenames: list[str]) -> list[str]:
    """The first files that differ only in their extension (x.wav and x.flac), or none."""
    seen: dict[str, str] = {}
    for fn in filenames:
        stem = os.path.splitext(fn)[0]
        if stem in seen:
            return [seen[stem], fn]
        seen[stem] = fn
    return []


def list_audio(folder: Path) -> list[str]:
    """Sorted audio file names directly in ``folder`` (hidden and temporary files skipped)."""
    return sorted(
        e.name
        for e in os.scandir(folder)
        if e.is_file() and not e.name.startswith(".") and e.name.lower().endswith(AUDIO_EXTENSIONS)
    )


def read_tsv(path: Path, columns: Iterable[str], problems: list[str]) -> pd.DataFrame | None:
    """Read a tab-separated file with the given required columns (extra columns are kept)."""
    if not path.is_file():
        problems.append(f"{path}: TSV not found; check the path in the data config")
        return None
    try:
        # index_col=False: a trailing tab on a row would otherwise make the file names the index and
        # shift every column left (then no listed file is found)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            df = pd.read_csv(path, sep="\t", dtype={"filename": str}, keep_default_na=True, index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        problems.append(f"{path}: unreadable TSV ({first_line(exc)}); fix or regenerate it")
        return None
    dropped_fields = False  # pandas' ParserWarning: a row longer than the header lost its extra fields
    for w in caught:  # pandas' other warnings pass on as they came
        if issubclass(w.category, pd.errors.ParserWarning):
            dropped_fields = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if len(df.columns) > 1 and "filename" in df.columns:
        # a row typed with spaces reads as one long file name with the other columns empty
        spaced = df.index[df["filename"].astype(str).str.contains(r"\s") & df.iloc[:, 1:].isna().all(axis=1)]
        if len(spaced):
            problems.append(f"{path} (row {spaced[0] + 2}): not tab-separated ({df['filename'][spaced[0]]!r}); "
                            f"{len(spaced)} such row(s): separate the columns with tabs")
            return None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        problems.append(
            f"{path}: missing column(s) {', '.join(missing)}; expected tab-separated columns "
            f"{' '.join(columns)} (found: {' '.join(map(str, df.columns))})"
        )
        return None
    if dropped_fields:
        row = _row_with_extra_fields(path, len(df.columns))  # pandas said so naming no file
        if row is not None:
            problems.append(f"{path} (row {row}): more tab-separated fields than the header's {len(df.columns)}; "
                            "fix the row (a label with a tab in it?)")
            return None
    return df


def _row_with_extra_fields(path: Path, n_columns: int) -> int | None:
    """The first row (1-based, the header is row 1) with a non-empty field past the header's columns;
    trailing tabs alone are fine (index_col=False reads them)."""
    with open(path, encoding="utf-8") as f:
        for row, line in enumerate(f, start=1):
            if any(field.strip() for field in line.rstrip("\r\n").split("\t")[n_columns:]):
                return row
    return None


def _unknown_label(path: Path, row: int, label: str, classes: list[str]) -> str:
    return f"{path} (row {row + 2}): unknown label {label!r}; valid labels: {', '.join(classes)}"


def _missing_audio(path: Path, missing: list[str], policy: str, problems: list[str], notes: list[str]) -> None:
    if missing and policy == "error":
        problems.append(
            f"{path}: {len(missing)} file(s) not found in the audio folder, e.g. {missing[0]}; "
            "add the audio or set `missing_audio: drop` in the data config"
        )
    elif missing:  # dropped as asked, but a split that shrank changes every figure on it: say so once
        notes.append(f"{path}: {len(missing)} file(s) without audio left out (missing_audio: drop), e.g. {missing[0]}")


def _read_strong(
    path: Path, classes: list[str], known: set[str], missing_audio: str, problems: list[str], notes: list[str],
    said: bool = True,
) -> pd.DataFrame | None:
    """Events of a strong TSV. A clip without a row has no events; with ``said=False`` (a scored split
    whose clips no durations TSV lists) such files are noted once: a stray file in the folder would be
    scored as a clip without events, where DESED_task reads only the TSV's clips."""
    df = read_tsv(path, STRONG_COLUMNS, problems)
    if df is None:
        return None
    # DESED lists clips without events as a row with an empty label (and empty onset/offset).
    labelled = df["event_label"].notna() & (df["event_label"].astype(str).str.strip() != "")
    timed = df["onset"].notna() | df["offset"].notna()
    unlabelled = np.flatnonzero((timed & ~labelled).to_numpy())
    if len(unlabelled):  # an event with times but no class: dropping it would score its sound as a false alarm
        problems.append(f"{path} (row {unlabelled[0] + 2}): onset/offset without an event_label; add the label "
                        "or, for a clip without events, leave onset and offset empty too")
        return None
    valid = set(classes)
    for i in np.flatnonzero(labelled.to_numpy()):
        label = str(df["event_label"].iat[i]).strip()
        if label not in valid:
            problems.append(_unknown_label(path, int(i), label, classes))
            return None
    events = df.loc[labelled, list(STRONG_COLUMNS)].copy()
    events["event_label"] = events["event_label"].astype(str).str.strip()
    for col in ("onset", "offset"):
        events[col] = pd.to_numeric(events[col], errors="coerce")
    rows = np.flatnonzero(labelled.to_numpy())  # TSV row of each event, for messages
    bad = np.flatnonzero((events["onset"].isna() | events["offset"].isna()).to_numpy())
    if len(bad):
        problems.append(f"{path} (row {rows[bad[0]] + 2}): onset/offset missing or not a number; fix the row")
        return None
    negative = np.flatnonzero((events["onset"] < 0).to_numpy())
    if len(negative):
        i = negative[0]
        problems.append(f"{path} (row {rows[i] + 2}): negative onset {events['onset'].iat[i]}; fix the row")
        return None
    flipped = np.flatnonzero((events["onset"] > events["offset"]).to_numpy())
    if len(flipped):
        i = flipped[0]
        on, off = events["onset"].iat[i], events["offset"].iat[i]
        problems.append(f"{path} (row {rows[i] + 2}): onset {on} > offset {off}; swap or fix them")
        return None
    all_names = df["filename"].astype(str)
    missing = sorted(set(all_names) - known)
    _missing_audio(path, missing, missing_audio, problems, notes)
    unlisted = sorted(known - set(all_names))
    if unlisted and not said:
        notes.append(f"{path}: {len(unlisted)} audio file(s) of its folder have no row (e.g. {unlisted[0]}) and "
                     "count as clips without events; DESED lists such a clip with an empty event_label, so "
                     "add that row or move a stray file out")
    events = events[events["filename"].isin(known)]
    events = events.sort_values(["filename", "onset", "offset", "event_label"], kind="stable")
    return events.reset_index(drop=True)


def _read_weak(
    path: Path, classes: list[str], filenames: list[str], missing_audio: str, problems: list[str], notes: list[str]
) -> dict[str, list[str]] | None:
    df = read_tsv(path, WEAK_COLUMNS, problems)
    if df is None:
        return None
    valid = set(classes)
    labels: dict[str, list[str]] = {f: [] for f in filenames}
    missing: list[str] = []
    for i, (fn, raw) in enumerate(df[list(WEAK_COLUMNS)].itertuples(index=False)):
        names = [] if pd.isna(raw) else [s.strip() for s in str(raw).split(",") if s.strip()]
        for label in names:
            if label not in valid:
                problems.append(_unknown_label(path, i, label, classes))
                return None
        if fn not in labels:
            missing.append(str(fn))
            continue
        labels[fn] = sorted(set(labels[fn]) | set(names))
    _missing_audio(path, sorted(missing), missing_audio, problems, notes)
    return labels


def _read_durations(path: Path, known: set[str], problems: list[str]) -> dict[str, float] | None:
    if not path.is_file():
        return None  # optional: durations then come from the audio headers
    df = read_tsv(path, DURATION_COLUMNS, problems)
    if df is None:
        return None
    durations = pd.to_numeric(df["duration"], errors="coerce")
    if durations.isna().any():
        row = int(np.flatnonzero(durations.isna().to_numpy())[0])
        problems.append(f"{path} (row {row + 2}): duration missing or not a number; fix the row")
        return None
    out = {str(f): float(d) for f, d in zip(df["filename"], durations, strict=True) if f in known}
    missing = sorted(known - set(out))
    if missing:
        problems.append(
            f"{path}: no duration for {len(missing)} audio file(s), e.g. {missing[0]}; "
            "add them or delete the TSV (durations are then read from the audio headers)"
        )
        return None
    return out


def _read_environments(path: Path | None, problems: list[str]) -> dict[str, str] | None:
    if path is None:
        return None
    df = read_tsv(Path(path), ENVIRONMENT_COLUMNS, problems)
    if df is None:
        return None
    return dict(zip(df["filename"].astype(str), df["environment"].astype(str), strict=True))


def _durations_from_headers(split: Split) -> dict[str, float]:
    """Durations for a split without a durations TSV: soundfile reads only the headers."""
    durations = {}
    for fn in split.filenames:
        try:
            info = sf.info(str(split.path(fn)))
        except (RuntimeError, ValueError, OSError) as exc:
            raise unreadable_audio(split.path(fn), exc) from exc
        durations[fn] = info.frames / info.samplerate
    return durations



# ------------------------------------------------------------------------------- fingerprint


def digest_memo(root: str | os.PathLike) -> Path:
    """Where the clips' SHA-256 of the data under ``root`` are remembered: a per-user cache
    (``$SEDBENCH_DIGESTS``, else ``$XDG_CACHE_HOME/sedbench/digests``, else ``~/.cache/...``), so
    read-only or shared data need no write access and a dry run writes nothing beside the data."""
    base = os.environ.get("SEDBENCH_DIGESTS") or (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sedbench" / "digests")
    return Path(base) / f"{hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:16]}.json"


def _fingerprint(config: dict[str, Any], splits: dict[str, Split]) -> str:
    """Hash of the data's content: each clip's name and bytes, the label files, the class list.

    Content, not file times: byte-identical data generated in a fresh clone, or copied to another
    machine, gets the same fingerprint, so its settings group and cached teachers are found again.
    (Names, sizes and mtimes, as before, gave a fresh clone's identical desed-synth a new key, and
    every run and teacher was retrained under it.) A clip is read again only when its size, mtime,
    ctime or inode differ from the memo (``digest_memo``), so a second load costs a stat per file.
    """
    digests = _FileDigests(Path(config["root"]))
    h = hashlib.sha256()
    h.update(json.dumps(config["classes"]).encode())
    for name in sorted(splits):
        split = splits[name]
        h.update(f"\0split {name} {split.kind}\0".encode())
        wanted = set(split.filenames)
        for entry in sorted(os.scandir(split.audio_dir), key=lambda e: e.name):
            if entry.name in wanted:
                h.update(f"{entry.name}\t{digests.of(entry.path)}\n".encode())
        for key, path in sorted(config["splits"][name].items()):
            if key != "audio" and Path(path).is_file():
                h.update(f"\0{key}\0".encode())
                h.update(Path(path).read_bytes())
    env = config.get("environments")
    if env is not None and Path(env).is_file():
        h.update(b"\0environments\0" + Path(env).read_bytes())
    digests.save()
    return h.hexdigest()[:16]


class _FileDigests:
    """SHA-256 of files, remembered by (size, mtime, ctime, inode) in a JSON memo, as make and rsync
    judge a file unchanged (ctime also catches a rewrite that restores the mtime). Keys are paths
    relative to the data's resolved root. A memo that cannot be read or written is recomputed."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.path = digest_memo(root)
        try:
            known = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        known = known if isinstance(known, dict) else {}  # a damaged memo is an empty one
        self.known: dict[str, list] = {k: v for k, v in known.items() if isinstance(v, list) and len(v) == 5}
        self.changed = False

    def of(self, path: str) -> str:
        real = Path(path).resolve()
        key = str(real.relative_to(self.root)) if real.is_relative_to(self.root) else str(real)
        try:
            with open(real, "rb") as f:
                st = os.fstat(f.fileno())  # the stamp of the file that is hashed, even if it is replaced
                stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
                known = self.known.get(key)
                if known is not None and known[:4] == stamp:
                    return str(known[4])
                # hashlib.file_digest needs Python 3.11; the project supports 3.10
                h = hashlib.sha256()
                while block := f.read(1 << 20):
                    h.update(block)
        except OSError:
            return "unreadable"  # the audio check names the file in one line; nothing cached
        self.known[key] = [*stamp, h.hexdigest()]
        self.changed = True
        return h.hexdigest()

    def save(self) -> None:
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.path, self.known)
        except OSError:
            pass  # no writable cache folder: the digests are recomputed next time, nothing is lost
