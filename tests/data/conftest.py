"""Hand-made tiny datasets in the DESED layout (no generator involved).

* ``synth_root``: a desed-synth style root (dataset.json, audio/<split>/, metadata/<split>.tsv,
  durations and environments TSVs), the layout of docs/architecture.md.
* ``desed_config``: a real-DESED style tree (DESED folder and TSV names, YouTube-style file names,
  a clip listed with an empty event_label, no durations TSV for validation) and its data config.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 16000


def write_wav(path: Path, seconds: float = 10.0, sr: int = SR, channels: int = 1, seed: int = 0) -> Path:
    """A noisy tone: enough structure for log-mel values to be non-trivial."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * (300 + 100 * seed) * t)
    data = np.stack([tone + 0.05 * rng.standard_normal(t.shape) for _ in range(channels)], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data.astype(np.float32), sr, subtype="PCM_16")
    return path


def write_tsv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header)] + ["\t".join("" if v is None else str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SYNTH = {
    "train_strong": {
        "train_strong_0000.wav": [(1.0, 2.0, "Dog"), (0.5, 4.25, "Speech")],
        "train_strong_0001.wav": [(3.0, 9.0, "Blender")],
        "train_strong_0002.wav": [(0.0, 10.0, "Frying"), (2.0, 2.5, "Dishes")],
        "train_strong_0003.wav": [(5.5, 7.0, "Cat")],
    },
    "train_weak": {
        "train_weak_0000.wav": ["Dog", "Speech"],
        "train_weak_0001.wav": ["Running_water"],
        "train_weak_0002.wav": ["Alarm_bell_ringing", "Dishes"],
    },
    "train_unlabeled": [
        "train_unlabeled_0000.wav",
        "train_unlabeled_0001.wav",
        "train_unlabeled_0002.wav",
        "train_unlabeled_0003.wav",
        "train_unlabeled_0004.wav",
    ],
    "validation": {
        "validation_0000.wav": [(1.0, 3.0, "Vacuum_cleaner")],
        "validation_0001.wav": [(0.2, 0.9, "Dishes"), (4.0, 8.0, "Speech")],
    },
    "eval": {
        "eval_0000.wav": [(2.0, 6.0, "Electric_shaver_toothbrush")],
        "eval_0001.wav": [(7.0, 9.5, "Alarm_bell_ringing")],
    },
}
ENVS = ["kitchen", "bathroom", "living_room"]


def make_synth_root(root: Path) -> Path:
    meta = root / "metadata"
    seed, env_rows = 0, []
    for split, content in SYNTH.items():
        names = list(content)
        for name in names:
            write_wav(root / "audio" / split / name, seed=seed)
            env_rows.append([name, ENVS[seed % 3]])
            seed += 1
        write_tsv(meta / f"{split}_durations.tsv", ["filename", "duration"], [[n, 10.0] for n in names])
        if split == "train_weak":
            write_tsv(
                meta / f"{split}.tsv",
                ["filename", "event_labels"],
                [[n, ",".join(labels)] for n, labels in content.items()],
            )
        elif isinstance(content, dict):
            rows = [[n, on, off, lab] for n, evs in content.items() for on, off, lab in evs]
            write_tsv(meta / f"{split}.tsv", ["filename", "onset", "offset", "event_label"], rows)
    write_tsv(meta / "environments.tsv", ["filename", "environment"], env_rows)
    info = {
        "preset": "handmade",
        "seed": 0,
        "classes": None,
        "generator_version": "test",
        "environments": {"kitchen": ["Dishes", "Frying"], "bathroom": ["Running_water"]},
    }
    (root / "dataset.json").write_text(json.dumps(info), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def _synth_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synth_root(tmp_path_factory.mktemp("template") / "desed-synth")


@pytest.fixture
def synth_root(_synth_template: Path, tmp_path: Path) -> Path:
    """A fresh copy per test: tests break it in their own ways."""
    return Path(shutil.copytree(_synth_template, tmp_path / "desed-synth"))


# Real DESED folder names (DESED_task dcase2023 baseline config) and file-name conventions.
DESED_DIRS = {
    "train_strong": "audio/train/synthetic21_train/soundscapes_16k",
    "train_weak": "audio/train/weak_16k",
    "train_unlabeled": "audio/train/unlabel_in_domain_16k",
    "validation": "audio/validation/synthetic21_validation/soundscapes_16k",
    "eval": "audio/validation/validation_16k",
}


def make_desed_tree(root: Path) -> dict:
    strong = ["0.wav", "1.wav", "2.wav"]
    weak = ["Y-BJNMHMZDcU_50.000_60.000.wav", "Y0aoGB1Ev1UQ_30.000_40.000.wav"]
    unlabeled = ["Y--4gqARaEJE_0.000_10.000.wav", "Y-0o3pLe2Ml0_30.000_40.000.wav"]
    validation = ["1000.wav", "1001.wav"]
    evaluation = ["Y00pbt6aJV8Y_350.000_360.000.wav", "Y05kmvM0gUA4_30.000_40.000.wav"]
    for i, (split, names) in enumerate(
        zip(DESED_DIRS, [strong, weak, unlabeled, validation, evaluation], strict=True)
    ):
        for j, name in enumerate(names):
            write_wav(root / DESED_DIRS[split] / name, seed=10 * i + j)
    strong_cols = ["filename", "onset", "offset", "event_label"]
    md = root / "metadata"
    write_tsv(
        md / "train/synthetic21_train/soundscapes.tsv",
        strong_cols,
        [["0.wav", 0.0, 1.5, "Speech"], ["0.wav", 2.113, 4.0, "Dog"], ["1.wav", 5.0, 9.9, "Frying"]],
    )
    # 2.wav has no events: DESED simply has no row for it
    write_tsv(
        md / "train/weak.tsv",
        ["filename", "event_labels"],
        [[weak[0], "Speech,Dog"], [weak[1], "Vacuum_cleaner"]],
    )
    write_tsv(
        md / "validation/synthetic21_validation/soundscapes.tsv",
        strong_cols,
        [["1000.wav", 1.0, 2.0, "Cat"], ["1001.wav", 0.0, 10.0, "Running_water"]],
    )
    # DESED's validation.tsv lists clips without events with an empty label
    write_tsv(
        md / "validation/validation.tsv",
        strong_cols,
        [[evaluation[0], 1.2, 3.4, "Alarm_bell_ringing"], [evaluation[1], None, None, None]],
    )
    write_tsv(
        md / "validation/validation_durations.tsv",
        ["filename", "duration"],
        [[evaluation[0], 10.0], [evaluation[1], 10.0]],
    )
    return {
        "name": "desed-handmade",
        "root": str(root),
        "splits": {
            "train_strong": {
                "audio": DESED_DIRS["train_strong"],
                "strong": "metadata/train/synthetic21_train/soundscapes.tsv",
            },
            "train_weak": {"audio": DESED_DIRS["train_weak"], "weak": "metadata/train/weak.tsv"},
            "train_unlabeled": {"audio": DESED_DIRS["train_unlabeled"]},
            "validation": {
                "audio": DESED_DIRS["validation"],
                "strong": "metadata/validation/synthetic21_validation/soundscapes.tsv",
            },
            "eval": {
                "audio": DESED_DIRS["eval"],
                "strong": "metadata/validation/validation.tsv",
                "durations": "metadata/validation/validation_durations.tsv",
            },
        },
    }


@pytest.fixture
def desed_config(tmp_path: Path) -> dict:
    return make_desed_tree(tmp_path / "DESED" / "dataset")


# Test modules cannot import conftest under --import-mode=importlib: hand out the helpers as fixtures.
@pytest.fixture
def make_wav():
    return write_wav


@pytest.fixture
def make_tsv():
    return write_tsv
