"""vanilla: logit distillation (Hinton, Vinyals & Dean 2015, "Distilling the knowledge in a neural
network", arXiv:1503.02531), adapted to multi-label SED.

Formula: L = L_base + lambda_kd * KD(S, T), with KD(S, T) = tau^2 * BCE(sigma(z_S / tau),
sigma(z_T / tau)) at frame level and at clip level, on every clip of the batch (strong, weak and
unlabeled). Sigmoid instead of softmax because SED classes are not exclusive (each class is a
binary problem). Defaults (configs/methods/vanilla.yaml): teacher crnn-large, lambda_kd 1, tau 2;
the profile's default teacher (``teacher:``) replaces crnn-large unless the profile's ``methods``
section overrides it. Control: `scratch` (the recipe without the KD term).
"""

from dataclasses import dataclass

from sedbench.methods import Method, StepContext, register_method
from sedbench.training.losses import kd_to_teacher


@dataclass
class VanillaParams:
    teacher: str = "crnn-large"  # a profile teacher, or "a+b" for an ensemble averaging logits
    lambda_kd: float = 1.0
    tau: float = 2.0


@register_method("vanilla")
class Vanilla(Method):
    """Hinton KD: tau-softened BCE to the teacher's frame and clip probabilities."""

    Params = VanillaParams
    control = "scratch"  # the same recipe without the KD term
    profile_teachers = {"teacher": "teacher"}  # the profile's default teacher, like every logit method

    def teachers(self) -> list[str]:
        return [self.params.teacher]

    def loss(self, ctx: StepContext) -> dict:
        p, teacher = self.params, ctx.teachers[self.params.teacher]
        kd = kd_to_teacher(ctx.student_out, teacher, p.tau, ctx.class_mask)
        return {"kd": p.lambda_kd * kd}
