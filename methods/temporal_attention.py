"""temporal-attention: temporal knowledge distillation from a transformer teacher's attention
(temporal KD for SED; cf. attention transfer, Zagoruyko & Komodakis 2017, and attention rollout,
Abnar & Zuidema 2020, for reading a temporal importance out of a transformer).

Formula: the teacher's attention rollout over its layers gives a temporal importance distribution
a_T over frames (cached by the teacher zoo, interpolated to the student's frame rate). A
training-only attention head on the student's context features h_t gives
a_S = softmax_t(w^T tanh(W h_t)). L = L_base + lambda_att * KL(a_T || a_S) (+ lambda_kd * KD(S, T),
off by default). The head exists only during training: it is not part of the deployed model and
costs nothing at inference. The student learns *when* the teacher looks, through its context
features, not just what the teacher predicts.
Defaults (configs/methods/temporal-attention.yaml): teacher transformer, lambda_att 1, head 64
units, lambda_kd 0, tau 2. The teacher stays the transformer whatever the profile's default teacher
is: the formula reads self-attention. Control: `scratch`, the recipe without the attention term (the
head is not deployed); with ``lambda_kd > 0`` the fair comparison becomes vanilla on the same teacher.
"""

from dataclasses import dataclass

import torch
from torch import nn

from sedbench.methods import Method, SetupContext, StepContext, register_method
from sedbench.training.losses import distribution_kl, kd_to_teacher


@dataclass
class TemporalAttentionParams:
    teacher: str = "transformer"
    lambda_att: float = 1.0
    head_dim: int = 64
    lambda_kd: float = 0.0
    tau: float = 2.0


class AttentionHead(nn.Module):
    """a_t = softmax_t(w^T tanh(W h_t)): additive attention pooling weights over frames."""

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.score(torch.tanh(self.proj(context))).squeeze(-1), dim=-1)


@register_method("temporal-attention")
class TemporalAttention(Method):
    """KL from the teacher's attention-rollout frame importance to a training-only student head."""

    Params = TemporalAttentionParams
    # L_base + the attention term (logit KD off by default): the recipe without the term is scratch
    control = "scratch"

    def teachers(self) -> list[str]:
        return [self.params.teacher]

    def setup(self, ctx: SetupContext) -> nn.ModuleDict:
        dim = ctx.example_output.features["context"].shape[-1]
        return nn.ModuleDict({"attention_head": AttentionHead(dim, self.params.head_dim)})

    def loss(self, ctx: StepContext) -> dict:
        p, teacher = self.params, ctx.teachers[self.params.teacher]
        log_a_s = ctx.modules["attention_head"](ctx.student_out.features["context"].float())
        terms = {"attention": p.lambda_att * distribution_kl(teacher.temporal_weights(), log_a_s)}
        if p.lambda_kd:
            terms["kd"] = p.lambda_kd * kd_to_teacher(ctx.student_out, teacher, p.tau, ctx.class_mask)
        return terms
