from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import yaml
from click.testing import CliRunner

from sedbench.cli import cli
from sedbench.data.check import check_dataset
from sedbench.data.classes import CLASSES


def test_clean_dataset(synth_root: Path) -> None:
    report = check_dataset(synth_root)
    assert report.ok and report.notes == []
    s = report.summary
    assert s.loc["train_strong", "clips"] == 4 and s.loc["train_strong", "events"] == 6
    assert s.loc["train_weak", "Dog"] == 1 and s.loc["eval", "duration_s"] == 20.0
    assert s.loc["validation", "sample_rates"] == "16000" and s.loc["validation", "channels"] == "1"
    assert set(CLASSES) <= set(s.columns)


def test_stereo_and_44k_are_notes(synth_root: Path, make_wav) -> None:
    make_wav(synth_root / "audio" / "eval" / "eval_0000.wav", sr=44100, channels=2)
    report = check_dataset(synth_root)
    assert report.ok
    assert any(
        "44100 Hz" in n and "resampled to 16000 Hz" in n and "eval_0000.wav" in n for n in report.notes
    )
    assert any("down-mixed to mono" in n for n in report.notes)
    assert report.summary.loc["eval", "sample_rates"] == "16000,44100"
    assert report.summary.loc["eval", "channels"] == "1,2"


def test_collects_every_problem(synth_root: Path, make_tsv) -> None:
    broken = synth_root / "audio" / "train_unlabeled" / "train_unlabeled_0001.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    truncated = synth_root / "audio" / "train_strong" / "train_strong_0002.wav"
    truncated.write_bytes(truncated.read_bytes()[:1000])  # header says 10 s, data is missing
    make_tsv(
        synth_root / "metadata" / "validation.tsv",
        ["filename", "onset", "offset", "event_label"],
        [["validation_0000.wav", 8.0, 12.0, "Dog"], ["validation_0001.wav", 3.0, 3.0, "Cat"]],
    )
    make_tsv(synth_root / "metadata" / "eval.tsv", ["filename", "onset", "event_label"], [])
    report = check_dataset(synth_root)
    text = "\n".join(report.problems)
    assert not report.ok
    assert str(broken) in text and "unreadable audio" in text
    assert "offset after the clip's end" in text and "onset must be before offset" in text
    assert "eval.tsv: missing column(s) offset" in text
    assert f"{truncated}: audio lasts" in text and "says 10 s" in text
    assert len(report.problems) >= 4


def test_repeated_event_rows_are_a_note_and_crlf_reads_like_lf(synth_root: Path, make_tsv) -> None:
    rows = [["validation_0000.wav", 1.0, 2.0, "Dog"], ["validation_0000.wav", 1.0, 2.0, "Dog"],
            ["validation_0001.wav", 3.0, 4.0, "Cat"]]
    tsv = make_tsv(synth_root / "metadata" / "validation.tsv", ["filename", "onset", "offset", "event_label"], rows)
    report = check_dataset(synth_root)
    assert report.ok
    assert any("validation: 1 event row(s) repeat an earlier row exactly (e.g. validation_0000.wav Dog 1-2 s)" in n
               for n in report.notes), report.notes
    tsv.write_bytes(tsv.read_bytes().replace(b"\n", b"\r\n"))  # saved on Windows: same events, same labels
    crlf = check_dataset(synth_root)
    assert crlf.ok and crlf.notes == report.notes
    assert crlf.summary.loc["validation"].equals(report.summary.loc["validation"])


def test_cli_clean(synth_root: Path) -> None:
    result = CliRunner().invoke(cli, ["data", "check", str(synth_root)])
    assert result.exit_code == 0, result.output
    assert "train_strong" in result.output and "no problems" in result.output


def test_cli_yaml_with_notes(desed_config: dict, tmp_path: Path) -> None:
    root = Path(desed_config["root"])
    t = np.arange(44100 * 10) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 500 * t)] * 2, axis=1).astype(np.float32) * 0.2
    sf.write(str(root / "audio/train/weak_16k/Y0aoGB1Ev1UQ_30.000_40.000.wav"), stereo, 44100)
    path = tmp_path / "desed.yaml"
    path.write_text(yaml.safe_dump(desed_config))
    result = CliRunner().invoke(cli, ["data", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "resampled" in result.output and "down-mixed" in result.output


def test_cli_problems_exit_nonzero(synth_root: Path, make_tsv) -> None:
    tsv = make_tsv(
        synth_root / "metadata" / "train_strong.tsv",
        ["filename", "onset", "offset", "event_label"],
        [["train_strong_0000.wav", 1.0, 2.0, "Doggo"]],
    )
    result = CliRunner().invoke(cli, ["data", "check", str(synth_root)])
    assert result.exit_code == 1
    assert "unknown label 'Doggo'" in result.output and str(tsv) in result.output


def test_cli_missing_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["data", "check", str(tmp_path / "nowhere")])
    assert result.exit_code != 0
    assert "nowhere" in result.output


def test_clips_of_another_length_than_training_are_said_once_per_split(synth_root: Path, make_wav, make_tsv
                                                                     ) -> None:
    """Real recordings vary in length: data check says how many clips differ and what each split does."""
    make_wav(synth_root / "audio" / "eval" / "eval_0000.wav", seconds=7.24)  # its event ends at 6 s
    make_tsv(synth_root / "metadata" / "eval_durations.tsv", ["filename", "duration"],
             [["eval_0000.wav", 7.24], ["eval_0001.wav", 10.0]])
    (synth_root / "metadata" / "train_unlabeled_durations.tsv").unlink()
    make_wav(synth_root / "audio" / "train_unlabeled" / "train_unlabeled_0000.wav", seconds=15.0)
    report = check_dataset(synth_root)
    assert report.ok, report.problems
    eval_note = [n for n in report.notes if n.startswith("eval:")]
    train_note = [n for n in report.notes if n.startswith("train_unlabeled:")]
    assert len(eval_note) == 1 and "1 shorter (shortest 7.24 s, eval_0000.wav)" in eval_note[0]
    assert "scored over their own length" in eval_note[0]
    assert len(train_note) == 1 and "1 longer (longest 15.00 s" in train_note[0]
    assert "training reads their first 10 s" in train_note[0]
    assert not any(n.startswith(("validation:", "train_strong:")) for n in report.notes)
    assert report.summary.loc["eval", "clip_s"] == "7.24-10"
    assert report.summary.loc["validation", "clip_s"] == "10"


def test_the_training_length_data_check_reports_against_is_the_feature_default() -> None:
    # data check stays free of torch, so it keeps its own copy of the number; this keeps them one number
    from sedbench.data.check import TRAINING_LENGTH_S
    from sedbench.data.features import FeatureConfig

    assert TRAINING_LENGTH_S == FeatureConfig().clip_duration
