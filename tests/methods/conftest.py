"""Small pieces to drive a method's loss outside the engine: a tiny student, fake teacher outputs."""

from __future__ import annotations

import torch

from sedbench.methods import Method, SetupContext, StepContext, build_method, build_params
from sedbench.models import build_model
from sedbench.teachers import TeacherBatch, TeacherInfo
from sedbench.training.ema import make_mean_student
from sedbench.training.mixup import Mix

N_MELS, T_IN, B, C = 64, 64, 4, 10
T_OUT = T_IN // 4
CLASSES = tuple(f"c{i}" for i in range(C))
EMB = 12


def teacher_arrays(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    weights = torch.rand(B, T_OUT, generator=g) ** 4
    return {
        "frame_logits": 3 * torch.randn(B, T_OUT, C, generator=g),
        "clip_logits": 3 * torch.randn(B, C, generator=g),
        "temporal_weights": weights / weights.sum(-1, keepdim=True),
        "embedding": torch.randn(B, T_OUT, EMB, generator=g),
    }


def teacher_info(name: str, per_class: dict[str, float] | None = None) -> TeacherInfo:
    return TeacherInfo(name=name, model=name, key="k", embedding_dim=EMB,
                       validation={"per_class_psds1": per_class or {c: 0.5 for c in CLASSES}},
                       outputs=("frame_logits", "clip_logits", "temporal_weights", "embedding"))


class Harness:
    """Builds the method's setup and step contexts around a tiny se-crnn student."""

    def __init__(self, method: str | type[Method], overrides: dict | None = None, infos: dict | None = None,
                 seed: int = 0, mean_offset: float = 0.0) -> None:
        """``method``: a registered name, or a Method class (an impostor defined in a test, unregistered,
        built with the hyperparameters of the registered method it derives from). ``mean_offset``: the
        mean student differs from the student by that much Gaussian noise per weight (0: a copy)."""
        torch.manual_seed(seed)
        if isinstance(method, str):
            self.method = build_method(method, overrides)
        else:
            self.method = method(build_params(method, overrides))
        self.student = build_model("se-crnn", n_mels=N_MELS, n_classes=C)
        self.mean = make_mean_student(self.student)
        if mean_offset:
            with torch.no_grad():
                for p in self.mean.parameters():
                    p.add_(mean_offset * torch.randn_like(p))
        self.x = torch.randn(B, N_MELS, T_IN)
        names = self.method.teachers()
        self.infos = infos or {n: teacher_info(n) for n in names}
        self.arrays = {n: teacher_arrays(i) for i, n in enumerate(names)}
        with torch.no_grad():
            example = self.student.eval()(self.x[:2])
        self.student.train()
        self.modules = self.method.setup(SetupContext(
            student=self.student, example_output=example, classes=CLASSES, teachers=self.infos,
            environments={}, clip_environments=None))

    def ctx(self, ema_factor: float = 0.9, class_mask: torch.Tensor | None = None) -> StepContext:
        out = self.student(self.x)
        with torch.no_grad():
            mean_out = self.mean(self.x)
        mix = Mix.identity(B)
        return StepContext(
            step=10, total_steps=100, batch={"index": torch.arange(B)}, features=self.x, student_out=out,
            mean_out=mean_out, teachers={n: TeacherBatch(a, mix) for n, a in self.arrays.items()},
            student=self.student, mean_student=self.mean, modules=self.modules, ema_factor=ema_factor,
            class_mask=class_mask)

    def total(self, ctx: StepContext) -> torch.Tensor:
        return sum(self.method.loss(ctx).values())

    def sgd_steps(self, n: int = 5, lr: float = 0.05, ema_factor: float = 0.9, adam: bool = False) -> None:
        params = list(self.student.parameters()) + list(self.modules.parameters())
        opt = torch.optim.Adam(params, lr=lr) if adam else torch.optim.SGD(params, lr=lr)
        for _ in range(n):
            opt.zero_grad()
            self.total(self.ctx(ema_factor)).backward()
            opt.step()
