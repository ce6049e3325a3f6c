"""Nothing lost, nothing silently wrong: results keyed by settings, coordinated processes, method
identity, bad inputs refused, and the two promises of a benchmark: the same pair gives the same bits
on CPU (teachers included), and two concurrent `sedbench run` train each pair once."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from sedbench import methods as methods_module
from sedbench import runner
from sedbench.benchmark import Benchmark
from sedbench.cli import cli
from sedbench.config import load_profile
from sedbench.errors import ConfigError
from sedbench.results import load, read_record

REPO = Path(__file__).resolve().parents[1]
FAST = ("training.steps=2", "training.val_every=2")  # a smaller recipe than tiny's own: seconds


def bench_at(tiny_bench: Benchmark, results, *overrides: str, threads: int | None = 1,
             cache=None) -> Benchmark:
    config = load_profile("tiny", [*FAST, *overrides, f"data.root={tiny_bench.config['data']['root']}"])
    return Benchmark(config, results_root=results, cache_root=cache or tiny_bench.cache_root, device="cpu",
                     progress=False, threads=threads)


def files_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------ determinism
@pytest.fixture(scope="module")
def twice(tiny_bench, tmp_path_factory):
    """The same pair (scratch, seed 0) run twice into two results folders."""
    root = tmp_path_factory.mktemp("twice")
    out = []
    for name in ("a", "b"):
        bench = bench_at(tiny_bench, root / name)
        record = runner.run_one(bench, "scratch", 0)
        assert record["status"] == "complete", record.get("error")
        out.append((bench, record))
    return out


def test_the_same_pair_twice_gives_identical_bits_on_cpu(twice):
    (_, a), (_, b) = twice
    assert json.dumps(a["metrics"], sort_keys=True) == json.dumps(b["metrics"], sort_keys=True)
    assert a["validation"] == b["validation"]
    da, db = Path(a["run_dir"]), Path(b["run_dir"])
    assert files_digest(da / "scores") == files_digest(db / "scores") and len(files_digest(da / "scores")) > 0
    for name in ("clip_scores.tsv", "ground_truth.tsv", "durations.tsv", "model.pt"):
        assert (da / name).read_bytes() == (db / name).read_bytes(), name
    assert a["threads"] == b["threads"] and a["execution"]["threads"] == a["threads"]


def test_a_teacher_trained_twice_is_bit_identical_and_keyed_by_threads(tiny_bench, tmp_path):
    """Issue 13: same profile, seed and thread count -> the same teacher; the thread count (which
    changes the bits on CPU) is part of the teacher's key and recorded in its info."""
    from sedbench.teachers import teacher_dir, teacher_key, teachers_table
    from sedbench.training.fit import train_teacher

    for split in tiny_bench.dataset.splits:
        tiny_bench.feature_cache.get(split)
    caches = []
    for name in ("one", "two"):
        bench = bench_at(tiny_bench, tmp_path / "results", "teacher_training.steps=3", "teacher_training.val_every=3",
                         threads=1, cache=tmp_path / name)
        shutil.copytree(tiny_bench.feature_cache.dir, bench.feature_cache.dir)  # features: not what is tested
        cache = train_teacher(bench, "transformer")
        assert cache.trained_here and cache.info.execution["threads"] == 1
        caches.append(cache.path)
    one, two = (files_digest(p) for p in caches)
    one.pop("info.json"), two.pop("info.json")  # holds the training time
    assert one == two and {"model.pt", "frame_logits.npy", "embedding.npy"} <= set(one)
    assert caches[0].name == caches[1].name
    two_threads = bench_at(tiny_bench, tmp_path / "results", "teacher_training.steps=3",
                           "teacher_training.val_every=3", threads=2, cache=tmp_path / "one")
    assert teacher_key(two_threads, "transformer") != teacher_key(bench, "transformer")
    assert not (teacher_dir(two_threads, "transformer") / "info.json").exists()
    row = teachers_table(two_threads).set_index("teacher").loc["transformer"]
    assert not row["trained"] and row["note"] == "cached for --threads 1, not 2"  # `teachers list` says so


# ------------------------------------------------------------------------------ keyed by settings
def test_other_settings_never_replace_a_record(twice, tiny_bench):
    bench, first = twice[0]
    first_dir = Path(first["run_dir"])
    before = files_digest(first_dir)
    other = bench_at(tiny_bench, bench.results_root, "training.steps=1", "training.val_every=1")
    second = runner.run_one(other, "scratch", 0)
    assert second["status"] == "complete" and Path(second["run_dir"]) != first_dir
    assert files_digest(first_dir) == before  # untouched
    df = load(bench.results_root)
    assert len(df) == 2 and df["run_dir"].nunique() == 2 and df["benchmark_hash"].nunique() == 2
    assert (df["status"] == "complete").all()

    table = CliRunner().invoke(cli, ["table", "--results", str(bench.results_root), "--metric", "weak_map",
                                     "--format", "csv"])
    assert table.exit_code == 0, table.output
    said = " ".join(table.output.split())
    assert f"showing the newest with complete runs ({other.benchmark_hash}" in said and "choose with --hash" in said
    older = CliRunner().invoke(cli, ["table", "--results", str(bench.results_root), "--metric", "weak_map",
                                     "--hash", bench.benchmark_hash[:6], "--format", "json"])
    assert older.exit_code == 0 and "settings hashes" not in older.output, older.output
    # the same settings again: cached, nothing written
    again = runner.run_one(bench, "scratch", 0)
    assert again.get("skipped") and files_digest(first_dir) == before


def test_a_run_folder_is_keyed_by_method_params_source_and_threads(tiny_bench, tmp_path):
    base = bench_at(tiny_bench, tmp_path, threads=None)
    vanilla = runner.run_dir_for(base, "vanilla", 0)
    assert vanilla.parts[-5:-3] == ("tiny", base.benchmark_hash) and vanilla.name == "seed-0"
    tau = runner.run_dir_for(bench_at(tiny_bench, tmp_path, "methods.vanilla.tau=4"), "vanilla", 0)
    one_thread = runner.run_dir_for(bench_at(tiny_bench, tmp_path, threads=1), "vanilla", 0)
    two_threads = runner.run_dir_for(bench_at(tiny_bench, tmp_path, threads=2), "vanilla", 0)
    assert len({vanilla.parent, tau.parent, one_thread.parent, two_threads.parent}) >= 3
    assert tau.parent.parent == vanilla.parent.parent  # same method folder, another variant


def test_prose_default_seeds_reference_and_other_methods_do_not_key_a_run(tiny_bench, tmp_path):
    # none of these changes what scratch trains: keyed, each one sent every completed run to be trained again
    base = runner.run_dir_for(bench_at(tiny_bench, tmp_path), "scratch", 0)
    for setting in ("description=reworded", "seeds=[0,1,2,3,4]", "reference=vanilla", "methods.vanilla.tau=4"):
        assert runner.run_dir_for(bench_at(tiny_bench, tmp_path, setting), "scratch", 0) == base, setting
    assert runner.run_dir_for(bench_at(tiny_bench, tmp_path, "training.lr=0.01"), "scratch", 0) != base


# -------------------------------------------------------------------------------- method identity
PLUGIN = '''
from sedbench.methods import register_method
from sedbench.methods import get_method

@register_method("vanilla")
class MyVanilla(get_method("vanilla")):
    """My own vanilla (a changed method under a built-in name)."""
'''


@pytest.fixture
def clean_registry():
    saved = dict(methods_module.discover())  # the built-ins, loaded before the test adds or replaces any
    yield
    methods_module.allow_override(False)
    methods_module._REGISTRY.clear()
    methods_module._REGISTRY.update(saved)


def test_a_plugin_may_not_silently_replace_a_method(tmp_path, clean_registry, tiny_bench):
    plugin = tmp_path / "my_vanilla.py"
    plugin.write_text(PLUGIN)
    with pytest.raises(ConfigError) as info:
        methods_module.discover((str(plugin),))
    message = str(info.value)
    assert "\n" not in message and "'vanilla'" in message and "already registered by built-in" in message
    assert "--override-methods" in message
    result = CliRunner().invoke(cli, ["methods", "--plugin", str(plugin)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output

    builtin = methods_module.get_method("vanilla")
    builtin_dir = runner.run_dir_for(bench_at(tiny_bench, tmp_path), "vanilla", 0)
    result = CliRunner().invoke(cli, ["methods", "--plugin", str(plugin), "--override-methods"])
    assert result.exit_code == 0, result.output
    assert methods_module.get_method("vanilla").source == f"file ({plugin})"
    mine = runner.run_dir_for(bench_at(tiny_bench, tmp_path), "vanilla", 0, plugins=(str(plugin),))
    assert mine != builtin_dir  # its source is part of the run's identity: it never reuses vanilla's records
    assert methods_module.get_method("vanilla").source_hash != builtin.source_hash


def test_a_replacing_plugin_keeps_its_own_defaults_not_the_builtins_yaml(tmp_path, clean_registry):
    """--override-methods with other Params failed on configs/methods/vanilla.yaml's keys, and with the
    same fields the YAML silently beat the plugin's own defaults."""
    plugin = tmp_path / "collide.py"
    plugin.write_text("from dataclasses import dataclass\nfrom sedbench.methods import Method, register_method\n\n"
                      "@dataclass\nclass P:\n    tau: float = 3.0\n\n"
                      '@register_method("vanilla")\nclass Mine(Method):\n    """mine"""\n    Params = P\n')
    methods_module.allow_override(True)
    methods_module.discover((str(plugin),))
    assert methods_module.build_method("vanilla", {}, (str(plugin),)).params.tau == 3.0


def test_a_control_that_names_no_method_is_refused_where_it_is_declared(tmp_path, clean_registry):
    """control = "scrach" listed fine, then failed a run with "unknown method 'scrach'" and no file named."""
    plugin = tmp_path / "badctrl.py"
    plugin.write_text(PLUGIN.replace('register_method("vanilla")', 'register_method("badctrl")')
                      + '    control = "scrach"\n')
    result = CliRunner().invoke(cli, ["methods", "--plugin", str(plugin)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert f"method badctrl from file ({plugin}): control = 'scrach' is not a registered method" in result.output
    assert "did you mean 'scratch'?" in result.output


def test_a_plugin_imports_a_helper_beside_it_and_the_helper_is_part_of_its_identity(tmp_path, clean_registry):
    helper = tmp_path / "sedbench_test_hint_helpers.py"
    helper.write_text("SCALE = 2.0\n")
    plugin = tmp_path / "helped.py"
    plugin.write_text("from sedbench_test_hint_helpers import SCALE\n"
                      + PLUGIN.replace('register_method("vanilla")', 'register_method("helped")'))
    other = tmp_path / "other"  # another plugin's helper of the same name: refused, not silently shared
    other.mkdir()
    (other / "sedbench_test_hint_helpers.py").write_text("SCALE = 5.0\n")
    (other / "mine.py").write_text(plugin.read_text().replace('"helped"', '"mine"'))
    try:
        first = methods_module.discover((str(plugin),))["helped"].source_hash
        assert str(tmp_path.resolve()) not in sys.path  # searched only while the plugin loads
        helper.write_text("SCALE = 3.0  # the formula changed in the helper, not in the plugin file\n")
        assert methods_module.discover((str(plugin),))["helped"].source_hash != first
        with pytest.raises(ConfigError, match="already loaded; rename the helper"):
            methods_module.discover((str(other / "mine.py"),))
    finally:
        sys.modules.pop("sedbench_test_hint_helpers", None)


def test_a_changed_method_file_changes_its_identity(tmp_path, clean_registry):
    plugin = tmp_path / "mine.py"
    plugin.write_text(PLUGIN.replace('register_method("vanilla")', 'register_method("mine")'))
    first = methods_module.discover((str(plugin),))["mine"].source_hash
    plugin.write_text(plugin.read_text() + "\n# tau now means something else\n")
    assert methods_module.discover((str(plugin),))["mine"].source_hash != first


def test_a_misspelt_hook_is_said_at_registration(tmp_path, clean_registry):
    """`losses()` for `loss()`: the method trained as the recipe alone, recorded its teacher, and said nothing."""
    from sedbench.errors import SedbenchWarning

    plugin = tmp_path / "typo.py"
    plugin.write_text(PLUGIN.replace('register_method("vanilla")', 'register_method("typo")')
                      + "    def losses(self, ctx):\n        return {}\n\n    def hint_loss(self, ctx):\n"
                        "        return {}\n")
    with pytest.warns(SedbenchWarning) as caught:
        methods_module.discover((str(plugin),))
    said = [str(w.message) for w in caught if "no hook" in str(w.message)]
    assert len(said) == 1 and "losses() is no hook" in said[0] and "did you mean loss()?" in said[0], said
    assert str(plugin) in said[0]  # hint_loss, a helper of its own, is not a near miss


# --------------------------------------------------------------------------------- bad inputs
def test_seeds_given_twice_run_once(tiny_bench):
    assert runner.resolve_seeds("1,1", tiny_bench) == [1]
    assert runner.resolve_seeds("2,0,2", tiny_bench) == [2, 0]


def test_a_dry_run_writes_nothing_anywhere(tiny_bench, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "--profile", "tiny", "--methods", "scratch,vanilla", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "will be generated" in result.output and "will train" in result.output
    assert list(tmp_path.iterdir()) == []  # no ./data, no ./results, no ./cache
    result = CliRunner().invoke(cli, ["run", "--profile", "tiny", "--methods", "scratch,vanilla", "--dry-run",
                                      "--set", f"data.root={tiny_bench.config['data']['root']}",
                                      "--results", "r", "--cache", "c"])
    assert result.exit_code == 0 and "teacher cnn: will train" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_evaluate_update_with_a_missing_score_file_writes_nothing(twice, tmp_path):
    run = Path(shutil.copytree(twice[0][1]["run_dir"], tmp_path / "run"))
    record_before = (run / "run.json").read_bytes()
    victim = sorted((run / "scores").iterdir())[0]
    victim.unlink()
    result = CliRunner().invoke(cli, ["evaluate", str(run), "--update"])
    assert result.exit_code == 2, result.output
    assert "have no score file" in result.output and victim.stem in result.output
    assert "nothing was written" in result.output
    assert (run / "run.json").read_bytes() == record_before


def test_evaluate_refuses_a_run_that_is_not_complete(twice, tmp_path):
    """An interrupted --force leaves the earlier run's scores beside an `interrupted` record: recomputing
    from them would report a result the record disowns."""
    from sedbench import results

    run = Path(shutil.copytree(twice[0][1]["run_dir"], tmp_path / "run"))
    results.write_record(run, {**results.read_record(run), "status": "interrupted"})
    result = CliRunner().invoke(cli, ["evaluate", str(run)])
    assert result.exit_code != 0 and "the run is interrupted" in result.output, result.output


@pytest.mark.parametrize("device, says", [("foo", "not a torch device"), ("cuda:7", "CUDA device(s)")])
def test_a_bad_device_is_one_line_before_any_work(device, says, tmp_path):
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    result = CliRunner().invoke(cli, ["run", "--profile", "tiny", "--dry-run", "--device", device,
                                      "--results", str(tmp_path / "r"), "--cache", str(tmp_path / "c")])
    assert result.exit_code != 0 and f"--device {device}: " in result.output and says in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()


def test_a_hop_the_labels_cannot_follow_is_one_line_before_any_work(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--profile", "tiny", "--dry-run", "--set", "features.hop_length=334",
                                      "--results", str(tmp_path / "r"), "--cache", str(tmp_path / "c")])
    assert result.exit_code != 0 and "features: hop_length 334 gives 480 frames per clip" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r").exists() and not (tmp_path / "c").exists()


BROKEN = '''
from sedbench.methods import Method, register_method

@register_method("broken")
class Broken(Method):
    """A method whose loss is NaN (test only)."""

    def loss(self, ctx):
        return {"nan": ctx.student_out.frame_logits.sum() * float("nan")}
'''


# FitNets on a teacher without frame embeddings: nn.Linear(dim, None) raises torch's many-line TypeError
SETUP_CRASH = """
    def teachers(self):
        return ["cnn"]

    def setup(self, ctx):
        from torch import nn
        return nn.ModuleDict({"regressor": nn.Linear(4, ctx.teachers["cnn"].embedding_dim)})
"""


PARTITIONS_CRASH = """
    def partitions(self, classes, environments, clip_environments):
        raise RuntimeError("no partition today")
"""


@pytest.mark.parametrize("failure", ["nan", "crash", "setup", "partitions", "device"])
def test_a_failed_run_then_the_table_says_why(tiny_bench, tiny_teachers, tmp_path, clean_registry, failure):
    plugin = tmp_path / "broken.py"
    crash = 'return {"x": ctx.teachers["nope"]}'  # a plugin's bug: the record keeps its traceback
    # a CUDA kernel's error as torch reports it, at the next synchronisation: here inside loss(), which
    # need not have launched it, so the hook is not blamed and the user is told how to find the kernel
    device = 'import torch; raise torch.AcceleratorError("CUDA error: an illegal memory access was encountered")'
    plugin.write_text({"nan": BROKEN, "crash": BROKEN.replace(BROKEN.splitlines()[-1].strip(), crash),
                       "setup": BROKEN + SETUP_CRASH, "partitions": BROKEN + PARTITIONS_CRASH,
                       "device": BROKEN.replace(BROKEN.splitlines()[-1].strip(), device)}[failure])
    result = CliRunner().invoke(cli, [
        "run", "--profile", "tiny", "--plugin", str(plugin), "--methods", "broken", "--seeds", "1", "--threads", "1",
        "--results", str(tmp_path / "results"), "--cache", str(tiny_bench.cache_root),
        "--set", f"data.root={tiny_bench.config['data']['root']}", *sum((["--set", o] for o in FAST), [])],
        standalone_mode=False)
    assert result.return_value == 1, result.output  # the exit code of `sedbench run`
    why = {"nan": "loss is not finite", "crash": "method broken: loss() raised KeyError: 'nope'",
           "setup": "method broken: setup() raised TypeError: ",
           "partitions": "method broken: partitions() raised RuntimeError: no partition today",
           "device": "AcceleratorError: CUDA error: an illegal memory access was encountered; a device error "
                     "surfaces where the device next synchronises, not where it happened: rerun with "
                     "CUDA_LAUNCH_BLOCKING=1 to find the operation"}[failure]
    line = next(x for x in result.output.splitlines() if "no run of benchmark tiny completed" in x)
    assert f"no run of benchmark tiny completed (1 failed); broken seed 0: {why}" in line
    assert "no such column" not in result.output and "tuple of ints size" not in result.output
    # an expected failure says all in its message; a crash points to where its traceback is kept
    said = "the traceback of a failed run is in its run.json (`traceback`)" in result.output
    assert said == (failure != "nan"), result.output


def test_a_hook_error_is_one_line_and_names_the_method_and_the_hook():
    from sedbench.errors import MethodError, one_line

    assert str(MethodError.from_hook("m", "loss", AssertionError())) == "method m: loss() raised AssertionError"
    many = TypeError("empty() received an invalid combination of arguments\n * (tuple of ints size, ...)")
    assert str(MethodError.from_hook("m", "setup", many)) == (
        "method m: setup() raised TypeError: empty() received an invalid combination of arguments")
    # a teacher's training or a pool worker crashed by a CUDA error says the same hint as a run
    cuda = one_line(torch.AcceleratorError("CUDA error: device-side assert triggered"))
    assert cuda.startswith("AcceleratorError: CUDA error: device-side assert triggered; a device error surfaces")
    assert "CUDA_LAUNCH_BLOCKING=1" in cuda and "CUDA_LAUNCH_BLOCKING" not in one_line(RuntimeError("CUDA"))


def test_the_docs_plugin_on_a_teacher_without_embeddings_says_so(tiny_bench, tiny_teachers, tmp_path, clean_registry):
    plugin = tmp_path / "fitnets_cnn.py"
    text = (REPO / "docs" / "examples" / "fitnets.py").read_text()
    plugin.write_text(text.replace('register_method("fitnets")', 'register_method("fitnets-cnn")')
                      .replace('teacher: str = "transformer"', 'teacher: str = "cnn"'))
    record = runner.run_one(bench_at(tiny_bench, tmp_path / "results"), "fitnets-cnn", 0, plugins=(str(plugin),))
    assert record["status"] == "failed"
    assert record["error"] == "fitnets: teacher cnn has no frame embeddings; use the transformer"


# -------------------------------------------------------------------------------- coordination
HOLD = ("import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
        "print('held', flush=True); time.sleep(120)")


def test_a_pair_another_process_holds_is_left_alone(tiny_bench, tmp_path):
    bench = bench_at(tiny_bench, tmp_path / "results")
    method = methods_module.build_method("scratch")
    identity = runner.run_identity(bench, method, 0)
    identity.lock.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(identity.lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert runner.pair_status(bench, "scratch", 0) == "running"
        record = runner.run_one(bench, "scratch", 0, wait=False)
        assert record["status"] == "busy" and not (identity.directory / "run.json").exists()
    finally:
        holder.kill()
        holder.wait()
    assert runner.pair_status(bench, "scratch", 0) == "pending"  # the kernel dropped the dead process's lock


def test_a_teacher_entry_is_published_whole(tmp_path):
    from sedbench.teachers import TeacherCache, TeacherInfo

    path = tmp_path / "teachers" / "t-key"
    arrays = {"frame_logits": np.zeros((2, 3, 4), np.float32), "clip_logits": np.zeros((2, 4), np.float32)}
    TeacherCache.write(path, arrays, TeacherInfo("t", "cnn", "key"), state_dict={"w": torch.ones(2)})
    TeacherCache.write(path, {k: v + 1 for k, v in arrays.items()}, TeacherInfo("t", "cnn", "key"),
                       state_dict={"w": torch.ones(2)})  # --force: replaced, never deleted first
    assert sorted(p.name for p in path.iterdir()) == ["clip_logits.npy", "frame_logits.npy", "info.json", "model.pt"]
    assert [p.name for p in path.parent.iterdir()] == ["t-key"]  # no temporary or old folder left
    assert float(TeacherCache(path).arrays["clip_logits"].max()) == 1.0


def test_two_run_processes_on_the_same_folders_train_each_pair_once(tiny_bench, tmp_path):
    """Two `sedbench run` started together on one results folder and one (empty) cache: the teacher
    and the pair are trained by one process; the other waits and reuses them; all entries whole."""
    results, cache = tmp_path / "results", tmp_path / "cache"
    args = [sys.executable, "-m", "sedbench.cli", "run", "--profile", "tiny", "--methods", "vanilla", "--seeds", "1",
            "--results", str(results), "--cache", str(cache), "--no-table", "--threads", "1",
            "--set", f"data.root={tiny_bench.config['data']['root']}", "--set", "methods.vanilla.teacher=cnn",
            *sum((["--set", o] for o in (*FAST, "teacher_training.steps=2", "teacher_training.val_every=2",
                                         "complexity.runs=1", "complexity.warmup=0")), [])]
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
             for _ in range(2)]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out
    outcome = [next(line for line in out.splitlines() if line.startswith("pairs:")) for out in outputs]
    assert sum(int(line.split()[1]) for line in outcome) == 1, outcome  # "pairs: N trained, ..."
    assert sum(line.count("cnn trained") for line in outcome) == 1, outcome
    assert all("0 failed" in line for line in outcome), outcome

    records = sorted(results.rglob("run.json"))
    assert len(records) == 1
    record = read_record(records[0])
    assert record["status"] == "complete" and record["threads"] == 1
    run = records[0].parent
    assert len(list((run / "scores").glob("*.tsv"))) == len((run / "durations.tsv").read_text().splitlines()) - 1
    torch.load(run / "model.pt", weights_only=False)
    teachers = [p for p in (cache / "teachers").iterdir() if not p.name.endswith(".lock")]
    assert [p.name.split("-")[0] for p in teachers] == ["cnn"], teachers  # one entry, no temp or old folder
    info = json.loads((teachers[0] / "info.json").read_text())
    assert info["execution"]["threads"] == 1
    for name in info["outputs"]:
        np.load(teachers[0] / f"{name}.npy")
    torch.load(teachers[0] / "model.pt")
    leftovers = [p for p in tmp_path.rglob("*") if ".tmp" in p.name or ".old-" in p.name]
    assert leftovers == []


def test_a_later_command_tables_its_group_against_the_profiles_reference(tiny_bench, tmp_path):
    # `run --methods scratch`, then `run --methods scratch-ema`: the second closing table shows the
    # whole group against scratch (the profile's reference), not against the first method it ran
    common = ["--profile", "tiny", "--seeds", "1", "--threads", "1", "--results", str(tmp_path / "results"),
              "--cache", str(tiny_bench.cache_root), "--set", f"data.root={tiny_bench.config['data']['root']}",
              *sum((["--set", o] for o in FAST), [])]
    first = CliRunner().invoke(cli, ["run", "--methods", "scratch", *common])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(cli, ["run", "--methods", "scratch-ema", *common])
    assert second.exit_code == 0, second.output
    assert "psds1 vs scratch " in second.output and "vs scratch-ema" not in second.output
