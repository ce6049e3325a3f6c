"""`sedbench data check`: every problem of a dataset at once, plus a per-split summary.

Problems make the dataset unusable (missing or unreadable files, bad TSVs, events outside their
clip); notes are things the suite handles by itself (other sample rates are resampled, multi-channel
audio is down-mixed) but that a user should know about.
"""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sedbench.data.desed import DesedDataset, Split, read_dataset
from sedbench.errors import DataError, unreadable_audio

TOLERANCE_S = 0.1  # event offsets may overshoot the clip by this much (rounding in DESED TSVs)
TRAINING_LENGTH_S = 10.0  # FeatureConfig.clip_duration (DESED's 10 s clips), kept here so data check needs no torch


@dataclass
class CheckReport:
    source: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    dataset: DesedDataset | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _AudioStats:
    rates: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    durations: dict[str, float] = field(default_factory=dict)
    resampled: list[str] = field(default_factory=list)
    downmixed: list[str] = field(default_factory=list)


def check_dataset(
    source: str | Path | dict[str, Any], sample_rate: int = 16000, progress: bool = False,
    clip_duration: float = TRAINING_LENGTH_S,
) -> CheckReport:
    """Read the dataset collecting (not raising) problems, then check every audio file and event.
    ``clip_duration``: the training length, against which clip lengths are reported."""
    report = CheckReport(str(source))
    try:
        dataset = read_dataset(source, report.problems)
    except DataError as exc:  # the source itself is unusable (no such root, bad config)
        report.problems.append(str(exc))
        return report
    if dataset is None:
        return report
    report.dataset = dataset
    report.notes.extend(dataset.notes)
    rows = []
    with Progress(console=Console(stderr=True), disable=not progress, transient=True) as bar:
        task = bar.add_task("checking audio", total=sum(len(s) for s in dataset.splits.values()))
        for split in dataset.splits.values():
            stats = _check_audio(split, sample_rate, report, lambda: bar.advance(task))
            _check_events(split, stats, report)
            _check_coverage(split, report)
            _note_lengths(split, stats, clip_duration, report)
            rows.append(_summary_row(split, stats, dataset.classes))
    report.summary = pd.DataFrame(rows).set_index("split")
    return report


def check_audio(dataset: DesedDataset, sample_rate: int = 16000, progress: bool | Progress = False,
                splits: list[str] | None = None) -> list[str]:
    """The audio and event checks of `check_dataset` on a dataset already read (``splits``: only
    these): its problems. ``progress``: show a bar, or add a task to this running ``Progress``."""
    report = CheckReport(str(dataset.root), dataset=dataset)
    chosen = [dataset.splits[name] for name in splits] if splits is not None else list(dataset.splits.values())
    shared = isinstance(progress, Progress)
    bar = progress if shared else Progress(console=Console(stderr=True), disable=not progress, transient=True)
    with nullcontext() if shared else bar:
        task = bar.add_task("checking audio", total=sum(len(s) for s in chosen))
        for split in chosen:
            stats = _check_audio(split, sample_rate, report, lambda: bar.advance(task))
            _check_events(split, stats, report)
        bar.remove_task(task)
    return report.problems


CHECK_VERSION = 1  # a new version of the checks runs them again on datasets that passed an older one


def ensure_checked(dataset: DesedDataset, cache_root: str | Path, sample_rate: int = 16000,
                   progress: bool | Progress = False, splits: list[str] | None = None) -> None:
    """``check_audio``, once per dataset fingerprint (and split selection): a truncated or unreadable
    file, or an event outside its clip, fails here in one line, before anything trains or is scored.
    A pass is remembered under ``cache_root/data-checks``; a failure is not."""
    from sedbench.io import atomic_write_json

    part = "" if splits is None else "-" + "+".join(sorted(splits))
    marker = Path(cache_root) / "data-checks" / f"{dataset.fingerprint}{part}-v{CHECK_VERSION}.json"
    if marker.is_file():
        return
    problems = check_audio(dataset, sample_rate, progress=progress, splits=splits)
    if problems:
        more = f" ({len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DataError(f"{problems[0]}{more}; `sedbench data check` lists every problem")
    atomic_write_json(marker, {"dataset": dataset.name, "root": str(dataset.root), "splits": splits,
                               "fingerprint": dataset.fingerprint, "ok": True})


def _check_audio(split: Split, sample_rate: int, report: CheckReport, advance: Any) -> _AudioStats:
    stats = _AudioStats()
    for fn in split.filenames:
        path = split.path(fn)
        advance()
        try:
            info = sf.info(str(path))
            sf.read(str(path), dtype="float32")  # the header can be fine while the data is not
        except (RuntimeError, ValueError, OSError, TypeError) as exc:
            report.problems.append(str(unreadable_audio(path, exc)))
            continue
        if info.frames == 0:
            report.problems.append(f"{path}: audio file has no samples; replace or remove it")
            continue
        stats.rates[info.samplerate] += 1
        stats.channels[info.channels] += 1
        stats.durations[fn] = info.frames / info.samplerate
        if info.samplerate != sample_rate:
            stats.resampled.append(fn)
        if info.channels > 1:
            stats.downmixed.append(fn)
    if stats.resampled:
        rates = ", ".join(f"{r} Hz" for r in sorted(stats.rates) if r != sample_rate)
        report.notes.append(
            f"{split.audio_dir}: {len(stats.resampled)} file(s) at {rates} (e.g. {stats.resampled[0]}); "
            f"they will be resampled to {sample_rate} Hz"
        )
    if stats.downmixed:
        report.notes.append(
            f"{split.audio_dir}: {len(stats.downmixed)} multi-channel file(s) (e.g. {stats.downmixed[0]}); "
            "they will be down-mixed to mono"
        )
    return stats


def _check_events(split: Split, stats: _AudioStats, report: CheckReport) -> None:
    if split.durations_tsv is None or not split.durations_tsv.is_file():
        split.durations = stats.durations  # already read from the headers: spare a second pass
    else:
        _check_durations_tsv(split, stats, report)
    if split.events is None or split.events.empty:
        return
    duplicated = split.events[split.events.duplicated(["filename", "onset", "offset", "event_label"])]
    if len(duplicated):
        # kept, not dropped: the official scoring counts each row as a ground-truth event too, and a
        # tool that silently rewrote the labels would score differently from DESED_task
        fn, onset, offset, label = duplicated[["filename", "onset", "offset", "event_label"]].iloc[0]
        report.notes.append(
            f"{split.name}: {len(duplicated)} event row(s) repeat an earlier row exactly (e.g. {fn} {label} "
            f"{onset:g}-{offset:g} s); each counts as its own ground-truth event in PSDS: remove the copies "
            "if they are mistakes"
        )
    for fn, onset, offset, label in split.events[["filename", "onset", "offset", "event_label"]].itertuples(
        index=False
    ):
        where = f"{split.name}: {fn} {label} {onset:g}-{offset:g} s"
        duration = stats.durations.get(fn)  # the audio's own length (None when unreadable)
        if onset >= offset:  # (a negative onset is refused where the TSV is read, with its row)
            report.problems.append(f"{where}: onset must be before offset; fix the labels TSV")
        elif duration is not None and offset > duration + TOLERANCE_S:
            report.problems.append(
                f"{where}: offset after the clip's end ({duration:g} s); fix the labels TSV"
            )


def _check_durations_tsv(split: Split, stats: _AudioStats, report: CheckReport) -> None:
    """A truncated download keeps its name but not its length: compare the TSV with the audio."""
    for fn, listed in split.durations.items():
        actual = stats.durations.get(fn)
        if actual is not None and abs(actual - listed) > TOLERANCE_S:
            report.problems.append(
                f"{split.path(fn)}: audio lasts {actual:.3f} s but {split.durations_tsv.name} says "
                f"{listed:g} s; re-download or regenerate the file (or fix the TSV)"
            )


def _check_coverage(split: Split, report: CheckReport) -> None:
    if split.weak_labels is not None:
        empty = [f for f, labels in split.weak_labels.items() if not labels]
        if empty:
            report.notes.append(
                f"{split.name}: {len(empty)} clip(s) without weak labels (e.g. {empty[0]}); "
                "they are treated as containing no events"
            )


def _note_lengths(split: Split, stats: _AudioStats, clip_duration: float, report: CheckReport) -> None:
    """Clips of another length than the training length are handled, but differently by purpose:
    said once per split, so a real-data user knows what the features and the metrics see."""
    lengths = stats.durations
    short = [fn for fn, d in lengths.items() if d < clip_duration - TOLERANCE_S]
    long = [fn for fn, d in lengths.items() if d > clip_duration + TOLERANCE_S]
    if not short and not long:
        return
    scored = split.name in ("validation", "eval")
    parts = []
    if short:
        shortest = min(short, key=lengths.get)
        parts.append(f"{len(short)} shorter (shortest {lengths[shortest]:.2f} s, {shortest}): zero-padded"
                     + ("; scored over their own length" if scored else ""))
    if long:
        longest = max(long, key=lengths.get)
        parts.append(f"{len(long)} longer (longest {lengths[longest]:.2f} s, {longest}): "
                     + ("scored in windows over their whole length" if scored
                        else f"training reads their first {clip_duration:g} s"))
    report.notes.append(f"{split.name}: of {len(lengths)} clip(s), {'; '.join(parts)} "
                        f"(training length {clip_duration:g} s)")


def _summary_row(split: Split, stats: _AudioStats, classes: list[str]) -> dict[str, Any]:
    if split.events is not None:
        counts = split.events["event_label"].value_counts()
    elif split.weak_labels is not None:
        counts = pd.Series(Counter(lab for labels in split.weak_labels.values() for lab in labels))
    else:
        counts = pd.Series(dtype=np.int64)
    row: dict[str, Any] = {
        "split": split.name,
        "kind": split.kind,
        "clips": len(split),
        "events": int(counts.sum()) if split.kind != "unlabeled" else None,
        "duration_s": round(sum(stats.durations.values()), 1),
        "clip_s": _length_range(stats.durations.values()),
        "sample_rates": ",".join(str(r) for r in sorted(stats.rates)),
        "channels": ",".join(str(c) for c in sorted(stats.channels)),
    }
    for c in classes:
        row[c] = int(counts.get(c, 0)) if split.kind != "unlabeled" else None
    return row


def _length_range(lengths: Any) -> str:
    lengths = list(lengths)
    if not lengths:
        return "-"
    low, high = min(lengths), max(lengths)
    return f"{low:.3g}" if high - low < 0.05 else f"{low:.3g}-{high:.3g}"


def print_report(report: CheckReport, console: Console, max_problems: int = 20) -> None:
    """The summary table (and events per class), then notes, then at most ``max_problems`` problems."""
    df = report.summary
    if not df.empty:
        dataset = report.dataset
        title = f"{dataset.name}: {dataset.root}" if dataset else report.source
        table = Table(title=title)
        for col in ("split", "kind", "clips", "events", "hours", "clip s", "Hz", "channels"):
            table.add_column(col, justify="left" if col in ("split", "kind") else "right", no_wrap=True)
        for split, r in df.iterrows():
            events = "-" if pd.isna(r["events"]) else str(int(r["events"]))
            hours = f"{r['duration_s'] / 3600:.2f}"
            table.add_row(split, r["kind"], str(r["clips"]), events, hours, r["clip_s"], r["sample_rates"],
                          r["channels"])
        console.print(table)
        console.print(_class_table(report))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    for problem in report.problems[:max_problems]:
        console.print(f"[bold red]problem:[/] {problem}", highlight=False, soft_wrap=True)
    if len(report.problems) > max_problems:
        console.print(f"... and {len(report.problems) - max_problems} more problem(s)")
    if report.ok:
        console.print(f"[green]ok[/]: {report.source} has no problems", highlight=False, soft_wrap=True)
    else:
        console.print(f"[bold red]{len(report.problems)} problem(s)[/] in {report.source}", highlight=False)


def _class_table(report: CheckReport) -> Table:
    """Events per class (rows) and labelled split (columns)."""
    df = report.summary
    labelled = [s for s in df.index if df.loc[s, "kind"] != "unlabeled"]
    table = Table(title="events per class (weak splits: clips per class)")
    table.add_column("class", no_wrap=True)
    for s in labelled:
        table.add_column(s, justify="right")
    for c in report.dataset.classes if report.dataset else []:
        table.add_row(c, *(str(int(df.loc[s, c])) for s in labelled))
    return table
