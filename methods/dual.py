"""dual: dual knowledge distillation = takd + eefd (the SE-CRNN dual-KD recipe for SED: temporal-
averaging KD of the teacher's logits through the mean student, plus embedding-enhanced feature
distillation towards an embedding teacher).

Formula: L = L_base + lambda_kd / (1 - a) * KD(M(theta_bar), T) + lambda_emb * (1 - cos(P f, e)),
the two terms exactly as in the `takd` and `eefd` plugins, which this plugin composes through the
public registry (so there is one implementation of each). Deploys the mean student (takd); the
projection P is training-only (eefd). The paper's student is `se-crnn`, which is the default
student of every profile: all methods share it.
Defaults (configs/methods/dual.yaml): teacher crnn-large (logits; the profile's default teacher
replaces it), embedding_teacher transformer, lambda_kd 1, tau 2, lambda_emb 1, cosine.
Control: `scratch-ema`, as for takd (both deploy the mean student).
"""

from dataclasses import dataclass

from torch import nn

from sedbench.methods import Method, SetupContext, StepContext, get_method, register_method


@dataclass
class DualParams:
    teacher: str = "crnn-large"
    lambda_kd: float = 1.0
    tau: float = 2.0
    embedding_teacher: str = "transformer"
    lambda_emb: float = 1.0
    distance: str = "cosine"


@register_method("dual")
class Dual(Method):
    """takd + eefd: logits through the mean student and a training-only embedding projection."""

    Params = DualParams
    deploy = "mean_student"
    control = "scratch-ema"  # deploys the mean student like takd: averaging alone is the baseline
    profile_teachers = {"teacher": "teacher"}  # the logit teacher; the embedding teacher must be a transformer
    relative_cost = 1.9  # takd's second student-size pass plus the EEFD projection (measured)

    def __init__(self, params: DualParams | None = None) -> None:
        super().__init__(params)
        p = self.params
        takd, eefd = get_method("takd"), get_method("eefd")
        self.takd = takd(takd.Params(teacher=p.teacher, lambda_kd=p.lambda_kd, tau=p.tau))
        self.eefd = eefd(eefd.Params(teacher=p.embedding_teacher, lambda_emb=p.lambda_emb, distance=p.distance))

    def teachers(self) -> list[str]:
        return sorted({*self.takd.teachers(), *self.eefd.teachers()})

    def setup(self, ctx: SetupContext) -> nn.ModuleDict:
        return self.eefd.setup(ctx)

    def loss(self, ctx: StepContext) -> dict:
        return {**self.takd.loss(ctx), **self.eefd.loss(ctx)}
