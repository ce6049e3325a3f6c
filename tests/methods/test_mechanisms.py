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


# (takd, temporal-attention and eefd are pinned in the impostor section below)


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


@pytest.mark.parametrize("name", ["../../escape", "a/b", ".hidden", ""])
def test_a_method_name_is_one_folder_name(name):
    """It names its runs' folders: `../../escape` wrote outside --results."""
    class Named(Method):
        pass

    with pytest.raises(ConfigError, match="a method's name is one folder name"):
        register_method(name)(Named)


def test_unknown_method_suggests_close_matches():
    from sedbench.errors import SedbenchError

    with pytest.raises(SedbenchError, match="did you mean vanilla"):
        get_method("vanila")


def test_no_params_method_builds():
    assert isinstance(get_method("scratch")().params, NoParams)


# =============================================================================================
# Mechanisms pinned to their formulas, each shown to catch an impostor that lacks the mechanism.
# Every check is a plain function that raises AssertionError when the mechanism is missing; each
# test runs it on the real method (it must pass) and on impostors written here (it must fail).
# The impostors are unregistered subclasses of the real plugins: same hyperparameters, same
# teachers, same deployed network, only the mechanism is gone.
# =============================================================================================
TAKD, EEFD = get_method("takd"), get_method("eefd")
MultiTeacher, TemporalAttention = get_method("multi-teacher"), get_method("temporal-attention")
Vanilla, EnvironmentAware = get_method("vanilla"), get_method("environment-aware")


def caught(check, method) -> bool:
    """True when ``check`` rejects ``method`` (raises AssertionError)."""
    try:
        check(method)
    except AssertionError:
        return True
    return False


def judge(check, method, genuine: bool) -> None:
    """The real method passes ``check`` (its own assertion shows when not); an impostor fails it."""
    if genuine:
        check(method)
    else:
        assert caught(check, method), f"the check let the impostor {method.__name__} pass"


def student_grads(loss: torch.Tensor, h: Harness) -> dict[str, torch.Tensor]:
    params = dict(h.student.named_parameters())
    grads = torch.autograd.grad(loss, list(params.values()), retain_graph=True, allow_unused=True)
    return {n: torch.zeros_like(p) if g is None else g for (n, p), g in zip(params.items(), grads, strict=True)}


def assert_same_grads(got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert any(g.abs().sum() > 0 for g in got.values()), "the student's parameters get no gradient from the term"
    for name, g in expected.items():
        torch.testing.assert_close(got[name], g, rtol=1e-3, atol=1e-7, msg=f"gradient of {name}")


# ------------------------------------------------------------------------------------------ takd
class FreshForwardTAKD(TAKD):
    """Impostor: plain KD on a fresh forward of the student, deploying the mean student."""

    def loss(self, ctx):
        from sedbench.training.losses import kd_to_teacher

        if ctx.ema_factor >= 1.0:
            return {}
        p = self.params
        out = ctx.student(ctx.features)
        return {"kd": p.lambda_kd * kd_to_teacher(out, ctx.teachers[p.teacher], p.tau, ctx.class_mask)}


def check_takd(method, mean_offset: float = 0.05) -> None:
    """The gradient of the term on theta_S is lambda * dKD/dtheta_bar at theta_bar = a theta_M + (1 - a)
    theta_S (the (1 - a) of the average times the 1 / (1 - a) weight), with a mean student that differs
    from the student; nothing reaches the student's own forward output; the mean student is deployed."""
    from sedbench.training.losses import kd_frame_and_clip

    h = Harness(method, mean_offset=mean_offset)
    h.student.eval(), h.mean.eval()  # no dropout: both forwards are deterministic
    a, p = 0.9, h.method.params
    assert type(h.method).deploy == "mean_student"
    ctx = h.ctx(ema_factor=a)
    ctx.student_out.frame_logits.retain_grad()
    loss = h.total(ctx)
    got = student_grads(loss, h)
    loss.backward()
    assert ctx.student_out.frame_logits.grad is None, "the teacher term reaches the student's own output"
    bar = {n: (a * m.detach() + (1 - a) * s.detach()).requires_grad_(True)
           for (n, s), m in zip(h.student.named_parameters(), h.mean.parameters(), strict=True)}
    out = torch.func.functional_call(h.student, (bar, dict(h.mean.named_buffers())), (h.x,))
    t = ctx.teachers[p.teacher]
    kd = kd_frame_and_clip(out, t.frame_probs(p.tau), t.clip_probs(p.tau), p.tau)
    grads = torch.autograd.grad(kd, list(bar.values()), allow_unused=True)
    expected = {n: p.lambda_kd * (torch.zeros_like(b) if g is None else g)
                for (n, b), g in zip(bar.items(), grads, strict=True)}
    assert_same_grads(got, expected)


@pytest.mark.parametrize("method, genuine", [("takd", True), (FreshForwardTAKD, False)],
                         ids=["takd", "impostor-fresh-student-forward"])
def test_takd_gradient_goes_through_the_temporal_average(method, genuine):
    judge(check_takd, method, genuine)


def test_takd_impostor_needs_a_mean_student_that_differs():
    """Why the check perturbs the mean student: with theta_M = theta_S the impostor is indistinguishable."""
    assert not caught(lambda m: check_takd(m, mean_offset=0.0), FreshForwardTAKD)


def test_takd_has_no_teacher_gradient_when_the_average_is_frozen():
    h = Harness("takd")
    assert h.method.loss(h.ctx(ema_factor=1.0)) == {}


def test_takd_forward_is_the_ema_step_of_the_weights():
    h = Harness("takd", mean_offset=0.1)
    a = 0.7
    h.student.eval(), h.mean.eval()
    expected = make_averaged_copy(h, a)(h.x).frame_logits
    got = temporal_average_forward(h.student, h.mean, a, h.x).frame_logits
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def make_averaged_copy(h: Harness, a: float):
    import copy

    model = copy.deepcopy(h.mean)
    with torch.no_grad():
        for pm, ps, pa in zip(h.mean.parameters(), h.student.parameters(), model.parameters(), strict=True):
            pa.copy_(a * pm + (1 - a) * ps)
    return model


class SharedBufferTAKD(TAKD):
    """Impostor (the bug this branch fixed): the functional forward runs on the mean student's own
    buffers in train mode, so batch norm updates the deployed network's statistics a second time."""

    def loss(self, ctx):
        from sedbench.training.losses import kd_to_teacher

        a, p = ctx.ema_factor, self.params
        params = {n: a * m.detach() + (1 - a) * s
                  for (n, s), m in zip(ctx.student.named_parameters(), ctx.mean_student.parameters(), strict=True)}
        out = torch.func.functional_call(ctx.student, (params, dict(ctx.mean_student.named_buffers())),
                                         (ctx.features,))
        return {"kd": p.lambda_kd / (1 - a) * kd_to_teacher(out, ctx.teachers[p.teacher], p.tau)}


def bn_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: b.clone() for n, b in model.named_buffers() if "running" in n or "num_batches" in n}


def check_one_bn_update_per_step(method) -> None:
    """A training step (the engine's mean-student forward, then the method's loss) updates the mean
    student's batch-norm buffers once: num_batches_tracked +1, running stats as the engine's pass left them."""
    h = Harness(method)
    h.student.train(), h.mean.train()
    before = bn_state(h.mean)
    assert before, "the student has batch norm"
    ctx = h.ctx(ema_factor=0.9)  # the engine's mean-student forward of the step
    after_engine = bn_state(h.mean)
    h.total(ctx).backward()
    after_step = bn_state(h.mean)
    for name, value in after_step.items():
        if name.endswith("num_batches_tracked"):
            assert int(value) == int(before[name]) + 1, f"{name}: {int(before[name])} -> {int(value)}"
        else:
            torch.testing.assert_close(value, after_engine[name], msg=f"{name} updated again by the method")


@pytest.mark.parametrize("method, genuine", [("takd", True), ("dual", True), (SharedBufferTAKD, False)],
                         ids=["takd", "dual", "impostor-shared-buffers"])
def test_takd_updates_the_mean_students_batch_norm_once_per_step(method, genuine):
    judge(check_one_bn_update_per_step, method, genuine)


def test_takd_in_the_engine_advances_num_batches_tracked_by_one_per_step(tiny_bench, tiny_teachers):
    """The whole engine loop: after step k the mean student's batch norms have seen exactly k batches."""
    from sedbench.methods import build_params, method_settings
    from sedbench.runner import train_and_select

    class Probe(TAKD):
        seen: list[tuple[int, set[int]]] = []

        def on_step_end(self, ctx):
            counts = {int(b) for n, b in ctx.mean_student.named_buffers() if n.endswith("num_batches_tracked")}
            self.seen.append((ctx.step, counts))

    probe = Probe(build_params(TAKD, method_settings(tiny_bench.config, "takd")))
    train_and_select(tiny_bench, probe, seed=0)
    assert probe.seen and all(counts == {step} for step, counts in probe.seen), probe.seen


# ------------------------------------------------------------------------------------------ eefd
class DetachedEEFD(EEFD):
    """Impostor: the student's features detached; only the projection learns to match the embeddings."""

    def loss(self, ctx):
        from sedbench.training.losses import cosine_distance

        p = self.params
        projected = ctx.modules["projection"](ctx.student_out.features[p.feature].float().detach())
        return {"embedding": p.lambda_emb * cosine_distance(projected, ctx.teachers[p.teacher].embedding())}


def check_eefd(method) -> None:
    """The term's gradient on the student's own parameters is that of lambda * mean_t (1 - cos(P f_t, e_t))
    through the student's features f, and a step along it brings P f closer to e with P fixed."""
    h = Harness(method)
    h.student.eval()
    p, proj = h.method.params, h.modules["projection"]
    ctx = h.ctx()
    term = h.method.loss(ctx)["embedding"]
    target = ctx.teachers[p.teacher].embedding()

    def formula(features: torch.Tensor) -> torch.Tensor:
        return p.lambda_emb * (1 - F.cosine_similarity(proj(features.float()), target, dim=-1)).mean()

    torch.testing.assert_close(term, formula(ctx.student_out.features[p.feature]))
    got = student_grads(term, h)
    assert_same_grads(got, student_grads(formula(ctx.student_out.features[p.feature]), h))
    with torch.no_grad():  # direction: descending the term moves the student's features toward e
        before = float(formula(h.student(h.x).features[p.feature]))
        for name, param in h.student.named_parameters():
            param.sub_(1e-2 * got[name] / max(float(torch.cat([g.flatten() for g in got.values()]).norm()), 1e-12))
        after = float(formula(h.student(h.x).features[p.feature]))
    assert after < before, f"the student's step did not lower the embedding distance ({before} -> {after})"


@pytest.mark.parametrize("method, genuine", [("eefd", True), (DetachedEEFD, False)],
                         ids=["eefd", "impostor-detached-features"])
def test_eefd_trains_the_students_features(method, genuine):
    judge(check_eefd, method, genuine)


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


# ---------------------------------------------------------------------------- temporal-attention
class DetachedTemporalAttention(TemporalAttention):
    """Impostor: the context detached; only the training-only head learns the teacher's distribution."""

    def loss(self, ctx):
        from sedbench.training.losses import distribution_kl

        p, teacher = self.params, ctx.teachers[self.params.teacher]
        log_a_s = ctx.modules["attention_head"](ctx.student_out.features["context"].float().detach())
        return {"attention": p.lambda_att * distribution_kl(teacher.temporal_weights(), log_a_s)}


def check_temporal_attention(method) -> None:
    """The term is lambda * KL(a_T || a_S) with a_S = softmax_t(w^T tanh(W h_t)) on the student's context,
    its gradient reaches the student's own parameters as that formula's does, and a step along it
    lowers the KL with the head fixed."""
    h = Harness(method)
    h.student.eval()
    p, head = h.method.params, h.modules["attention_head"]
    ctx = h.ctx()
    term = h.method.loss(ctx)["attention"]
    a_t = ctx.teachers[p.teacher].temporal_weights()

    def formula(context: torch.Tensor) -> torch.Tensor:
        log_a_s = torch.log_softmax(head.score(torch.tanh(head.proj(context.float()))).squeeze(-1), dim=-1)
        return p.lambda_att * (a_t * (a_t.clamp_min(1e-12).log() - log_a_s)).sum(-1).mean()

    torch.testing.assert_close(term, formula(ctx.student_out.features["context"]))
    got = student_grads(term, h)
    assert_same_grads(got, student_grads(formula(ctx.student_out.features["context"]), h))
    with torch.no_grad():
        before = float(formula(h.student(h.x).features["context"]))
        norm = max(float(torch.cat([g.flatten() for g in got.values()]).norm()), 1e-12)
        for name, param in h.student.named_parameters():
            param.sub_(1e-2 * got[name] / norm)
        after = float(formula(h.student(h.x).features["context"]))
    assert after < before, f"the student's step did not lower the attention KL ({before} -> {after})"


@pytest.mark.parametrize("method, genuine", [("temporal-attention", True), (DetachedTemporalAttention, False)],
                         ids=["temporal-attention", "impostor-detached-context"])
def test_temporal_attention_trains_the_students_context(method, genuine):
    judge(check_temporal_attention, method, genuine)


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


# --------------------------------------------------------------------------------- multi-teacher
class FirstTeacherOnly(MultiTeacher):
    """Impostor: distils from the first teacher only, ignoring the per-class weights."""

    def loss(self, ctx):
        from sedbench.training.losses import kd_to_teacher

        p = self.params
        return {"kd": p.lambda_kd * kd_to_teacher(ctx.student_out, ctx.teachers[p.teachers[0]], p.tau)}


SCORES_A = {c: 0.2 for c in CLASSES} | {"c0": 0.6, "c2": 0.3}
SCORES_B = {c: 0.2 for c in CLASSES} | {"c1": 0.5, "c2": 0.35}


def check_multi_teacher(method, combination: str = "per-class") -> None:
    """The loss is lambda * tau^2 * [BCE(z_S/tau, p) at frame + clip level] with the per-class weighted
    target p_c = sum_k softmax_k(s_kc / T_w) sigma(z_kc / tau), computed here from the formula."""
    infos = {"crnn-large": teacher_info("crnn-large", SCORES_A), "transformer": teacher_info("transformer", SCORES_B)}
    h = Harness(method, {"teachers": ["crnn-large", "transformer"], "combination": combination}, infos=infos)
    p = h.method.params
    scores = torch.tensor([[SCORES_A[c] for c in CLASSES], [SCORES_B[c] for c in CLASSES]])
    w = torch.softmax(scores / p.weight_temperature, 0) if combination == "per-class" else torch.full_like(scores, .5)
    if combination == "per-class":  # each teacher leads somewhere, and c2 mixes both
        assert float(w[0, 0]) > 0.9 and float(w[1, 1]) > 0.9 and 0.1 < float(w[0, 2]) < 0.9
    ctx = h.ctx()
    targets = {}
    for level in ("frame", "clip"):
        probs = [torch.sigmoid(h.arrays[t][f"{level}_logits"] / p.tau) for t in ("crnn-large", "transformer")]
        targets[level] = w[0] * probs[0] + w[1] * probs[1]
    expected = p.lambda_kd * p.tau**2 * (
        F.binary_cross_entropy_with_logits(ctx.student_out.frame_logits / p.tau, targets["frame"])
        + F.binary_cross_entropy_with_logits(ctx.student_out.clip_logits / p.tau, targets["clip"]))
    torch.testing.assert_close(h.method.loss(ctx)["kd"], expected)


@pytest.mark.parametrize("method, genuine", [("multi-teacher", True), (FirstTeacherOnly, False)],
                         ids=["multi-teacher", "impostor-first-teacher-only"])
def test_multi_teacher_distils_to_the_per_class_weighted_target(method, genuine):
    judge(check_multi_teacher, method, genuine)


# ----------------------------------------------------------------------------------------- vanilla
class NoTemperatureSquared(Vanilla):
    """Impostor: the tempered BCE without the tau^2 that keeps gradients comparable across tau."""

    def loss(self, ctx):
        return {"kd": super().loss(ctx)["kd"] / self.params.tau**2}


class FrameOnly(Vanilla):
    """Impostor: KD at frame level only (no clip-level term)."""

    def loss(self, ctx):
        from sedbench.training.losses import kd_bce

        p, t = self.params, ctx.teachers[self.params.teacher]
        return {"kd": p.lambda_kd * kd_bce(ctx.student_out.frame_logits, t.frame_probs(p.tau), p.tau)}


def check_vanilla(method) -> None:
    """KD(S, T) = tau^2 [BCE(z_S/tau, sigma(z_T/tau)) at frame level + the same at clip level], at tau 2, 4."""
    for tau in (2.0, 4.0):
        h = Harness(method, {"tau": tau, "lambda_kd": 0.5})
        ctx = h.ctx()
        t, out = h.arrays["crnn-large"], ctx.student_out
        expected = 0.5 * tau**2 * (
            F.binary_cross_entropy_with_logits(out.frame_logits / tau, torch.sigmoid(t["frame_logits"] / tau))
            + F.binary_cross_entropy_with_logits(out.clip_logits / tau, torch.sigmoid(t["clip_logits"] / tau)))
        torch.testing.assert_close(h.method.loss(ctx)["kd"], expected)


@pytest.mark.parametrize("method, genuine", [("vanilla", True), (NoTemperatureSquared, False), (FrameOnly, False)],
                         ids=["vanilla", "impostor-no-tau-squared", "impostor-frame-only"])
def test_vanilla_is_tau_squared_kd_at_frame_and_clip_level(method, genuine):
    judge(check_vanilla, method, genuine)


# ----------------------------------------------------------------------------- environment-aware
def test_environment_aware_shares_add_up_to_one():
    rng = np.random.default_rng(0)
    envs = {"kitchen": ("c0", "c1"), "bathroom": ("c2",), "living_room": ("c3", "c4")}
    clip_envs = rng.choice(list(envs), size=57).astype(object)
    parts = get_method("environment-aware")().partitions(CLASSES, envs, clip_envs)
    assert sum(p.share for p in parts) == pytest.approx(1.0)
    for part in parts:
        assert part.share == pytest.approx(len(part.rows) / 57)


class FullScheduleEach(EnvironmentAware):
    """Impostor: every environment student gets the whole schedule (K times the others' compute)."""

    def partitions(self, classes, environments, clip_environments):
        import dataclasses

        return [dataclasses.replace(p, share=1.0) for p in super().partitions(classes, environments, clip_environments)]


def test_shares_adding_up_to_more_than_one_are_refused(tiny_bench, tiny_teachers):
    from sedbench.errors import TrainingError
    from sedbench.runner import train_and_select

    with pytest.raises(TrainingError, match="add up to more than 1"):
        train_and_select(tiny_bench, FullScheduleEach(FullScheduleEach.Params(teacher="cnn")), seed=0)
