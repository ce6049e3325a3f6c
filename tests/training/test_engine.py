"""The engine on the tiny profile: determinism, records, NaN handling, fairness checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from sedbench import results
from sedbench.errors import TrainingError
from sedbench.methods import Method, NoParams, register_method
from sedbench.runner import run_one, train_and_select


def test_same_seed_gives_identical_metrics(tiny_bench):
    a = train_and_select(tiny_bench, "scratch", seed=3)
    b = train_and_select(tiny_bench, "scratch", seed=3)
    assert a.validation["psds1"] == b.validation["psds1"]
    for pa, pb in zip(a.partitions[0].deployed.parameters(), b.partitions[0].deployed.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_run_one_writes_a_complete_record_and_skips_when_cached(tiny_bench):
    record = run_one(tiny_bench, "scratch", seed=0)
    assert record["status"] == "complete", record.get("error")
    out = Path(record["run_dir"])
    on_disk = json.loads((out / "run.json").read_text())
    assert on_disk["status"] == "complete"
    for key in ("psds1", "psds2", "event_f1", "intersection_f1", "weak_f1", "weak_map", "per_class_psds1"):
        assert key in on_disk["metrics"]
    assert 0.0 <= on_disk["metrics"]["psds1"] <= 1.0
    assert on_disk["complexity"]["params"] <= 370_806
    assert (out / "model.pt").is_file() and (out / "scores").is_dir()
    assert on_disk["environment"]["torch"] == torch.__version__
    again = run_one(tiny_bench, "scratch", seed=0)
    assert again.get("skipped") is True


@register_method("test-nan")
class NanMethod(Method):
    """A broken method whose loss is NaN (test only)."""

    Params = NoParams

    def loss(self, ctx):
        return {"broken": ctx.student_out.frame_logits.sum() * float("nan")}


@register_method("test-unreduced")
class UnreducedMethod(Method):
    """A loss term left per frame (test only): backward() said only 'scalar outputs'."""

    Params = NoParams

    def loss(self, ctx):
        return {"frames": ctx.student_out.frame_logits.sigmoid().mean(-1)}


def test_a_loss_term_that_is_not_a_scalar_is_named_with_its_method(tiny_bench):
    with pytest.raises(TrainingError) as info:
        train_and_select(tiny_bench, "test-unreduced", seed=0)
    message = str(info.value)
    assert message.startswith("method test-unreduced: loss term 'frames' is a shape (") and ".mean()" in message


def test_nan_loss_fails_the_run_with_a_clear_message(tiny_bench):
    with pytest.raises(TrainingError, match="not finite at step 1") as info:
        train_and_select(tiny_bench, "test-nan", seed=0)
    assert "check how the method computes test-nan/broken" in str(info.value)  # its own term, not the lr
    record = run_one(tiny_bench, "test-nan", seed=0)
    assert record["status"] == "failed" and "not finite" in record["error"]
    on_disk = results.read_record(record["run_dir"])
    assert on_disk["status"] == "failed"


@register_method("test-grows-student")
class GrowsStudent(Method):
    """Adds a layer to the student itself (test only): the engine must refuse it."""

    def setup(self, ctx):
        ctx.student.extra = nn.Linear(3, 3)
        return nn.ModuleDict()


def test_engine_refuses_a_method_that_changes_the_student(tiny_bench):
    with pytest.raises(TrainingError, match="changed the student's architecture"):
        train_and_select(tiny_bench, "test-grows-student", seed=0)


def test_student_over_budget_is_refused(tiny_root):
    from tests.conftest import make_tiny_bench

    bench = make_tiny_bench(tiny_root, name="tiny-budget", student="{model: crnn, max_params: 370806}")
    with pytest.raises(TrainingError, match="budget"):
        train_and_select(bench, "scratch", seed=0)


def test_interrupted_run_is_not_left_complete(tiny_bench, monkeypatch):
    import sedbench.runner as runner

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "train_and_select", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_one(tiny_bench, "vanilla", seed=5)
    record = results.read_record(runner.run_dir_for(tiny_bench, "vanilla", 5))
    assert record["status"] == "interrupted"


def test_an_environment_without_validation_clips_is_named_before_training():
    """environment-aware on data whose validation split lacks one environment failed at the first
    validation with numpy's "need at least one array to concatenate"."""
    from types import SimpleNamespace

    from sedbench.methods import Partition
    from sedbench.training.engine import _validation_rows

    validation = SimpleNamespace(split="validation", clip_ids=["a", "b"], environments={"a": "kitchen", "b": "kitchen"})
    assert list(_validation_rows(validation, Partition(name="kitchen", environment="kitchen"))) == [0, 1]
    with pytest.raises(TrainingError, match="no clips of environment 'bathroom'"):
        _validation_rows(validation, Partition(name="bathroom", environment="bathroom"))
