from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from sedbench.data.classes import CLASSES
from sedbench.data.desed import digest_memo, load_dataset
from sedbench.errors import DataError


def test_synth_root(synth_root: Path) -> None:
    ds = load_dataset(synth_root)
    assert ds.name == "desed-synth-handmade-s0"
    assert ds.classes == list(CLASSES)
    assert {n: s.kind for n, s in ds.splits.items()} == {
        "train_strong": "strong",
        "train_weak": "weak",
        "train_unlabeled": "unlabeled",
        "validation": "strong",
        "eval": "strong",
    }
    strong = ds["train_strong"]
    assert strong.filenames == sorted(strong.filenames) and len(strong) == 4
    assert list(strong.events.columns) == ["filename", "onset", "offset", "event_label"]
    assert len(strong.events) == 6
    assert strong.clip_events()["train_strong_0000.wav"] == [(0.5, 4.25, "Speech"), (1.0, 2.0, "Dog")]
    assert ds["train_weak"].weak_labels["train_weak_0002.wav"] == ["Alarm_bell_ringing", "Dishes"]
    assert ds["train_unlabeled"].events is None and ds["train_unlabeled"].weak_labels is None
    assert ds["eval"].durations == {"eval_0000.wav": 10.0, "eval_0001.wav": 10.0}
    assert ds["train_strong"].environments["train_strong_0001.wav"] == "bathroom"
    assert ds.environment_classes["bathroom"] == ["Running_water"]


def test_fingerprint_is_stable_and_tracks_changes(synth_root: Path) -> None:
    a = load_dataset(synth_root).fingerprint
    assert load_dataset(synth_root).fingerprint == a
    tsv = synth_root / "metadata" / "train_strong.tsv"
    tsv.write_text(tsv.read_text().replace("9.0", "8.0"))
    b = load_dataset(synth_root).fingerprint
    assert b != a
    wav = synth_root / "audio" / "eval" / "eval_0000.wav"
    os.utime(wav, ns=(0, 0))  # touched, same bytes: the same data
    assert load_dataset(synth_root).fingerprint == b
    data = bytearray(wav.read_bytes())
    data[-2:] = bytes([data[-2] ^ 0xFF, data[-1]])  # one sample changed, same size
    wav.write_bytes(bytes(data))
    assert load_dataset(synth_root).fingerprint != b


def test_fingerprint_is_the_content_wherever_the_data_lies(synth_root: Path, tmp_path: Path) -> None:
    # a fresh clone regenerates byte-identical desed-synth with new file times, in another folder:
    # it must find the same settings group and cached teachers (an mtime key retrained them all)
    import shutil

    a = load_dataset(synth_root).fingerprint
    copy = tmp_path / "copy"
    shutil.copytree(synth_root, copy, copy_function=shutil.copy)  # new mtimes, no digest cache reused
    assert not digest_memo(copy).exists()
    assert load_dataset(copy).fingerprint == a
    assert digest_memo(copy).is_file()  # the digests are remembered (in the per-user cache)
    assert not (copy / ".sedbench-digests.json").exists() and len(list(copy.rglob("*.json"))) == 1  # dataset.json


def test_real_desed_config_yaml(desed_config: dict, tmp_path: Path) -> None:
    path = tmp_path / "desed.yaml"
    path.write_text(yaml.safe_dump(desed_config))
    ds = load_dataset(path)
    assert ds.name == "desed-handmade"
    assert ds["train_weak"].weak_labels == {
        "Y-BJNMHMZDcU_50.000_60.000.wav": ["Dog", "Speech"],
        "Y0aoGB1Ev1UQ_30.000_40.000.wav": ["Vacuum_cleaner"],
    }
    ev = ds["eval"]
    # the empty-label row is "no events", not an event
    assert len(ev.events) == 1
    assert ev.clip_events()["Y05kmvM0gUA4_30.000_40.000.wav"] == []
    assert ds["train_strong"].clip_events()["2.wav"] == []
    # validation has no durations TSV: read from the audio headers
    assert ds["validation"].durations == {"1000.wav": 10.0, "1001.wav": 10.0}
    assert ds["train_strong"].environments is None


def test_relative_root_resolves_against_yaml_folder(desed_config: dict, tmp_path: Path) -> None:
    cfg = dict(desed_config, root="DESED/dataset")
    path = tmp_path / "desed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert load_dataset(path).root == Path(desed_config["root"]).resolve()


def test_missing_splits_allowed(desed_config: dict) -> None:
    cfg = dict(desed_config, splits={"eval": desed_config["splits"]["eval"]})
    assert list(load_dataset(cfg).splits) == ["eval"]


def _error(source) -> str:
    with pytest.raises(DataError) as info:
        load_dataset(source)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


BAD_TSVS = {
    "missing column": ("train_strong", ["filename", "onset", "event_label"],
                       [["train_strong_0000.wav", 1.0, "Dog"]], ["offset"]),
    "unknown label": ("validation", ["filename", "onset", "offset", "event_label"],
                      [["validation_0000.wav", 1.0, 2.0, "Doggo"]], ["'Doggo'", "Vacuum_cleaner"]),
    "unknown weak label": ("train_weak", ["filename", "event_labels"],
                           [["train_weak_0000.wav", "Dog,Kettle"]], ["'Kettle'"]),
    "onset after offset": ("eval", ["filename", "onset", "offset", "event_label"],
                           [["eval_0000.wav", 1.0, 2.0, "Dog"], ["eval_0001.wav", 5.0, 3.0, "Cat"]],
                           ["row 3", "onset 5.0 > offset 3.0"]),
    "nan onset": ("eval", ["filename", "onset", "offset", "event_label"],
                  [["eval_0000.wav", None, 2.0, "Dog"]], []),
    # dropped as "a clip without events", its sound would be scored as a false alarm
    "times without a label": ("eval", ["filename", "onset", "offset", "event_label"],
                              [["eval_0000.wav", 1.0, 2.0, "Dog"], ["eval_0001.wav", 3.0, 4.0, None]],
                              ["row 3", "onset/offset without an event_label"]),
    # pandas dropped the extra field with a warning naming no file
    "a field past the header": ("eval", ["filename", "onset", "offset", "event_label"],
                                [["eval_0000.wav", 1.0, 2.0, "Dog\tBark"]], ["row 2", "more tab-separated fields"]),
}


@pytest.mark.parametrize("case", list(BAD_TSVS))
def test_bad_tsv_names_the_file_and_the_problem(case: str, synth_root: Path, make_tsv) -> None:
    split, columns, rows, expected = BAD_TSVS[case]
    tsv = make_tsv(synth_root / "metadata" / f"{split}.tsv", columns, rows)
    msg = _error(synth_root)
    assert str(tsv) in msg
    for part in expected:
        assert part in msg


def test_empty_split(synth_root: Path) -> None:
    folder = synth_root / "audio" / "validation"
    for f in folder.iterdir():
        f.unlink()
    msg = _error(synth_root)
    assert str(folder) in msg and "empty" in msg


def test_missing_tsv_and_folder(desed_config: dict) -> None:
    cfg = dict(desed_config)
    cfg["splits"] = dict(cfg["splits"], train_weak={"audio": "audio/train/weak_16k", "weak": "nope.tsv"})
    assert "nope.tsv" in _error(cfg)
    cfg["splits"] = dict(
        cfg["splits"], train_weak={"audio": "audio/missing", "weak": "metadata/train/weak.tsv"}
    )
    assert "audio/missing" in _error(cfg)


def test_tsv_names_missing_audio(desed_config: dict) -> None:
    root = Path(desed_config["root"])
    tsv = root / "metadata/train/weak.tsv"
    tsv.write_text(tsv.read_text() + "Yabsent_0.000_10.000.wav\tDog\n")
    msg = _error(desed_config)
    assert str(tsv) in msg and "Yabsent_0.000_10.000.wav" in msg and "missing_audio: drop" in msg
    ds = load_dataset(dict(desed_config, missing_audio="drop"))
    assert "Yabsent_0.000_10.000.wav" not in ds["train_weak"].weak_labels
    # dropped as asked, and said once: a split that shrank changes every figure on it
    assert [n for n in ds.notes if "missing_audio: drop" in n] == [
        f"{tsv}: 1 file(s) without audio left out (missing_audio: drop), e.g. Yabsent_0.000_10.000.wav"]


def test_missing_root_and_bad_source(tmp_path: Path, make_wav) -> None:
    assert "root" in _error({"root": str(tmp_path / "nowhere"), "splits": {}})
    assert str(tmp_path / "nothing") in _error(tmp_path / "nothing")
    make_wav(tmp_path / "plain" / "a.wav", seconds=0.1)
    assert "dataset.json" in _error(tmp_path / "plain")


@pytest.mark.parametrize("key, value, said", [
    ("clases", ["Dog"], "clases: unknown key; valid keys: classes,"),  # would have meant the 10 DESED classes
    ("classes", "Speech", "classes: expected a list of names, got 'Speech'"),
    ("missing_audio", "skip", "missing_audio: 'skip' is not one of error, drop"),
])
def test_a_data_config_key_is_checked_and_the_file_named(desed_config: dict, tmp_path: Path, key, value,
                                                         said) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({**desed_config, key: value}))
    msg = _error(path)
    assert msg.startswith(f"{path}: ") and said in msg, msg


def test_a_data_config_reads_numbers_paths_and_empty_splits_as_before(desed_config: dict, tmp_path: Path) -> None:
    """The schema checks keys, not YAML's guesses: `name: 2023` is a number to YAML, a Path comes from the API."""
    config = {**desed_config, "name": 2023, "root": Path(desed_config["root"]), "missing_audio": "error"}
    config["splits"] = {**config["splits"], "train_unlabeled": ""}  # left empty: not available
    ds = load_dataset(config)
    assert ds.name == "2023" and "train_unlabeled" not in ds.splits


def test_a_row_typed_with_spaces_is_named_not_a_missing_file(synth_root: Path) -> None:
    tsv = synth_root / "metadata" / "eval.tsv"
    lines = tsv.read_text().splitlines()
    lines[1] = lines[1].replace("\t", "    ")
    tsv.write_text("\n".join(lines) + "\n")
    msg = _error(synth_root)
    assert str(tsv) in msg and "row 2" in msg and "not tab-separated" in msg and "not found" not in msg


def test_a_trailing_tab_or_a_negative_onset_is_named_with_its_row(synth_root: Path) -> None:
    tsv = synth_root / "metadata" / "eval.tsv"
    header, *rows = tsv.read_text().splitlines()
    clean = load_dataset(synth_root)["eval"].events
    tsv.write_text("\n".join([header, rows[0] + "\t", *rows[1:]]) + "\n")  # an editor's trailing tab
    assert load_dataset(synth_root)["eval"].events.equals(clean)
    row = next(i for i, r in enumerate(rows) if r.split("\t")[3].strip())  # the first row with an event
    fn, onset, offset, label = rows[row].split("\t")
    rows[row] = "\t".join([fn, "-0.5", offset, label])
    tsv.write_text("\n".join([header, *rows]) + "\n")
    msg = _error(synth_root)
    assert msg.startswith(f"{tsv} (row {row + 2}): negative onset -0.5") and "\n" not in msg


def test_two_files_of_one_clip_id_are_refused(desed_config: dict, make_wav) -> None:
    """x.wav and x.flac are one clip id (scores and labels are keyed by the name without extension):
    evaluate crashed on them after one's ground truth had replaced the other's."""
    root = Path(desed_config["root"])
    make_wav(root / desed_config["splits"]["eval"]["audio"] / "Y00pbt6aJV8Y_350.000_360.000.flac", seed=3)
    msg = _error(desed_config)
    assert "Y00pbt6aJV8Y_350.000_360.000.flac and Y00pbt6aJV8Y_350.000_360.000.wav" in msg or \
        "Y00pbt6aJV8Y_350.000_360.000.wav and Y00pbt6aJV8Y_350.000_360.000.flac" in msg
    assert "one clip id" in msg


def test_an_evaluated_file_without_a_row_or_a_duration_is_said(desed_config: dict, make_wav) -> None:
    """A stray file in an evaluated folder counted as a clip without events (metrics changed silently)."""
    cfg = dict(desed_config, splits={"validation": desed_config["splits"]["validation"]})
    root = Path(desed_config["root"])
    assert not [n for n in load_dataset(cfg).notes if "have no row" in n]
    make_wav(root / desed_config["splits"]["validation"]["audio"] / "stray.wav", seed=4)
    notes = [n for n in load_dataset(cfg).notes if "have no row" in n]
    assert len(notes) == 1 and "1 audio file(s)" in notes[0] and "stray.wav" in notes[0]
    # train_strong: a soundscape without events is a training example, nothing to say
    assert not [n for n in load_dataset(desed_config).notes if "train" in n and "have no row" in n]
