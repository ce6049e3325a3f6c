"""Each method's specific mechanism, tested so that a renamed vanilla KD would fail."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sedbench.complexity.params import count_params as count
from sedbench.errors import ConfigError
from sedbench.methods import Method, NoParams, get_method, register_method
from sedbench.teachers import TeacherBatch
from sedbench.training.engine import DeployedModel, class_mask_for
from sedbench.training.losses import temporal_average_forward
from sedbench.training.mixup import Mix
from tests.methods.conftest import CLASSES, Harness, teacher_info


def eval_probs(h: Harness) -> tuple[torch.Tensor, torch.Tensor]:
    h.student.eval()
    with torch.no_grad():
        out = h.student(h.x)
    h.student.train()
    return torch.sigmoid(out.frame_logits / 2.0), torch.sigmoid(out.clip_logits / 2.0)


def kd_gap(h: Harness, teacher: str) -> float:
    frame, clip = eval_probs(h)
    tb = TeacherBatch(h.arrays[teacher], Mix.identity(len(h.x)))
    return float((frame - tb.frame_probs(2.0)).abs().mean() + (clip - tb.clip_probs(2.0)).abs().mean())


def test_vanilla_step_moves_student_toward_teacher():
    h = Harness("vanilla")
    before = kd_gap(h, "crnn-large")
    h.sgd_steps(8)
    assert kd_gap(h, "crnn-large") < before


def test_registered_methods_are_all_there():
    for name in ("scratch", "vanilla", "multi-teacher", "temporal-attention", "environment-aware", "takd",
                 "eefd", "dual"):
        assert get_method(name).name == name


# ------------------------------------------------------------------------------------------ takd
def test_takd_gradient_reaches_student_only_through_the_temporal_average():
    h = Harness("takd")
    a = 0.9
    ctx = h.ctx(ema_factor=a)
    ctx.student_out.frame_logits.retain_grad()
    loss = h.total(ctx)
    loss.backward()
    # the student's own forward output receives no teacher gradient ...
    assert ctx.student_out.frame_logits.grad is None
    grads = {n: p.grad.clone() for n, p in h.student.named_parameters() if p.grad is not None}
    assert grads and any(g.abs().sum() > 0 for g in grads.values())
    # ... and the gradient equals lambda * dKD/dtheta_bar: (1 - a) from the average times 1 / (1 - a)
    h.student.zero_grad()
    from sedbench.training.losses import kd_frame_and_clip

    torch.manual_seed(1)
    bar = {n: (a * m.detach() + (1 - a) * s.detach()).requires_grad_(True)
           for (n, s), m in zip(h.student.named_parameters(), h.mean.parameters(), strict=True)}
    torch.manual_seed(1)
    out = torch.func.functional_call(h.student, (bar, dict(h.mean.named_buffers())), (h.x,))
    t = ctx.teachers["crnn-large"]
    kd = kd_frame_and_clip(out, t.frame_probs(2.0), t.clip_probs(2.0), 2.0)
    kd.backward()
    torch.manual_seed(1)
    h.student.zero_grad()
    ctx = h.ctx(ema_factor=a)
    torch.manual_seed(1)
    h.total(ctx).backward()
    compared = 0
    for name, p in h.student.named_parameters():
        if bar[name].grad is not None and p.grad is not None:
            torch.testing.assert_close(p.grad, bar[name].grad, rtol=1e-3, atol=1e-6)
            compared += 1
    assert compared > 10


def test_takd_has_no_teacher_gradient_when_the_average_is_frozen():
    h = Harness("takd")
    assert h.method.loss(h.ctx(ema_factor=1.0)) == {}


def test_takd_forward_is_the_ema_step_of_the_weights():
    h = Harness("takd")
    with torch.no_grad():
        for p in h.mean.parameters():
            p.add_(0.1 * torch.randn_like(p))
    a = 0.7
    h.student.eval(), h.mean.eval()
    expected = make_averaged_copy(h, a)(h.x).frame_logits
    got = temporal_average_forward(h.student, h.mean, a, h.x).frame_logits
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert get_method("takd").deploy == "mean_student"


def make_averaged_copy(h: Harness, a: float):
    import copy

    model = copy.deepcopy(h.mean)
    with torch.no_grad():
        for pm, ps, pa in zip(h.mean.parameters(), h.student.parameters(), model.parameters(), strict=True):
            pa.copy_(a * pm + (1 - a) * ps)
    return model


# ---------------------------------------------------------------------------- temporal-attention
def test_temporal_attention_head_is_training_only_and_learns_the_teacher_distribution():
    h = Harness("temporal-attention")
    assert "attention_head" in h.modules and count(h.modules) > 0
    deployed = DeployedModel(h.student)
    assert count(deployed) == count(h.student)
    assert not any(n.startswith("attention_head") for n, _ in deployed.named_parameters())

    def kl() -> float:
        ctx = h.ctx()
        log_a = h.modules["attention_head"](ctx.student_out.features["context"].float())
        target = ctx.teachers["transformer"].temporal_weights()
        return float(F.kl_div(log_a, target, reduction="batchmean").detach())

    h.student.eval()  # no dropout noise: the comparison is about the loss, not the sampling
    before = kl()
    h.sgd_steps(30, lr=0.003, adam=True)
    assert kl() < 0.9 * before


# ------------------------------------------------------------------------------------------ eefd
def test_eefd_projection_is_training_only_and_pulls_features_to_the_embedding():
    h = Harness("eefd")
    proj = h.modules["projection"]
    assert proj.out_features == teacher_info("transformer").embedding_dim
    assert count(DeployedModel(h.student)) == count(h.student)

    def distance() -> float:
        ctx = h.ctx()
        projected = proj(ctx.student_out.features["cnn"])
        target = ctx.teachers["transformer"].embedding()
        return float((1 - F.cosine_similarity(projected, target, dim=-1)).mean().detach())

    h.student.eval()
    before = distance()
    h.sgd_steps(30, lr=0.01, adam=True)
    assert distance() < 0.9 * before


def test_dual_is_takd_plus_eefd():
    h = Harness("dual")
    assert get_method("dual").deploy == "mean_student"
    assert set(h.method.teachers()) == {"crnn-large", "transformer"}
    terms = h.method.loss(h.ctx(ema_factor=0.9))
    assert set(terms) == {"kd", "embedding"}
    assert h.method.loss(h.ctx(ema_factor=1.0)).keys() == {"embedding"}


# --------------------------------------------------------------------------------- multi-teacher
def test_multi_teacher_weights_follow_per_class_validation_scores():
    scores_a = {c: 0.1 for c in CLASSES} | {"c0": 0.9}
    scores_b = {c: 0.1 for c in CLASSES} | {"c1": 0.9}
    infos = {"crnn-large": teacher_info("crnn-large", scores_a), "transformer": teacher_info("transformer", scores_b)}
    h = Harness("multi-teacher", {"teachers": ["crnn-large", "transformer"]}, infos=infos)
    w = h.method.weights  # (K, C)
    assert w[0, 0] > 0.9 and w[1, 1] > 0.9
    torch.testing.assert_close(w.sum(0), torch.ones(len(CLASSES)))
    torch.testing.assert_close(w[:, 5], torch.tensor([0.5, 0.5]))
    frame, _ = h.method.combined(h.ctx())
    ta = torch.sigmoid(h.arrays["crnn-large"]["frame_logits"] / 2)
    tb = torch.sigmoid(h.arrays["transformer"]["frame_logits"] / 2)
    torch.testing.assert_close(frame[..., 0], w[0, 0] * ta[..., 0] + w[1, 0] * tb[..., 0])
    mean = Harness("multi-teacher", {"teachers": ["crnn-large", "transformer"], "combination": "mean"},
                   infos=infos)
    torch.testing.assert_close(mean.method.weights, torch.full((2, len(CLASSES)), 0.5))


def test_multi_teacher_needs_two_teachers():
    with pytest.raises(ConfigError, match="two teachers"):
        Harness("multi-teacher", {"teachers": ["crnn-large"]})


# ----------------------------------------------------------------------------- environment-aware
def test_environment_aware_partitions_are_disjoint_environments():
    method = get_method("environment-aware")()
    envs = {"kitchen": ("c0", "c1"), "bathroom": ("c2",)}
    clip_envs = np.array(["kitchen", "bathroom", "kitchen", "bathroom", "kitchen"], dtype=object)
    parts = method.partitions(CLASSES, envs, clip_envs)
    assert [p.environment for p in parts] == ["kitchen", "bathroom"]
    assert parts[0].rows.tolist() == [0, 2, 4] and parts[1].rows.tolist() == [1, 3]
    assert parts[1].classes == ("c2",)
    with pytest.raises(ConfigError, match="environment"):
        method.partitions(CLASSES, envs, None)


def test_environment_student_outputs_zero_outside_its_subset_and_ignores_other_classes_in_kd():
    h = Harness("environment-aware")
    mask = class_mask_for(CLASSES, ("c0", "c3"))
    deployed = DeployedModel(h.student, mask).eval()
    with torch.no_grad():
        out = deployed(h.x)
    probs = torch.sigmoid(out.clip_logits)
    assert torch.all(probs[:, ~mask] == 0) and torch.all(probs[:, mask] > 0)
    assert torch.all(torch.sigmoid(out.frame_logits)[..., ~mask] == 0)
    # KD restricted to the subset: changing the teacher on other classes changes nothing
    loss_a = h.total(h.ctx(class_mask=mask))
    h.arrays["crnn-large"]["frame_logits"][..., ~mask] += 5.0
    h.student.eval()
    h.mean.eval()
    loss_b = h.total(h.ctx(class_mask=mask))
    h.arrays["crnn-large"]["frame_logits"][..., ~mask] -= 5.0
    loss_c = h.total(h.ctx(class_mask=mask))
    torch.testing.assert_close(loss_b, loss_c)
    assert loss_a.requires_grad


# ------------------------------------------------------------------------------------- fairness
def test_a_method_may_not_declare_benchmark_settings():
    from dataclasses import dataclass

    @dataclass
    class Sneaky:
        steps: int = 10

    class Bad(Method):
        Params = Sneaky

    with pytest.raises(ConfigError, match="belong to the benchmark"):
        register_method("sneaky")(Bad)


def test_unknown_method_suggests_close_matches():
    from sedbench.errors import SedbenchError

    with pytest.raises(SedbenchError, match="did you mean vanilla"):
        get_method("vanila")


def test_no_params_method_builds():
    assert isinstance(get_method("scratch")().params, NoParams)
