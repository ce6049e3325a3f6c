"""multi-teacher: distillation from an ensemble of heterogeneous teachers with per-class weighting
(multi-model-based distillation; teacher ensembles for SED, e.g. the DCASE 2022-23 systems that
distil several CRNN/transformer teachers into one student).

Formula: p_c = sum_k w_{k,c} sigma(z_{k,c} / tau), with w_{k,c} = softmax_k(s_{k,c} / T_w) where
s_{k,c} is teacher k's validation PSDS1 on class c (per-class PSDS from the teacher zoo) and T_w
the weighting temperature; ``combination: mean`` gives w_{k,c} = 1/K. L = L_base + lambda_kd *
KD(S, p) at frame and clip level. The papers weight teachers by validation quality without one
fixed formula; the per-class softmax is our reading: it keeps every teacher's vote and lets a
teacher lead on the classes it is best at.
Defaults (configs/methods/multi-teacher.yaml): teachers crnn-large, transformer, cnn (the profile's
default teacher set, ``teacher_set:``, replaces them); per-class weights with T_w = 0.05; lambda_kd 1;
tau 2. Control: `vanilla-ensemble`, KD to the plain average of the same teachers, which separates the
per-class weighting from having several (and better) teachers.
"""

from dataclasses import dataclass, field

import torch
from torch import nn

from sedbench.errors import ConfigError
from sedbench.methods import Method, SetupContext, StepContext, register_method
from sedbench.training.losses import kd_frame_and_clip


@dataclass
class MultiTeacherParams:
    teachers: list[str] = field(default_factory=lambda: ["crnn-large", "transformer", "cnn"])
    combination: str = "per-class"  # or "mean"
    weight_temperature: float = 0.05
    lambda_kd: float = 1.0
    tau: float = 2.0


def teacher_weights(scores: torch.Tensor, combination: str, temperature: float) -> torch.Tensor:
    """(K, C) weights from (K, C) per-class validation scores; each class column sums to 1."""
    if combination == "mean":
        return torch.full_like(scores, 1.0 / scores.shape[0])
    if combination == "per-class":
        return torch.softmax(scores / temperature, dim=0)
    raise ConfigError(f"multi-teacher: combination must be 'per-class' or 'mean', not {combination!r}")


@register_method("multi-teacher")
class MultiTeacher(Method):
    """Several teachers combined per class by their validation scores; KD to the combination."""

    Params = MultiTeacherParams
    control = "vanilla-ensemble"  # the same teachers averaged with equal weights
    profile_teachers = {"teachers": "teacher_set"}

    def teachers(self) -> list[str]:
        if len(self.params.teachers) < 2:
            raise ConfigError("multi-teacher: needs at least two teachers in `teachers`")
        return list(self.params.teachers)

    def setup(self, ctx: SetupContext) -> nn.ModuleDict:
        scores = torch.tensor([
            # a class without validation events has no score (None): no teacher is preferred there
            [ctx.teachers[t].per_class_scores().get(c) or 0.0 for c in ctx.classes] for t in self.params.teachers
        ], dtype=torch.float32)
        self.weights = teacher_weights(scores, self.params.combination, self.params.weight_temperature)
        return nn.ModuleDict()

    def combined(self, ctx: StepContext) -> tuple[torch.Tensor, torch.Tensor]:
        tau, w = self.params.tau, self.weights.to(ctx.features.device)
        frame = sum(w[k] * ctx.teachers[t].frame_probs(tau) for k, t in enumerate(self.params.teachers))
        clip = sum(w[k] * ctx.teachers[t].clip_probs(tau) for k, t in enumerate(self.params.teachers))
        return frame, clip

    def loss(self, ctx: StepContext) -> dict:
        frame, clip = self.combined(ctx)
        kd = kd_frame_and_clip(ctx.student_out, frame, clip, self.params.tau, ctx.class_mask)
        return {"kd": self.params.lambda_kd * kd}
