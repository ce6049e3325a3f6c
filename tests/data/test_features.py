from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from sedbench.data.desed import load_dataset
from sedbench.data.features import DCASE, FeatureCache, FeatureConfig, load_audio, logmel
from sedbench.errors import ConfigError, DataError

SMALL = FeatureConfig(n_fft=1024, win_length=1024, hop_length=512, n_mels=64)


def test_frame_counts() -> None:
    assert DCASE.n_frames == 626
    assert SMALL.n_frames == 313
    assert FeatureConfig.from_dict({"hop_length": 512}).n_frames == 313
    with pytest.raises(ConfigError, match="features.hop"):
        FeatureConfig.from_dict({"hop": 512})


def test_logmel_matches_torchaudio_baseline() -> None:
    wav = torch.randn(2, 160000) * 0.1
    feats = logmel(wav, DCASE)
    assert feats.shape == (2, 128, 626) and feats.dtype == torch.float32
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=16000,
        n_fft=2048,
        win_length=2048,
        hop_length=256,
        f_min=0,
        f_max=8000,
        n_mels=128,
        window_fn=torch.hamming_window,
        wkwargs={"periodic": False},
        power=1,
    )
    db = torchaudio.transforms.AmplitudeToDB(stype="amplitude")
    db.amin = 1e-5
    for i in range(2):
        x = db(mel(wav[i])).clamp(-50, 80)
        ref = (x - x.min()) / (x.max() - x.min() + 1e-8)
        torch.testing.assert_close(feats[i], ref, rtol=1e-5, atol=1e-5)
    assert feats.amin() == 0 and abs(feats.amax().item() - 1) < 1e-6


def test_load_audio_pads_and_truncates(tmp_path: Path, make_wav) -> None:
    short = load_audio(make_wav(tmp_path / "short.wav", seconds=3.0), DCASE)
    assert short.shape == (160000,) and torch.all(short[48000:] == 0)
    long = load_audio(make_wav(tmp_path / "long.wav", seconds=11.0), DCASE)
    assert long.shape == (160000,)


def test_load_audio_downmixes_stereo(tmp_path: Path) -> None:
    left, right = np.full(16000, 0.5, np.float32), np.full(16000, -0.25, np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(str(path), np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    wav = load_audio(path, FeatureConfig(clip_duration=1.0))
    torch.testing.assert_close(wav, torch.full((16000,), 0.125))


def test_load_audio_resamples(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    path = tmp_path / "cd.wav"
    sf.write(str(path), (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 44100, subtype="FLOAT")
    wav = load_audio(path, FeatureConfig(clip_duration=1.0))
    assert wav.shape == (16000,)
    ref = torchaudio.functional.resample(
        torch.from_numpy(sf.read(str(path), dtype="float32")[0]), 44100, 16000
    )
    torch.testing.assert_close(wav, ref[:16000])
    spectrum = np.abs(np.fft.rfft(wav.numpy()))
    assert abs(np.argmax(spectrum) - 1000) <= 1  # still a 1 kHz tone (1 Hz bins)


def test_corrupt_audio(tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(DataError) as info:
        load_audio(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_cache_values_shape_and_reuse(synth_root: Path, tmp_path: Path) -> None:
    ds = load_dataset(synth_root)
    cache = FeatureCache(ds, SMALL, cache_dir=tmp_path / "cache", progress=False)
    arr = cache.get("eval")
    assert isinstance(arr, np.memmap) and arr.dtype == np.float32 and arr.shape == (2, 64, 313)
    for i, fn in enumerate(ds["eval"].filenames):
        ref = logmel(load_audio(ds["eval"].path(fn), SMALL), SMALL).numpy()
        np.testing.assert_allclose(arr[i], ref, atol=1e-5)
    assert cache.computed == ["eval"]
    mtime = cache.path("eval").stat().st_mtime_ns

    again = FeatureCache(load_dataset(synth_root), SMALL, cache_dir=tmp_path / "cache", progress=False)
    np.testing.assert_array_equal(again.get("eval"), arr)
    assert again.computed == [] and cache.path("eval").stat().st_mtime_ns == mtime
    # another feature config is another cache
    other = FeatureCache(
        ds, FeatureConfig(n_mels=32, hop_length=512), cache_dir=tmp_path / "cache", progress=False
    )
    assert other.dir != cache.dir and other.get("eval").shape == (2, 32, 313)


def test_cache_rebuilds_truncated_file(synth_root: Path, tmp_path: Path) -> None:
    ds = load_dataset(synth_root)
    cache = FeatureCache(ds, SMALL, cache_dir=tmp_path / "cache", progress=False)
    good = np.array(cache.get("validation"))
    cache.path("validation").write_bytes(b"\x93NUMPY garbage")
    fresh = FeatureCache(ds, SMALL, cache_dir=tmp_path / "cache", progress=False)
    np.testing.assert_array_equal(fresh.get("validation"), good)
    assert fresh.computed == ["validation"]


def test_cache_concurrent_builders(synth_root: Path, tmp_path: Path) -> None:
    ds = load_dataset(synth_root)
    caches = [FeatureCache(ds, SMALL, cache_dir=tmp_path / "cache", progress=False) for _ in range(2)]
    threads = [threading.Thread(target=c.get, args=("train_strong",)) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(c.computed) for c in caches) == 1  # the second waited on the lock, then reused
    assert not list((tmp_path / "cache").rglob("*.tmp"))
    np.testing.assert_array_equal(caches[0].get("train_strong"), caches[1].get("train_strong"))
