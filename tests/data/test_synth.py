"""desed-synth: determinism, layout, label validity, atomic writes (tiny preset, a few seconds)."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from sedbench.cli import SYNTH_PRESETS, cli
from sedbench.data import synth
from sedbench.data.classes import CLASSES, ENVIRONMENTS, SPLITS
from sedbench.errors import ConfigError, DataError

STRONG = [s for s in SPLITS if synth.SPLIT_KINDS[s] == "strong"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return synth.generate("tiny", seed=0, out=tmp_path_factory.mktemp("a") / "tiny", jobs=1, progress=False)


@pytest.fixture(scope="module")
def tiny_parallel(tmp_path_factory) -> Path:
    return synth.generate("tiny", seed=0, out=tmp_path_factory.mktemp("b") / "tiny", jobs=2, progress=False)


@pytest.fixture
def micro(monkeypatch) -> str:
    """A two-clips-per-split preset, for the tests that generate several times."""
    monkeypatch.setitem(synth.PRESETS, "micro", {split: 2 for split in SPLITS})
    return "micro"


def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / "metadata" / name, sep="\t", dtype={"event_labels": str})


def environments(root: Path) -> dict[str, str]:
    return read(root, "environments.tsv").set_index("filename")["environment"].to_dict()


# ------------------------------------------------------------------------------ determinism
def test_same_files_whatever_the_number_of_jobs(tiny, tiny_parallel):
    a, b = hashes(tiny), hashes(tiny_parallel)
    assert a == b
    # wavs, dataset.json, 3 strong + 1 weak label files, durations per split, environments
    assert len(a) == sum(synth.PRESETS["tiny"].values()) + 1 + 3 + 1 + len(SPLITS) + 1


def test_another_seed_gives_other_audio():
    a = synth.render_clip(0, "train_strong", 0).audio
    b = synth.render_clip(1, "train_strong", 0).audio
    assert not np.allclose(a, b)


def test_rerendered_clip_matches_the_file_on_disk(tiny):
    clip = synth.render_clip(0, "eval", 3, stems=True)
    on_disk, sr = sf.read(tiny / "audio" / "eval" / clip.filename, dtype="float64")
    assert sr == synth.SAMPLE_RATE
    assert np.max(np.abs(on_disk - clip.audio)) <= 0.5 / 32768 + 1e-12
    stems = clip.background + sum(e.track for e in clip.events)
    assert np.allclose(stems, clip.audio)


# ----------------------------------------------------------------------------------- layout
def test_manifest(tiny):
    meta = json.loads((tiny / "dataset.json").read_text())
    assert meta["preset"] == "tiny" and meta["seed"] == 0
    assert meta["generator_version"] == synth.GENERATOR_VERSION
    assert meta["sample_rate"] == 16000 and meta["clip_duration"] == 10.0
    assert meta["classes"] == list(CLASSES)
    assert meta["environments"] == {k: list(v) for k, v in ENVIRONMENTS.items()}
    assert meta["counts"] == synth.PRESETS["tiny"]
    for split in STRONG:
        assert meta["events"][split] == len(read(tiny, f"{split}.tsv"))
    assert meta["clip_labels"]["train_weak"] == sum(len(t.split(",")) for t in read(tiny, "train_weak.tsv")
                                                    ["event_labels"])


def test_audio_files_are_10s_16k_mono_pcm16(tiny):
    for split in SPLITS:
        files = sorted((tiny / "audio" / split).iterdir())
        expected = [f"{split}_{i:05d}.wav" for i in range(synth.PRESETS["tiny"][split])]
        assert [f.name for f in files] == expected
        for f in files:
            info = sf.info(f)
            assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 160000, "PCM_16")


def test_durations_and_environments_cover_every_clip(tiny):
    envs = environments(tiny)
    for split in SPLITS:
        dur = read(tiny, f"{split}_durations.tsv")
        assert list(dur.columns) == ["filename", "duration"]
        assert dur["filename"].tolist() == sorted(p.name for p in (tiny / "audio" / split).iterdir())
        assert (dur["duration"] == 10.0).all()
        assert set(dur["filename"]) <= set(envs)
    assert len(envs) == sum(synth.PRESETS["tiny"].values())
    assert set(envs.values()) <= set(ENVIRONMENTS)


def test_tsv_text_format(tiny):
    lines = (tiny / "metadata" / "train_strong.tsv").read_text().splitlines()
    assert lines[0] == "filename\tonset\toffset\tevent_label"
    name, onset, offset, label = lines[1].split("\t")
    assert len(onset.split(".")[1]) == 3 and len(offset.split(".")[1]) == 3
    assert lines[1:] == sorted(lines[1:], key=lambda l: (l.split("\t")[0], float(l.split("\t")[1]),
                                                        float(l.split("\t")[2]), l.split("\t")[3]))
    assert (tiny / "metadata" / "train_weak.tsv").read_text().splitlines()[0] == "filename\tevent_labels"


# ----------------------------------------------------------------------------------- labels
@pytest.mark.parametrize("split", STRONG)
def test_strong_labels_are_valid(tiny, split):
    df = read(tiny, f"{split}.tsv")
    assert list(df.columns) == ["filename", "onset", "offset", "event_label"]
    assert set(df["event_label"]) <= set(CLASSES)
    assert (df["onset"] >= 0).all() and (df["onset"] < df["offset"]).all() and (df["offset"] <= 10).all()
    assert set(df["filename"]) == {f"{split}_{i:05d}.wav" for i in range(synth.PRESETS["tiny"][split])}
    envs = environments(tiny)
    for name, events in df.groupby("filename"):
        assert set(events["event_label"]) <= set(ENVIRONMENTS[envs[name]])
        assert max_polyphony(events) <= synth.MAX_POLYPHONY
        for _, same in events.groupby("event_label"):  # one class never overlaps itself
            same = same.sort_values("onset")
            assert (same["onset"].to_numpy()[1:] >= same["offset"].to_numpy()[:-1]).all()


def max_polyphony(events: pd.DataFrame) -> int:
    # +1 at each onset, -1 at each offset; offsets first at equal times (half-open intervals)
    marks = sorted([(t, 1) for t in events["onset"]] + [(t, -1) for t in events["offset"]],
                   key=lambda m: (m[0], m[1]))
    return int(max(np.cumsum([m[1] for m in marks])))


def test_weak_labels_are_valid(tiny):
    df = read(tiny, "train_weak.tsv")
    assert list(df.columns) == ["filename", "event_labels"]
    envs = environments(tiny)
    assert len(df) == synth.PRESETS["tiny"]["train_weak"]
    for name, tags in zip(df["filename"], df["event_labels"], strict=True):
        labels = tags.split(",")
        assert labels and len(set(labels)) == len(labels)
        assert set(labels) <= set(ENVIRONMENTS[envs[name]])


def test_unlabeled_split_has_no_label_file(tiny):
    assert not (tiny / "metadata" / "train_unlabeled.tsv").exists()


def test_active_regions_follow_the_energy_envelope():
    sr = synth.SAMPLE_RATE
    tone = np.sin(2 * np.pi * 440 * np.arange(sr) / sr)

    def burst_train(gap_s: float) -> np.ndarray:
        return np.concatenate([tone[: sr // 4], np.zeros(int(gap_s * sr)), tone[: sr // 4]])

    assert len(synth.active_regions(burst_train(0.1))) == 1  # short gap bridged
    regions = synth.active_regions(burst_train(0.5))  # long gap: two events
    assert len(regions) == 2
    assert abs(regions[1, 0] / sr - 0.75) < 0.03 and abs(regions[0, 1] / sr - 0.25) < 0.03
    blip = np.concatenate([tone[: sr // 2], np.zeros(sr), tone[:160]])
    assert len(synth.active_regions(blip)) == 1  # a 10 ms fragment is dropped
    quiet_tail = np.concatenate([tone[: sr // 2], 0.01 * tone[: sr // 2]])  # -40 dB
    assert abs(synth.active_regions(quiet_tail)[-1, 1] / sr - 0.5) < 0.03


def test_short_events_are_widened_to_the_desed_minimum():
    # DESED labels no event shorter than 250 ms: a lone 100 ms bark gets a 250 ms label about its
    # centre, and one at the very start of a sound is widened to the right only
    sr = synth.SAMPLE_RATE
    tone = np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
    bark = np.concatenate([np.zeros(sr // 2), tone[: sr // 10], np.zeros(sr // 2)])
    (start, stop), = synth.active_regions(bark)
    assert stop - start == int(synth.MIN_LABEL_S * sr)
    assert abs((start + stop) / 2 / sr - 0.55) < 0.02
    (start, stop), = synth.active_regions(np.concatenate([tone[: sr // 10], np.zeros(sr)]))
    assert start == 0 and stop == int(synth.MIN_LABEL_S * sr)
    long_tone = synth.active_regions(np.concatenate([tone[: sr // 2], np.zeros(sr // 2)]))
    assert abs(long_tone[0, 1] / sr - 0.5) < 0.03  # long events keep their own extent


def test_every_recipe_is_finite_and_normalised():
    from sedbench.data import synth_recipes as R

    assert set(R.RECIPES) == set(CLASSES)
    rng = np.random.default_rng(0)
    for name, recipe in {**R.RECIPES, **R.DISTRACTORS}.items():
        x = recipe(rng)
        assert x.ndim == 1 and np.isfinite(x).all(), name
        assert 0.05 * R.SR < len(x) <= 11 * R.SR and np.isclose(np.max(np.abs(x)), 1.0), name


def test_environment_priors_match_the_subsets():
    for name, subset in ENVIRONMENTS.items():
        assert set(synth.ENVIRONMENT_SPECS[name].prior) == set(subset)


# --------------------------------------------------------------------------- atomic writes
def test_no_temp_folder_left_and_reuse_without_force(tiny):
    assert [p.name for p in tiny.parent.iterdir()] == ["tiny"]
    before = {p: p.stat().st_mtime_ns for p in tiny.rglob("*")}
    assert synth.generate("tiny", seed=0, out=tiny, progress=False) == tiny
    assert synth.ensure_dataset("tiny", seed=0, root=tiny, progress=False) == tiny
    assert {p: p.stat().st_mtime_ns for p in tiny.rglob("*")} == before


def test_other_preset_or_seed_needs_force(tmp_path, micro):
    out = synth.generate(micro, seed=0, out=tmp_path / "d", progress=False)
    with pytest.raises(DataError, match="--force"):
        synth.generate(micro, seed=1, out=out, progress=False)
    synth.generate(micro, seed=1, out=out, progress=False, force=True)
    assert json.loads((out / "dataset.json").read_text())["seed"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["d"]


def test_failed_generation_leaves_nothing(tmp_path, micro, monkeypatch):
    calls = []

    def explode(task):
        calls.append(task)
        if len(calls) > 3:
            raise RuntimeError("boom")
        return real(task)

    real = synth._render_task
    monkeypatch.setattr(synth, "_render_task", explode)
    with pytest.raises(RuntimeError):
        synth.generate(micro, out=tmp_path / "d", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_failed_regeneration_keeps_the_old_dataset(tmp_path, micro, monkeypatch):
    out = synth.generate(micro, out=tmp_path / "d", progress=False)
    before = hashes(out)
    monkeypatch.setattr(synth, "_render_task", lambda task: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        synth.generate(micro, out=out, progress=False, force=True)
    assert hashes(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["d"]


def test_never_overwrites_a_folder_that_is_not_a_dataset(tmp_path, micro):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(DataError, match="not a desed-synth dataset"):
        synth.generate(micro, out=tmp_path, progress=False, force=True)
    assert (tmp_path / "mine.txt").read_text() == "precious"


def test_stale_temp_folder_of_a_dead_process_is_removed(tmp_path, micro):
    stale = tmp_path / f".d.tmp-{socket.gethostname()}-999999999"
    (stale / "audio").mkdir(parents=True)
    other_host = tmp_path / ".d.tmp-elsewhere-999999999"  # maybe alive on its own host
    other_host.mkdir()
    synth.generate(micro, out=tmp_path / "d", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [other_host.name, "d"]


def test_bad_arguments():
    with pytest.raises(ConfigError, match="tiny, quick, full"):
        synth.generate("huge", progress=False)
    with pytest.raises(ConfigError, match="jobs"):
        synth.generate("tiny", jobs=0, progress=False)


def test_default_root():
    assert synth.default_root("quick", 3) == Path("data") / "desed-synth" / "quick-seed3"


def test_presets():
    assert SYNTH_PRESETS == tuple(synth.PRESETS)
    assert synth.PRESETS["full"] == {"train_strong": 10000, "train_weak": 1578, "train_unlabeled": 14412,
                                     "validation": 1168, "eval": 1168}
    for counts in synth.PRESETS.values():
        assert set(counts) == set(SPLITS)


# ---------------------------------------------------------------------------------------- cli
def test_cli_reuses_and_summarises(tiny):
    result = CliRunner().invoke(cli, ["data", "synth", "--preset", "tiny", "--out", str(tiny)])
    assert result.exit_code == 0, result.output
    assert str(tiny) in result.output and "train_strong" in result.output and "clip tags" in result.output


def test_cli_rejects_an_unknown_preset():
    result = CliRunner().invoke(cli, ["data", "synth", "--preset", "huge"])
    assert result.exit_code == 2 and "huge" in result.output
