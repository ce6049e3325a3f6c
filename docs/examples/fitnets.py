"""fitnets: hint-based feature distillation (Romero et al. 2015, "FitNets: Hints for thin deep nets").

Formula: L = L_base + lambda_hint * MSE(R(h_t), e_t), where h_t are the student's context features,
R is a training-only linear regressor and e_t the transformer teacher's cached frame embeddings.
"""

from dataclasses import dataclass

import torch.nn.functional as F
from torch import nn

from sedbench.errors import ConfigError
from sedbench.methods import Method, SetupContext, StepContext, register_method


@dataclass
class FitNetsParams:
    teacher: str = "transformer"
    lambda_hint: float = 0.5


@register_method("fitnets")
class FitNets(Method):
    """FitNets hint loss: regress the teacher's frame embeddings from the student's context."""

    Params = FitNetsParams
    control = "scratch"  # the same recipe without the hint term: `sedbench table --against control`

    def teachers(self) -> list[str]:
        return [self.params.teacher]

    def setup(self, ctx: SetupContext) -> nn.ModuleDict:
        student_dim = ctx.example_output.features["context"].shape[-1]
        teacher_dim = ctx.teachers[self.params.teacher].embedding_dim
        if teacher_dim is None:  # only the transformer teacher caches frame embeddings
            raise ConfigError(f"fitnets: teacher {self.params.teacher} has no frame embeddings; use the transformer")
        return nn.ModuleDict({"regressor": nn.Linear(student_dim, teacher_dim)})

    def loss(self, ctx: StepContext) -> dict:
        hint = ctx.modules["regressor"](ctx.student_out.features["context"])
        target = ctx.teachers[self.params.teacher].embedding()
        return {"hint": self.params.lambda_hint * F.mse_loss(hint, target)}
