"""The teacher zoo: cached outputs, mixup applied to them, attention rollout, Freq-MixStyle, CLI."""

from __future__ import annotations

import numpy as np
import torch
from click.testing import CliRunner

from sedbench.cli import cli
from sedbench.stack import cpu_label
from sedbench.teachers import TeacherBatch, TeacherCache, attention_rollout, load_teacher
from sedbench.training.augment import freq_mixstyle
from sedbench.training.mixup import Mix, draw_mix


def test_cached_outputs_cover_every_training_row(tiny_bench, tiny_teachers):
    n = len(tiny_bench.training_data)
    transformer = tiny_teachers["transformer"]
    assert transformer.arrays["frame_logits"].shape[:2] == (n, tiny_bench.encoder.n_out_frames)
    weights = transformer.arrays["temporal_weights"]
    torch.testing.assert_close(weights.sum(-1), torch.ones(n), atol=1e-4, rtol=0)
    assert transformer.info.embedding_dim == transformer.arrays["embedding"].shape[-1]
    assert "temporal_weights" not in tiny_teachers["crnn-large"].arrays  # a CRNN has no attention
    assert set(transformer.info.validation) >= {"psds1", "per_class_psds1"}
    # the CPU that trained it is recorded (a cache shared across machines serves it elsewhere), not keyed
    assert transformer.info.execution["cpu"] == cpu_label() and "(" in cpu_label()
    assert "cpu" not in tiny_bench.execution


def test_teacher_targets_are_mixed_like_the_inputs(tiny_bench, tiny_teachers):
    cache = tiny_teachers["crnn-large"]
    batch = tiny_bench.training_data.batch(np.arange(8))
    mix = draw_mix([batch["is_strong"], batch["is_weak"]], 8, np.random.default_rng(1), prob=1.0, alpha=0.2)
    assert not mix.is_identity
    tb = cache.batch(batch["index"], mix)
    z = cache.arrays["frame_logits"][batch["index"]]
    p = torch.sigmoid(z / 2.0)
    lam = mix.lam.view(-1, 1, 1)
    torch.testing.assert_close(tb.frame_probs(2.0), lam * p + (1 - lam) * p[mix.perm])
    plain = cache.batch(batch["index"], Mix.identity(8))
    torch.testing.assert_close(plain.frame_probs(2.0), p)


def test_ensemble_averages_logits(tiny_bench, tiny_teachers):
    ensemble = load_teacher(tiny_bench, "crnn-large+cnn")
    expected = (tiny_teachers["crnn-large"].arrays["clip_logits"] + tiny_teachers["cnn"].arrays["clip_logits"]) / 2
    torch.testing.assert_close(ensemble.arrays["clip_logits"], expected)
    assert isinstance(ensemble, TeacherCache)


def test_attention_rollout_of_identity_attention_is_uniform_and_follows_a_focused_layer():
    eye = torch.eye(5).expand(2, 3, 5, 5)
    torch.testing.assert_close(attention_rollout([eye, eye]), torch.full((2, 5), 0.2))
    focused = torch.zeros(1, 1, 5, 5)
    focused[..., 3] = 1.0  # every frame attends to frame 3
    importance = attention_rollout([focused])
    assert importance.argmax().item() == 3 and abs(importance.sum().item() - 1) < 1e-6


def test_freq_mixstyle_mixes_per_frequency_statistics():
    x = torch.randn(4, 8, 50) * torch.arange(1, 5).view(4, 1, 1) + torch.arange(4).view(4, 1, 1)
    out = freq_mixstyle(p=1.0, alpha=0.1)(x, np.random.default_rng(0))
    assert out.shape == x.shape and not torch.allclose(out, x)
    same = freq_mixstyle(p=0.0)(x, np.random.default_rng(0))
    assert torch.equal(same, x)


def test_teachers_list_cli(tiny_bench, tiny_teachers):
    result = CliRunner().invoke(cli, ["teachers", "list", "--profile", "tiny", "--cache", str(tiny_bench.cache_root),
                                      "--set", f"data.root={tiny_bench.config['data']['root']}"])
    assert result.exit_code == 0, result.output
    assert "transformer" in result.output and "yes" in result.output
    # the validation curve, so a reader sees how many steps a teacher needed
    assert "transformer validation score by step:" in result.output and "(kept step " in result.output


def test_teacher_batch_refuses_missing_outputs():
    import pytest

    from sedbench.errors import SedbenchError

    tb = TeacherBatch({"frame_logits": torch.zeros(1, 2, 3)}, Mix.identity(1))
    with pytest.raises(SedbenchError, match="no cached 'embedding'"):
        tb.embedding()


def _key_as_spelled(bench, name: str) -> str:
    """The impostor: a key over the spec as written (its `training:` included) and the zoo's recipe
    unresolved, as before teachers.NAME.training existed; two spellings of one teacher miss each other."""
    from sedbench.config import config_hash
    from sedbench.teachers import teacher_spec

    return config_hash({"teacher": teacher_spec(bench, name), "name": name, "data": bench.data_fingerprint,
                        "features": bench.config["features"], "recipe": bench.config["training"],
                        "teacher_training": bench.config.get("teacher_training", {}),
                        "execution": bench.execution, **({"postprocess": bench.config["postprocess"]}
                                                         if "postprocess" in bench.config else {})})


def test_a_teachers_seed_is_keyed_as_resolved(tiny_bench, tmp_path):
    """Seed 0 named or not is one teacher, and the per_run teacher of run seed s is the teacher trained
    with seed s: each finds the other's cache entry; another seed is another teacher."""
    from sedbench.benchmark import Benchmark
    from sedbench.config import load_profile
    from sedbench.teachers import teacher_key

    def bench(*overrides: str) -> Benchmark:
        config = load_profile("tiny", [*overrides, f"data.root={tiny_bench.config['data']['root']}"])
        return Benchmark(config, results_root=tmp_path / "results", cache_root=tmp_path / "cache", device="cpu",
                         progress=False, threads=1)

    def key(*overrides: str, run_seed: int | None = None) -> str:
        return teacher_key(bench(*overrides), "cnn", run_seed)

    assert key("teacher_training.seed=0") == key()
    # and one settings group: the runs of both read the same teachers
    assert bench("teacher_training.seed=0").benchmark_hash == bench().benchmark_hash
    assert bench("teacher_training.seed=1").benchmark_hash != bench().benchmark_hash
    assert key("teacher_seeds=per_run", run_seed=2) == key("teacher_training.seed=2") != key()
    assert key("teacher_seeds=per_run", run_seed=0) == key()
    assert key(run_seed=2) == key()  # shared: every run reads the one teacher
    assert key("teacher_training.seed=1", "teacher_seeds=per_run", run_seed=1) == key("teacher_training.seed=2")
    # Freq-MixStyle: the teacher's own probability or the zoo's is one setting
    assert key("teachers.cnn.freq_mixstyle=0.5") == key("teacher_training.freq_mixstyle=0.5") != key()
    assert key("teacher_training.freq_mixstyle=0.0") == key()


def test_a_teachers_own_training_keys_apply_to_it_alone(tiny_bench, tmp_path):
    """teachers.NAME.training overrides teacher_training for that teacher only (a transformer may need a
    longer schedule than the cnn of the same zoo): it trains that many steps, enters that teacher's key,
    and leaves the other teachers' keys, and so their caches, as they were."""
    import shutil

    from sedbench.benchmark import Benchmark
    from sedbench.config import load_profile
    from sedbench.teachers import teacher_key
    from sedbench.training.fit import train_teacher

    def bench(*overrides: str) -> Benchmark:
        config = load_profile("tiny", ["teacher_training.val_every=2", *overrides,
                                       f"data.root={tiny_bench.config['data']['root']}"])
        return Benchmark(config, results_root=tmp_path / "results", cache_root=tmp_path / "cache", device="cpu",
                         progress=False, threads=1)

    for split in tiny_bench.dataset.splits:
        tiny_bench.feature_cache.get(split)
    zoo, longer = bench(), bench("teachers.transformer.training.steps=8")
    shutil.copytree(tiny_bench.feature_cache.dir, longer.feature_cache.dir)  # features: not what is tested
    validation = train_teacher(longer, "transformer").info.validation
    assert [h["step"] for h in validation["history"]] == [2, 4, 6, 8]  # the zoo's 6 steps, then its own 2 more
    assert teacher_key(longer, "transformer") != teacher_key(zoo, "transformer")
    assert teacher_key(longer, "cnn") == teacher_key(zoo, "cnn")
    # one teacher, one key, however its schedule is spelled: the zoo-wide spelling trains the same bits
    zoo_wide = bench("teacher_training.steps=8")
    assert teacher_key(zoo_wide, "transformer") == teacher_key(longer, "transformer")
    assert teacher_key(zoo_wide, "cnn") != teacher_key(zoo, "cnn")
    # and a teacher without its own `training:` keeps the key it had before that key existed (its cache)
    assert teacher_key(zoo, "cnn") == _key_as_spelled(zoo, "cnn")
    assert _key_as_spelled(zoo_wide, "transformer") != _key_as_spelled(longer, "transformer")  # the impostor
    # `teachers list` says when a teacher kept its last check (its curve had not turned) and how to go on,
    # and how far each teacher is above this settings group's scratch students
    from sedbench.evaluation.synthetic import fake_record
    from sedbench.results import run_dir, write_record

    write_record(run_dir(tmp_path / "results", "tiny", "scratch", 0, longer.benchmark_hash, "v"),
                 {**fake_record("scratch", 0, 0.05, benchmark="tiny", benchmark_hash=longer.benchmark_hash),
                  "variant_hash": "v"})
    listed = CliRunner().invoke(cli, ["teachers", "list", "--profile", "tiny", "--cache", str(tmp_path / "cache"),
                                      "--results", str(tmp_path / "results"),
                                      "--threads", "1", "--set", "teacher_training.val_every=2",
                                      "--set", "teachers.transformer.training.steps=8",
                                      "--set", f"data.root={tiny_bench.config['data']['root']}"])
    assert listed.exit_code == 0, listed.output
    hint = "transformer kept its last check" in listed.output
    assert hint == (validation["best_step"] == 8)
    assert not hint or "--set teachers.transformer.training.steps=N" in listed.output
    margin = f"transformer {validation['psds1'] - 0.05:+.3f}"
    assert "teacher minus students: " in listed.output and margin in " ".join(listed.output.split())
