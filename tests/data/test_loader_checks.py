"""What `data check` refuses, `run` refuses too, before any training: damaged audio (checked once per
dataset fingerprint) and strong splits without events (a notice for an eval-only set)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sedbench.benchmark import Benchmark
from sedbench.cli import cli
from sedbench.config import load_profile
from sedbench.data.check import check_dataset
from sedbench.data.desed import load_dataset
from sedbench.errors import DataError

STRONG = ["filename", "onset", "offset", "event_label"]


def test_validation_without_events_is_an_error(synth_root: Path, make_tsv) -> None:
    tsv = make_tsv(synth_root / "metadata" / "validation.tsv", STRONG, [])  # emptied to its header
    with pytest.raises(DataError) as info:
        load_dataset(synth_root)
    message = str(info.value)
    assert "\n" not in message and str(tsv) in message
    assert "split validation has no events" in message and "checkpoints" in message
    report = check_dataset(synth_root)  # `data check` no longer says ok
    assert not report.ok and any("split validation has no events" in p for p in report.problems)


def test_empty_labels_count_as_no_events(desed_config: dict, make_tsv) -> None:
    root = Path(desed_config["root"])
    make_tsv(root / desed_config["splits"]["eval"]["strong"], STRONG,
             [["Y00pbt6aJV8Y_350.000_360.000.wav", None, None, None]])
    with pytest.raises(DataError, match="split eval has no events"):
        load_dataset(desed_config)


def test_an_eval_only_set_without_events_gets_a_notice(desed_config: dict, make_tsv, tmp_path: Path) -> None:
    root = Path(desed_config["root"])
    make_tsv(root / desed_config["splits"]["eval"]["strong"], STRONG, [])
    eval_only = dict(desed_config, splits={"eval": desed_config["splits"]["eval"]})
    dataset = load_dataset(eval_only)
    assert list(dataset.splits) == ["eval"]
    assert len(dataset.notes) == 1 and "has no events; it can be predicted but not scored" in dataset.notes[0]
    path = tmp_path / "eval-only.yaml"
    path.write_text(yaml.safe_dump(eval_only))
    result = CliRunner().invoke(cli, ["data", "check", str(path)])
    assert result.exit_code == 0 and "predicted but not scored" in result.output, result.output


def _desed_bench(desed_config: dict, tmp_path: Path) -> tuple[Benchmark, Path]:
    path = tmp_path / "desed.yaml"
    path.write_text(yaml.safe_dump(desed_config))
    config = load_profile("tiny", ["data.source=desed", f"data.config={path}"])
    return Benchmark(config, results_root=tmp_path / "results", cache_root=tmp_path / "cache", device="cpu",
                     progress=False), path


def test_a_truncated_wav_fails_before_training(desed_config: dict, tmp_path: Path) -> None:
    bench, path = _desed_bench(desed_config, tmp_path)
    wav = Path(desed_config["root"]) / desed_config["splits"]["eval"]["audio"] / "Y00pbt6aJV8Y_350.000_360.000.wav"
    wav.write_bytes(wav.read_bytes()[:100])
    with pytest.raises(DataError) as info:
        bench.dataset  # noqa: B018
    message = str(info.value)
    assert "\n" not in message and str(wav) in message and "sedbench data check" in message
    assert not (tmp_path / "cache" / "data-checks").exists()  # a failed check is not remembered
    result = CliRunner().invoke(cli, ["run", "--profile", "tiny", "--methods", "scratch", "--set", "data.source=desed",
                                      "--set", f"data.config={path}", "--results", str(tmp_path / "results"),
                                      "--cache", str(tmp_path / "cache"), "--no-table"])
    assert result.exit_code == 2, result.output
    assert str(wav) in result.output and not (tmp_path / "results").exists()


def test_the_audio_check_runs_once_per_dataset_fingerprint(desed_config: dict, tmp_path: Path, monkeypatch) -> None:
    import sedbench.data.check as check

    calls = []
    real = check.check_audio
    monkeypatch.setattr(check, "check_audio", lambda *a, **k: calls.append(1) or real(*a, **k))
    bench, _ = _desed_bench(desed_config, tmp_path)
    bench.dataset  # noqa: B018
    again, _ = _desed_bench(desed_config, tmp_path)
    again.dataset  # noqa: B018
    assert len(calls) == 1 and len(list((tmp_path / "cache" / "data-checks").iterdir())) == 1
