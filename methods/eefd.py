"""eefd: embedding-enhanced feature distillation, the second half of dual KD (the SE-CRNN dual
knowledge distillation for SED; feature distillation in the spirit of FitNets, Romero et al. 2015,
towards a pretrained embedding teacher).

Formula: a training-only distillation layer P (a linear map over channels, i.e. a 1x1 projection)
maps the student's CNN features f_t to the embedding space of an embedding teacher (default: the
transformer teacher's frame embeddings e_t, cached and pooled to the student's frame rate):
L = L_base + lambda_emb * mean_t (1 - cos(P f_t, e_t)), or MSE(P f_t, e_t) with ``distance: mse``.
P is dropped after training: no inference cost, not counted in the deployed parameters.
Defaults (configs/methods/eefd.yaml): teacher transformer, lambda_emb 1, cosine, student feature cnn.
The teacher stays the transformer whatever the profile's default teacher is: the formula needs frame
embeddings, which only the transformer caches. Control: `scratch`; the formula adds one term to the
base recipe and nothing else (no logit KD, the projection is not deployed), so the recipe without
that term is what isolates it.
"""

from dataclasses import dataclass

import torch.nn.functional as F
from torch import nn

from sedbench.errors import ConfigError
from sedbench.methods import Method, SetupContext, StepContext, register_method
from sedbench.training.losses import cosine_distance


@dataclass
class EEFDParams:
    teacher: str = "transformer"
    lambda_emb: float = 1.0
    distance: str = "cosine"  # or "mse"
    feature: str = "cnn"  # the student feature that is projected


@register_method("eefd")
class EEFD(Method):
    """Training-only projection of the student's CNN features onto the teacher's frame embeddings."""

    Params = EEFDParams
    # L_base + the embedding term: without the term it is the base recipe. The formula has no logit
    # KD, so vanilla (logits of the profile's teacher) would not isolate the mechanism
    control = "scratch"

    def teachers(self) -> list[str]:
        return [self.params.teacher]

    def setup(self, ctx: SetupContext) -> nn.ModuleDict:
        p = self.params
        if p.distance not in ("cosine", "mse"):
            raise ConfigError(f"eefd: distance must be 'cosine' or 'mse', not {p.distance!r}")
        info = ctx.teachers[p.teacher]
        if info.embedding_dim is None:
            raise ConfigError(f"eefd: teacher {p.teacher} caches no frame embeddings; use the transformer")
        if p.feature not in ctx.example_output.features:
            raise ConfigError(f"eefd: the student has no feature {p.feature!r}; "
                              f"available: {sorted(ctx.example_output.features)}")
        dim = ctx.example_output.features[p.feature].shape[-1]
        return nn.ModuleDict({"projection": nn.Linear(dim, info.embedding_dim)})

    def loss(self, ctx: StepContext) -> dict:
        p = self.params
        projected = ctx.modules["projection"](ctx.student_out.features[p.feature].float())
        target = ctx.teachers[p.teacher].embedding()
        distance = cosine_distance(projected, target) if p.distance == "cosine" else F.mse_loss(projected, target)
        return {"embedding": p.lambda_emb * distance}
