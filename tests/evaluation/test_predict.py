"""`sedbench predict`: detections from audio files of any rate, channel count and length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import torchaudio
from click.testing import CliRunner

from sedbench.benchmark import Benchmark
from sedbench.cli import cli
from sedbench.evaluation import read_scores
from sedbench.evaluation.detections import detection_metrics, read_detections
from sedbench.inference import RunDetector, detections_from_scores
from sedbench.runner import run_one


@pytest.fixture(scope="module")
def scratch_run(tiny_bench, tmp_path_factory):
    bench = Benchmark(tiny_bench.config, results_root=tmp_path_factory.mktemp("predict") / "results",
                      cache_root=tiny_bench.cache_root, device="cpu", progress=False)
    record = run_one(bench, "scratch", 0)
    assert record["status"] == "complete", record.get("error")
    return bench, Path(record["run_dir"])


def _resample(wav: np.ndarray, sr: int) -> np.ndarray:
    return torchaudio.functional.resample(torch.from_numpy(wav), 16000, sr).numpy()


@pytest.fixture(scope="module")
def audio_folder(scratch_run, tmp_path_factory):
    """Eval clips re-encoded: as is, 44.1 kHz stereo, 8 kHz FLAC, OGG, 3 clips end to end at 22.05 kHz
    (30 s), a 3.3 s excerpt, and a file that is not audio."""
    bench, _ = scratch_run
    split = bench.dataset["eval"]
    names = split.filenames[:3]
    clips = [sf.read(str(split.path(n)), dtype="float32")[0] for n in names]
    folder = tmp_path_factory.mktemp("audio")
    sf.write(folder / "same.wav", clips[0], 16000)
    stereo = _resample(clips[1], 44100)
    sf.write(folder / "stereo44k.wav", np.stack([stereo, 0.5 * stereo], axis=1), 44100)
    sf.write(folder / "low8k.flac", _resample(clips[2], 8000), 8000)
    sf.write(folder / "vorbis.ogg", clips[0], 16000, format="OGG", subtype="VORBIS")
    sf.write(folder / "long30s.wav", _resample(np.concatenate(clips), 22050), 22050)
    sf.write(folder / "short.wav", clips[1][: int(3.3 * 16000)], 16000)
    (folder / "broken.wav").write_bytes(b"RIFF....WAVEnot really audio")
    truth = {"same": names[0], "stereo44k": names[1], "low8k": names[2]}
    return folder, truth


def test_predict_a_folder_of_mixed_audio(scratch_run, audio_folder, tmp_path):
    bench, run_dir = scratch_run
    folder, truth = audio_folder
    out, scores_dir = tmp_path / "detections.tsv", tmp_path / "scores"
    result = CliRunner().invoke(cli, ["predict", str(run_dir), str(folder), "--out", str(out), "--scores",
                                      str(scores_dir), "--threshold", "0.3"], standalone_mode=False)
    assert result.return_value == 1, result.output  # one file could not be read...
    errors = [line for line in result.output.splitlines() if "broken.wav" in line]
    assert len(errors) == 1 and "unreadable audio" in errors[0]
    scores = read_scores(scores_dir)  # ...the others were processed, scores in sed_scores_eval format
    assert set(scores) == {"same", "stereo44k", "low8k", "vorbis", "long30s", "short"}
    hop = RunDetector.load(run_dir, "cpu").encoder.frame_hop_s
    assert scores["long30s"]["offset"].iloc[-1] == pytest.approx(30.0)  # windows, not truncated
    assert len(scores["long30s"]) == int(np.ceil(30.0 / hop))
    assert scores["short"]["offset"].iloc[-1] == pytest.approx(3.3)
    detections = pd.read_csv(out, sep="\t")
    assert list(detections.columns) == ["filename", "onset", "offset", "event_label"]
    assert set(detections["filename"]) <= {f.name for f in folder.iterdir()} - {"broken.wav"}
    assert detections["offset"].max() <= 30.0 and (detections["offset"] > detections["onset"]).all()

    # the same 16 kHz clip gives the run's own stored scores, hence its detections
    stored = read_scores(run_dir)[truth["same"].removesuffix(".wav")]
    np.testing.assert_allclose(scores["same"].to_numpy(), stored.to_numpy(), atol=1e-6)
    own = detections_from_scores({"same": stored}, 0.3, {"same": "same.wav"}).round(3)
    mine = detections[detections["filename"] == "same.wav"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, own, check_dtype=False)

    # the detections file is what the evaluation reads: scored against the clips' ground truth
    gt_all = bench.evaluation.ground_truth
    ground_truth = {name: gt_all[clip.removesuffix(".wav")] for name, clip in truth.items()}
    durations = dict.fromkeys(truth, 10.0)
    kept = {k: v for k, v in read_detections(out).items() if k in truth}
    metrics = detection_metrics(kept, ground_truth, durations, list(bench.classes))
    assert all(v is None or 0.0 <= v <= 1.0 for v in metrics.values())
    assert metrics["event_f1"] is not None


def test_predict_errors_are_one_line(scratch_run, tmp_path):
    _, run_dir = scratch_run
    result = CliRunner().invoke(cli, ["predict", str(run_dir), str(tmp_path / "missing.wav")])
    assert result.exit_code == 2 and "no such file" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output  # not echoed as "no file could be ..."
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["predict", str(run_dir), str(tmp_path / "empty")])
    assert result.exit_code == 2 and f"{tmp_path / 'empty'}: no audio files there" in result.output
    result = CliRunner().invoke(cli, ["predict", str(run_dir), str(tmp_path), "--threshold", "1.5"])
    assert result.exit_code == 2 and "--threshold" in result.output
    result = CliRunner().invoke(cli, ["predict", str(run_dir), str(tmp_path), "--environment", "kitchen"])
    assert result.exit_code == 2 and "single student" in result.output


def test_predict_never_writes_over_the_inputs_or_other_files(scratch_run, audio_folder, tmp_path):
    _, run_dir = scratch_run
    audio = Path(audio_folder[0]) / "same.wav"
    kept = tmp_path / "mine"
    kept.mkdir()
    (kept / "notes.txt").write_text("keep")
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / audio.name).write_bytes(audio.read_bytes())
    for extra, hint in ((["--scores", str(kept)], "--scores"), (["--scores", str(copy)], "--scores"),
                        (["--scores", "."], "--scores"), (["--out", str(copy / audio.name)], "--out")):
        result = CliRunner().invoke(cli, ["predict", str(run_dir), str(copy), "--out", str(tmp_path / "d.tsv"), *extra])
        assert result.exit_code == 2 and hint in result.output, (extra, result.output)
    assert (kept / "notes.txt").read_text() == "keep" and (copy / audio.name).read_bytes() == audio.read_bytes()
    assert not (tmp_path / "d.tsv").exists()  # refused before any work
    scores = tmp_path / "scores"  # an earlier predict's scores folder is replaced as before
    for _ in range(2):
        result = CliRunner().invoke(cli, ["predict", str(run_dir), str(copy), "--out", str(tmp_path / "d.tsv"),
                                          "--scores", str(scores)])
        assert result.exit_code == 0, result.output
    assert [p.name for p in scores.iterdir()] == [audio.stem + ".tsv"]


def test_the_last_window_of_long_audio_ends_with_it_instead_of_padding(scratch_run):
    """The last window of a 25 s file covered 20-30 s: 5 s of silence the network never saw in training."""
    import torch

    _, run_dir = scratch_run
    detector = RunDetector.load(run_dir, "cpu")
    cfg, enc = detector.feature_cfg, detector.encoder
    samples_per_frame = cfg.hop_length * enc.pooling
    wave = torch.rand(int(25.0 * cfg.sample_rate)) - 0.5
    features, starts = detector.window_features(wave)
    total = int(np.ceil(wave.shape[-1] / samples_per_frame))
    assert starts[-1] + enc.n_out_frames == total and starts == sorted(set(starts))
    frames, _ = detector.predict_waveform(wave)
    assert len(frames) == total
