"""Controls: registered like methods, marked as controls, each isolating one method's mechanism; one
teacher per comparison (the profile's default teacher and teacher set); the deployed size."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from sedbench.config import load_profile
from sedbench.methods import Partition, discover, get_method, method_settings
from sedbench.training.engine import DeployedModel, TrainedPartition, class_mask_for
from sedbench.training.fit import TrainResult, deployment_routes
from tests.methods.conftest import CLASSES, Harness, teacher_info

CONTROLS = {"scratch-ema": ("takd", "dual"), "vanilla-ensemble": ("multi-teacher",),
            "environment-mask": ("environment-aware",)}
EXPECTED_CONTROL = {"vanilla": "scratch", "takd": "scratch-ema", "dual": "scratch-ema",
                    "multi-teacher": "vanilla-ensemble", "environment-aware": "environment-mask",
                    "eefd": "scratch", "temporal-attention": "scratch"}
ENVS = {"kitchen": ("c0", "c1", "c2"), "bathroom": ("c3", "c4"), "living_room": ("c1", "c5", "c6")}


# ---------------------------------------------------------------------------------- the registry
def test_controls_are_registered_and_marked():
    registry = discover()
    for name, controlled in CONTROLS.items():
        cls = registry[name]
        assert cls.is_control and cls.control is None
        for method in controlled:
            assert registry[method].control == name and not registry[method].is_control
        doc = inspect.getmodule(cls).__doc__
        assert "What it isolates" in doc, f"{name}: the control's docstring must say what it isolates"


def test_every_method_declares_the_control_that_isolates_its_mechanism():
    registry = discover()
    assert {n: registry[n].control for n in EXPECTED_CONTROL} == EXPECTED_CONTROL
    for name, cls in registry.items():
        if cls.control is not None:
            assert cls.control in registry, f"{name}: control {cls.control} is not registered"
    assert registry["scratch"].control is None and not registry["scratch"].is_control


def test_all_includes_the_controls():
    from sedbench.runner import resolve_methods

    chosen = resolve_methods("all")
    assert set(CONTROLS) <= set(chosen) and chosen[0] == "scratch"


def test_methods_command_marks_controls(monkeypatch):
    from sedbench import cli as cli_module
    from sedbench.cli import cli

    monkeypatch.setattr(cli_module.console, "width", 400)  # one line per method, whatever the terminal
    result = CliRunner().invoke(cli, ["methods"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    for name in CONTROLS:
        assert "[control]" in rows[name], name
    assert "(control: scratch-ema)" in rows["takd"]


# ------------------------------------------------------------------------------------ scratch-ema
def test_scratch_ema_deploys_the_mean_student_and_has_no_teacher_term():
    h = Harness("scratch-ema")
    assert get_method("scratch-ema").deploy == "mean_student"
    assert h.method.teachers() == [] and h.method.loss(h.ctx()) == {} and len(h.modules) == 0


class StudentDeployingScratchEMA(get_method("scratch-ema")):
    """Impostor: scratch under another name, deploying the student."""

    deploy = "student"


def check_deploys_mean_student(bench, cls) -> None:
    """The deployed network is the mean student of the selected step (the EMA of the weights), not the student."""
    from sedbench.runner import train_and_select

    class Probe(cls):
        states: dict[int, tuple[dict, dict]] = {}

        def on_step_end(self, ctx):
            self.states[ctx.step] = ({k: v.clone() for k, v in ctx.mean_student.state_dict().items()},
                                     {k: v.clone() for k, v in ctx.student.state_dict().items()})

    result = train_and_select(bench, Probe(), seed=0)
    part = result.partitions[0]
    mean, student = Probe.states[part.best_step]
    deployed = part.deployed.net.state_dict()
    assert all(torch.equal(deployed[k], mean[k]) for k in mean), "the deployed network is not the mean student"
    assert not all(torch.equal(deployed[k], student[k]) for k in student)


@pytest.mark.parametrize("cls, genuine", [(get_method("scratch-ema"), True), (StudentDeployingScratchEMA, False)],
                         ids=["scratch-ema", "impostor-deploys-student"])
def test_scratch_ema_deploys_the_mean_student_in_the_engine(tiny_bench, cls, genuine):
    if genuine:
        check_deploys_mean_student(tiny_bench, cls)
    else:
        with pytest.raises(AssertionError):
            check_deploys_mean_student(tiny_bench, cls)


# ------------------------------------------------------------------------------- vanilla-ensemble
def test_vanilla_ensemble_is_kd_to_the_plain_average_of_the_same_teachers():
    scores_a = {c: 0.1 for c in CLASSES} | {"c0": 0.9}
    scores_b = {c: 0.1 for c in CLASSES} | {"c1": 0.9}
    infos = {"crnn-large": teacher_info("crnn-large", scores_a), "transformer": teacher_info("transformer", scores_b)}
    teachers = ["crnn-large", "transformer"]
    h = Harness("vanilla-ensemble", {"teachers": teachers}, infos=infos)
    assert h.method.teachers() == teachers
    ctx = h.ctx()
    tau = h.method.params.tau
    target = {lvl: sum(torch.sigmoid(h.arrays[t][f"{lvl}_logits"] / tau) for t in teachers) / 2
              for lvl in ("frame", "clip")}
    expected = tau**2 * (F.binary_cross_entropy_with_logits(ctx.student_out.frame_logits / tau, target["frame"])
                         + F.binary_cross_entropy_with_logits(ctx.student_out.clip_logits / tau, target["clip"]))
    torch.testing.assert_close(h.method.loss(ctx)["kd"], expected)
    # the only difference to multi-teacher is the per-class weighting
    multi = Harness("multi-teacher", {"teachers": teachers}, infos=infos)
    multi_mean = Harness("multi-teacher", {"teachers": teachers, "combination": "mean"}, infos=infos)
    torch.testing.assert_close(multi_mean.method.loss(multi_mean.ctx())["kd"], expected)
    assert not torch.allclose(multi.method.loss(multi.ctx())["kd"], expected)


# ------------------------------------------------------------------------------- environment-mask
def trained(net: torch.nn.Module, partition: Partition, mask=None) -> TrainedPartition:
    return TrainedPartition(partition, DeployedModel(net, mask).eval(), 0, 1, 0.0, [])


def environment_aware_masks() -> dict[str, torch.Tensor]:
    clip_envs = np.array(list(ENVS) * 3, dtype=object)
    parts = get_method("environment-aware")().partitions(CLASSES, ENVS, clip_envs)
    return {p.environment: class_mask_for(CLASSES, p.classes) for p in parts}


def check_environment_mask(cls) -> None:
    """Each environment's clips get the general student's outputs on that environment's classes (the same
    class mask environment-aware deploys) and exactly 0 elsewhere; one network behind all routes."""
    h = Harness(cls)
    method = h.method
    routes = deployment_routes(method, [trained(h.student, Partition())], CLASSES, ENVS)
    assert len(routes) == len(ENVS)
    assert len(TrainResult(method, [trained(h.student, Partition())], {}, 0.0, routes).deployed_models) == 1
    masks = environment_aware_masks()
    h.student.eval()
    with torch.no_grad():
        plain = h.student(h.x)
        for route in routes:
            env = route.partition.environment
            assert env in masks
            out = route.deployed(h.x)
            reference = DeployedModel(h.student, masks[env]).eval()(h.x)  # environment-aware's deployment
            torch.testing.assert_close(out.frame_logits, reference.frame_logits)
            keep = masks[env]
            assert torch.all(torch.sigmoid(out.clip_logits)[:, ~keep] == 0)
            torch.testing.assert_close(out.clip_logits[:, keep], plain.clip_logits[:, keep])


class UnmaskedRouting(get_method("environment-mask")):
    """Impostor: routes clips by environment but keeps every class (no oracle mask)."""

    def routes(self, partition, environments):
        return [Partition(name=env, environment=env) for env in environments]


@pytest.mark.parametrize("cls, genuine", [("environment-mask", True), (UnmaskedRouting, False)],
                         ids=["environment-mask", "impostor-no-mask"])
def test_environment_mask_masks_exactly_like_environment_aware(cls, genuine):
    if genuine:
        check_environment_mask(cls)
    else:
        with pytest.raises(AssertionError):
            check_environment_mask(cls)


def test_environment_mask_trains_like_vanilla():
    h, v = Harness("environment-mask"), Harness("vanilla")
    h.student.eval(), v.student.eval()  # no dropout: the two forwards draw no random numbers
    assert h.method.teachers() == v.method.teachers()
    assert h.method.partitions(CLASSES, ENVS, None) == [Partition()]  # all clips, all classes
    torch.testing.assert_close(h.method.loss(h.ctx())["kd"], v.method.loss(v.ctx())["kd"])


# ------------------------------------------------------------------------- one teacher per comparison
def test_single_teacher_methods_take_the_profiles_default_teacher():
    config = load_profile("quick")
    teacher, teacher_set = config["teacher"], config["teacher_set"]
    assert teacher == "cnn" and teacher_set[0] == "cnn" and len(teacher_set) >= 2
    for name in ("vanilla", "takd", "dual", "environment-aware", "environment-mask"):
        assert method_settings(config, name)["teacher"] == teacher, name
    for name in ("multi-teacher", "vanilla-ensemble"):
        assert method_settings(config, name)["teachers"] == teacher_set, name
    # formulas that need a transformer keep it
    for name in ("eefd", "temporal-attention"):
        assert "teacher" not in method_settings(config, name)
    assert get_method("dual").profile_teachers == {"teacher": "teacher"}  # its embedding teacher stays


def test_a_study_can_override_one_methods_teacher():
    config = load_profile("quick", ("methods.vanilla.teacher=transformer",))
    assert method_settings(config, "vanilla")["teacher"] == "transformer"
    assert method_settings(config, "takd")["teacher"] == "cnn"
    config = load_profile("quick", ("teacher=transformer",))
    assert method_settings(config, "takd")["teacher"] == "transformer"


def test_full_profile_distils_from_crnn_large_and_trains_teachers_per_seed():
    config = load_profile("full")
    assert config["teacher"] == "crnn-large" and set(config["teacher_set"]) == {"crnn-large", "transformer", "cnn"}
    assert config["teacher_seeds"] == "per_run"
    assert load_profile("quick")["teacher_seeds"] == "shared"


def test_control_notes_flag_a_control_on_other_teachers(tiny_bench):
    from sedbench.benchmark import Benchmark
    from sedbench.runner import control_notes

    assert control_notes(tiny_bench, ["scratch", "vanilla", "multi-teacher", "vanilla-ensemble"]) == []
    config = {**tiny_bench.config, "methods": {"multi-teacher": {"teachers": ["cnn", "crnn-large"]}}}
    bench = Benchmark(config, results_root=tiny_bench.results_root, cache_root=tiny_bench.cache_root,
                      device="cpu", progress=False)
    notes = control_notes(bench, ["multi-teacher", "vanilla-ensemble", "takd"], [0])
    assert any("vanilla-ensemble" in n and "teacher" in n for n in notes)
    assert any(n.startswith("takd: its control scratch-ema") for n in notes)


def test_control_notes_count_the_controls_finished_runs_in_the_group(tiny_bench):
    """`sedbench run --methods eefd` after scratch's runs: the table will show the delta, so the note
    says where the control comes from rather than asking to add it."""
    from sedbench.runner import control_notes, run_one

    run_one(tiny_bench, "scratch", 0)
    (note,) = control_notes(tiny_bench, ["eefd"], [0])
    assert "finished runs" in note and "seeds 0" in note
    (note,) = control_notes(tiny_bench, ["eefd"], [0, 7])
    assert "no finished run for seed(s) 7" in note and "add it" in note


# ------------------------------------------------------------------------------------ teacher seeds
def test_teacher_seeds_per_run_gives_each_seed_its_own_teacher(tiny_bench):
    from sedbench.benchmark import Benchmark
    from sedbench.runner import missing_teachers, teacher_label
    from sedbench.teachers import teacher_dir, teacher_run_seeds, teacher_seed

    shared = tiny_bench
    per_run = Benchmark({**tiny_bench.config, "teacher_seeds": "per_run"}, results_root=tiny_bench.results_root,
                        cache_root=tiny_bench.cache_root, device="cpu", progress=False)
    assert teacher_run_seeds(shared, [0, 1, 2]) == [None]
    assert teacher_dir(shared, "cnn", 2) == teacher_dir(shared, "cnn")
    assert [teacher_seed(per_run, s) for s in (0, 1, 2)] == [0, 1, 2]
    # seed 0's teacher is the shared one (same cache entry); the others are new
    assert teacher_dir(per_run, "cnn", 0) == teacher_dir(shared, "cnn")
    assert len({teacher_dir(per_run, "cnn", s) for s in (0, 1, 2)}) == 3
    assert teacher_label(per_run, "cnn", 0) == "teacher cnn"
    assert teacher_label(per_run, "cnn", 2) == "teacher cnn seed 2"
    missing = missing_teachers(per_run, ["cnn"], [0, 1, 2])
    assert ("teacher cnn seed 1", "teacher cnn seed 2") == tuple(k for k in missing if "seed" in k)
    with pytest.raises(Exception, match="teacher_seeds"):
        teacher_seed(Benchmark({**tiny_bench.config, "teacher_seeds": "sometimes"}), 1)


def test_a_per_run_record_names_its_own_teacher(tiny_bench, tmp_path):
    # a per_run run's teacher_info once named the shared teacher (its key, scores and cost) whatever its seed
    import json

    from sedbench.benchmark import Benchmark
    from sedbench.runner import build_method, teachers_used
    from sedbench.teachers import teacher_dir

    per_run = Benchmark({**tiny_bench.config, "teacher_seeds": "per_run"}, results_root=tmp_path / "results",
                        cache_root=tmp_path / "cache", device="cpu", progress=False)
    for seed, psds1 in ((0, 0.1), (2, 0.3)):
        folder = teacher_dir(per_run, "cnn", seed)
        folder.mkdir(parents=True)
        (folder / "info.json").write_text(json.dumps({"key": folder.name, "validation": {"psds1": psds1}}))
    vanilla = build_method("vanilla", {"teacher": "cnn"})
    assert teachers_used(per_run, vanilla, 2)["cnn"]["psds1"] == 0.3
    assert teachers_used(per_run, vanilla, 0)["cnn"]["key"] == teacher_dir(per_run, "cnn").name


# ------------------------------------------------------------------------------------ deployed size
def test_deployed_total_counts_every_deployed_model():
    from sedbench.runner import deployed_total

    stats = {"median_ms": 2.0, "iqr_ms": 0.5, "cv": 0.1, "median_ci95_ms": [1.9, 2.1], "runs": 50,
             "cpu_median_ms": 1.9}
    per_model = {"params": 100, "macs": 1000, "macs_thop": 1000, "macs_disagreement": 0.02, "latency_ms": 2.0,
                 "model_size_bytes": 400, "latency": {"cpu_1_thread": {"model": stats, "with_features": stats}}}
    one = deployed_total(per_model, 1)
    assert one["params"] == 100 and one["params_per_model"] == 100 and one["n_models"] == 1
    three = deployed_total(per_model, 3)
    assert (three["params"], three["macs"], three["latency_ms"], three["model_size_bytes"]) == (300, 3000, 6.0, 1200)
    assert (three["params_per_model"], three["macs_per_model"], three["latency_ms_per_model"]) == (100, 1000, 2.0)
    assert three["macs_disagreement"] == 0.02 and three["n_models"] == 3
    model = three["latency"]["cpu_1_thread"]["model"]
    assert model["median_ms"] == 6.0 and model["cv"] == 0.1 and model["runs"] == 50
    assert model["cpu_median_ms"] == pytest.approx(5.7)  # three inferences' CPU time, like their wall time
    assert model["median_ci95_ms"] == pytest.approx([5.7, 6.3])
    assert per_model["params"] == 100  # the per-model figures are not modified in place
