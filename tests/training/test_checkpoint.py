"""A training stopped mid-way resumes from its last validation and ends bit-identical to one never
stopped; a resume that leaves out part of the state (the impostors below) does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sedbench import results
from sedbench.provenance import code_state
from sedbench.runner import (
    pending_work,
    resume_point,
    run_dir_for,
    run_one,
    teacher_resume_point,
    train_and_select,
    unfinished_pairs,
)
from sedbench.training import engine
from sedbench.training.checkpoint import CHECKPOINTS, FIELDS, Checkpoint, fits, saved_steps

STOP_AT = 4  # tiny validates at steps 3 and 6: a stop at step 4 resumes from step 3
CNN = {"width": 0.5, "context_layers": 1, "dropout": 0.2}  # tiny's cnn teacher: dropout draws from torch


@pytest.fixture
def stop_once(monkeypatch):
    """Arms a Ctrl-C at step STOP_AT of the next training (once), raised from the engine's per-step loss
    check."""
    real, armed = engine.check_finite, [False]

    def check(total, terms, step, every):
        if armed[0] and step == STOP_AT:
            armed[0] = False
            raise KeyboardInterrupt
        return real(total, terms, step, every)

    monkeypatch.setattr(engine, "check_finite", check)
    return lambda: armed.__setitem__(0, True)


def forgetting(monkeypatch, part: str) -> None:
    """The impostor: a resume that restores the networks but starts ``part`` afresh, as a resume that
    re-seeds its generators or rebuilds its optimiser would."""
    load = Checkpoint.load

    def load_forgetting(self):
        state = load(self)
        if state is not None:
            fresh = {"numpy_rng": lambda: np.random.default_rng(0).bit_generator.state,
                     "torch_rng": lambda: torch.Generator().manual_seed(0).get_state(),
                     "optimizer": lambda: {"state": {}, "param_groups": state["optimizer"]["param_groups"]}}
            state[part] = fresh[part]()
        return state

    monkeypatch.setattr(Checkpoint, "load", load_forgetting)


def stopped_then_resumed(bench, folder: Path, stop, **kwargs):
    stop()
    with pytest.raises(KeyboardInterrupt):
        train_and_select(bench, seed=2, checkpoints=(folder, "key"), **kwargs)
    assert saved_steps(folder, "key") == [3]
    return train_and_select(bench, seed=2, checkpoints=(folder, "key"), **kwargs)


def same_networks(a, b) -> bool:
    pairs = zip(a.partitions[0].deployed.state_dict().values(), b.partitions[0].deployed.state_dict().values(),
                strict=True)
    return all(torch.equal(x, y) for x, y in pairs)


# a student with a training-only module (temporal-attention's attention head; mixup draws from numpy),
# and a teacher whose dropout draws from torch's generator
CASES = {"student": {"method": "temporal-attention"},
         "teacher": {"method": "scratch", "model_name": "cnn", "model_kwargs": CNN}}


@pytest.mark.parametrize("case", CASES)
def test_a_stopped_training_resumes_bit_identical(case, tiny_bench, tiny_teachers, tmp_path, stop_once):
    whole = train_and_select(tiny_bench, seed=2, **CASES[case])
    resumed = stopped_then_resumed(tiny_bench, tmp_path, stop_once, **CASES[case])
    assert resumed.partitions[0].resumed_from == 3 and whole.partitions[0].resumed_from == 0
    assert same_networks(whole, resumed)
    assert resumed.validation == whole.validation
    assert resumed.partitions[0].history == whole.partitions[0].history
    assert resumed.partitions[0].best_step == whole.partitions[0].best_step


@pytest.mark.parametrize(("case", "part"), [("student", "numpy_rng"), ("student", "optimizer"),
                                            ("teacher", "torch_rng")])
def test_a_resume_that_forgets_part_of_the_state_is_not_identical(case, part, tiny_bench, tiny_teachers, tmp_path,
                                                                   stop_once, monkeypatch):
    whole = train_and_select(tiny_bench, seed=2, **CASES[case])
    forgetting(monkeypatch, part)
    assert not same_networks(whole, stopped_then_resumed(tiny_bench, tmp_path, stop_once, **CASES[case]))


def test_a_checkpoint_serves_only_its_own_training(tmp_path):
    state = {name: 0 for name in FIELDS} | {"step": 3, "student": {"weight": torch.zeros(2, 3)}}
    Checkpoint(tmp_path / "partition-0.pt", "run a:0:all").save(state)
    assert Checkpoint(tmp_path / "partition-0.pt", "run a:0:all").load()["step"] == 3
    assert Checkpoint(tmp_path / "partition-0.pt", "run a:0:all").load()["code"] == code_state()  # who wrote it
    assert Checkpoint(tmp_path / "partition-0.pt", "run b:0:all").load() is None
    (tmp_path / "partition-1.pt").write_bytes(b"truncated")
    (tmp_path / "partition-0 (copy).pt").write_bytes(b"a stray file")
    assert Checkpoint(tmp_path / "partition-1.pt", "run a:1:all").load() is None
    assert saved_steps(tmp_path, "run a") == [3, 0] and saved_steps(tmp_path, "run b") == [0, 0]
    assert saved_steps(tmp_path / "none", "run a") == []
    # another version's networks (other names or shapes) are not restored, even in part
    loaded = Checkpoint(tmp_path / "partition-0.pt", "run a:0:all").load()
    networks = {"student": torch.nn.Linear(3, 2, bias=False), "mean_student": torch.nn.Sequential(),
                "modules": torch.nn.ModuleDict()}
    assert fits({**loaded, "mean_student": {}, "modules": {}}, networks)
    assert not fits({**loaded, "mean_student": {}, "modules": {}}, {**networks, "student": torch.nn.Linear(4, 2)})
    assert not fits({k: v for k, v in loaded.items() if k != "numpy_rng"}, networks)
    # the optimizer too: the same networks under an Adam of other groups (a buffer that became a
    # parameter) would raise half way through the restore, after the networks were loaded
    student = networks["student"]
    adam = torch.optim.Adam(student.parameters())
    student(torch.ones(1, 3)).sum().backward()
    adam.step()
    same = {**loaded, "mean_student": {}, "modules": {}, "optimizer": adam.state_dict()}
    assert fits(same, networks, torch.optim.Adam(student.parameters()))
    two_groups = torch.optim.Adam([{"params": [student.weight]}, {"params": [torch.nn.Parameter(torch.zeros(2))]}])
    assert not fits(same, networks, two_groups)
    wider = torch.nn.Parameter(torch.zeros(2, 4))
    assert not fits(same, networks, torch.optim.Adam([wider]))


def test_a_disk_that_refuses_the_checkpoint_costs_the_resume_not_the_training(tiny_bench, tmp_path, monkeypatch):
    def full(self, state):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Checkpoint, "save", full)
    with pytest.warns(RuntimeWarning, match=r"not saved at step \d .No space left on device."):
        result = train_and_select(tiny_bench, "scratch", seed=2, checkpoints=(tmp_path, "key"))
    assert result.partitions[0].history and saved_steps(tmp_path, "key") == []


def test_a_training_resumed_by_other_code_says_which_commits_trained_it():
    from types import SimpleNamespace

    from sedbench.runner import resumed_notes

    def resumed(code):
        part = SimpleNamespace(resumed_from=250, resumed_code=code, partition=SimpleNamespace(name="all"))
        return resumed_notes(SimpleNamespace(partitions=[part]))

    assert "trained by" not in resumed(code_state())[0]  # the same code both times: nothing more to say
    other = resumed({"git_commit": "abcdef0123456789", "git_dirty": True})[0]
    assert "its first 250 steps were trained by commit abcdef0, with uncommitted changes, the rest by " in other
    assert "trained by an unknown commit" in resumed(None)[0]  # a checkpoint of a version that did not say


def test_an_interrupted_pair_resumes_and_says_so(tiny_bench, tiny_teachers, stop_once):
    stop_once()
    with pytest.raises(KeyboardInterrupt):
        run_one(tiny_bench, "scratch", seed=13)
    out = run_dir_for(tiny_bench, "scratch", 13)
    assert results.read_record(out)["status"] == "interrupted" and (out / CHECKPOINTS / "partition-0.pt").is_file()
    assert resume_point(tiny_bench, "scratch", 13) == "step 3"
    assert unfinished_pairs(tiny_bench, ["scratch"], [13]) == {"interrupted": ["scratch seed 13 (from step 3)"]}
    assert unfinished_pairs(tiny_bench, ["scratch"], [13], force=True) == {
        "interrupted": ["scratch seed 13 (from step 0)"]}
    assert pending_work(tiny_bench, ["scratch"], [13])[0] == [("scratch", 0.5)]  # the estimate counts what is left
    assert pending_work(tiny_bench, ["scratch"], [13], force=True)[0] == [("scratch", 1.0)]
    record = run_one(tiny_bench, "scratch", seed=13)
    assert record["status"] == "complete", record.get("error")
    assert any("resumed from step 3" in n for n in results.read_record(out)["notes"])
    assert "of a stopped process added" in record["timings"]["energy_source"]  # its energy is the whole training's
    assert not (out / CHECKPOINTS).exists()  # kept only while the pair is unfinished
    whole = train_and_select(tiny_bench, "scratch", seed=13)
    saved = torch.load(out / "model.pt", weights_only=True)["partitions"][0]["state_dict"]
    assert all(torch.equal(a, b) for a, b in zip(saved.values(), whole.partitions[0].deployed.net.state_dict().values(),
                                                 strict=True))


def test_a_stopped_teacher_resumes_and_is_cached(tiny_root, stop_once):
    from sedbench.teachers import teacher_checkpoints
    from sedbench.training.fit import train_teacher
    from tests.conftest import make_tiny_bench

    bench = make_tiny_bench(tiny_root, name="tiny-teacher-resume", **{"teacher_training.lr": 0.0011})  # its own key
    stop_once()
    with pytest.raises(KeyboardInterrupt):
        train_teacher(bench, "cnn")
    assert teacher_resume_point(bench, "cnn") == "step 3"
    cache = train_teacher(bench, "cnn")
    assert cache.info.validation["history"] and not teacher_checkpoints(bench, "cnn").exists()
    assert "of a stopped process added" in cache.info.energy_source
