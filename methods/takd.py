"""takd: temporal-averaging knowledge distillation, the first half of dual KD (the SE-CRNN dual
knowledge distillation for SED, ICASSP-era "dual KD": temporal-averaging KD + embedding-enhanced
feature distillation).

Formula: the teacher's knowledge reaches the student only through the mean student. The KD term is
computed on a forward pass of the mean student whose weights are the EMA step written as a function
of the student's weights, theta_bar = a * stopgrad(theta_M) + (1 - a) * theta_S
(torch.func.functional_call), so its gradient reaches S through the temporal average, scaled by
(1 - a). The term is therefore weighted lambda_kd / (1 - a) to stay comparable to the other losses:
L = L_base + lambda_kd / (1 - a) * KD(M(theta_bar), T). The deployed model is the mean student M.
With a = 1 (a frozen average) no teacher gradient reaches the student at all, which the tests check.
How it was read: the paper's equations are not public in our sources; this is the reading of
SPEC.md 5, documented here so it can be challenged.
The functional forward uses copies of the mean student's buffers, so its batch-norm statistics see
exactly one update per step (the engine's own mean-student forward), as without this term.
Control: `scratch-ema` (the recipe deploying the mean student, no teacher): part of any gain over
`scratch` is weight averaging alone.
Defaults (configs/methods/takd.yaml): teacher crnn-large (the profile's default teacher replaces it),
lambda_kd 1, tau 2.
"""

from dataclasses import dataclass

from sedbench.methods import Method, StepContext, register_method
from sedbench.training.losses import kd_to_teacher, temporal_average_forward


@dataclass
class TAKDParams:
    teacher: str = "crnn-large"
    lambda_kd: float = 1.0
    tau: float = 2.0


def takd_term(ctx: StepContext, teacher: str, lambda_kd: float, tau: float):
    """lambda / (1 - a) * KD(mean student at theta_bar, T); None when a == 1 (no path to S)."""
    a = ctx.ema_factor
    if a >= 1.0:
        return None
    averaged = temporal_average_forward(ctx.student, ctx.mean_student, a, ctx.features)
    kd = kd_to_teacher(averaged, ctx.teachers[teacher], tau, ctx.class_mask)
    return lambda_kd / (1.0 - a) * kd


@register_method("takd")
class TAKD(Method):
    """Teacher signal only through the mean student (functional EMA step); deploys the mean student."""

    Params = TAKDParams
    deploy = "mean_student"
    control = "scratch-ema"  # deploying the mean student without any teacher: averaging alone
    profile_teachers = {"teacher": "teacher"}
    relative_cost = 1.8  # a second student-size forward and backward, through the mean student (measured)

    def teachers(self) -> list[str]:
        return [self.params.teacher]

    def loss(self, ctx: StepContext) -> dict:
        term = takd_term(ctx, self.params.teacher, self.params.lambda_kd, self.params.tau)
        return {} if term is None else {"kd": term}
