"""vanilla-ensemble (control): logit KD to the plain average of the teacher set multi-teacher uses.

What it isolates: multi-teacher's per-class weighting. `multi-teacher` distils from several
teachers combined per class by their validation scores; compared with single-teacher `vanilla` its
gain mixes three things: more than one teacher, better teachers, and the weighting. This control
distils from the same teachers (the profile's ``teacher_set``) combined with equal weights,
p_c = 1/K sum_k sigma(z_{k,c} / tau), which is multi-teacher's own ``combination: mean`` run through
the registered multi-teacher plugin (one implementation of the KD term). multi-teacher minus
vanilla-ensemble is the effect of weighting teachers per class, nothing else.
Formula: L = L_base + lambda_kd * KD(S, mean_k sigma(z_k / tau)) at frame and clip level.
Defaults (configs/methods/vanilla-ensemble.yaml): the profile's teacher set (crnn-large, transformer,
cnn without one), lambda_kd 1, tau 2, as multi-teacher.
"""

from dataclasses import dataclass, field

from torch import nn

from sedbench.methods import Method, SetupContext, StepContext, get_method, register_method


@dataclass
class VanillaEnsembleParams:
    teachers: list[str] = field(default_factory=lambda: ["crnn-large", "transformer", "cnn"])
    lambda_kd: float = 1.0
    tau: float = 2.0


@register_method("vanilla-ensemble")
class VanillaEnsemble(Method):
    """Control of multi-teacher: KD to the plain (equal-weight) average of the same teachers."""

    Params = VanillaEnsembleParams
    is_control = True
    profile_teachers = {"teachers": "teacher_set"}

    def __init__(self, params: VanillaEnsembleParams | None = None) -> None:
        super().__init__(params)
        p = self.params
        multi = get_method("multi-teacher")
        self.multi = multi(multi.Params(teachers=list(p.teachers), combination="mean", lambda_kd=p.lambda_kd,
                                        tau=p.tau))

    def teachers(self) -> list[str]:
        return self.multi.teachers()

    def setup(self, ctx: SetupContext) -> nn.ModuleDict:
        return self.multi.setup(ctx)

    def loss(self, ctx: StepContext) -> dict:
        return self.multi.loss(ctx)
