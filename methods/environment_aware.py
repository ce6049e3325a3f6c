"""environment-aware: environment-specific specialised students (environment-aware KD; cf. the
"specialist" students of Hinton et al. 2015 and domain-specialised SED models for known acoustic
scenes).

Formula: for each environment e with event subset C_e, one student S_e is trained on e's clips
only, with supervision, consistency and KD all restricted to C_e (other classes masked out of every
loss) and its outputs for classes outside C_e set to zero at inference:
L_e = L_base|C_e + lambda_kd * KD(S_e, T)|C_e. Evaluation routes each clip to its environment's
student (the environment is known metadata of the clip). Every S_e has the benchmark's student
architecture; it gets the benchmark's schedule scaled by its share of the training clips, so each
specialist makes as many passes over its own data as the general student over all data, and the
K students together cost what one general student costs (our reading: the papers train each
specialist to convergence; equal compute keeps the comparison fair).
Reported size: everything deployed, i.e. the K students together (``params``, ``macs`` and latency
are totals; ``params_per_model`` and ``n_models`` stand beside them). Control: `environment-mask`,
the general student distilled from the same teacher, deployed behind the same oracle routing and
class mask; it separates specialisation (this method) from the side information of knowing each
clip's environment (the mask alone removes every cross-environment false positive).
Defaults (configs/methods/environment-aware.yaml): teacher crnn-large (the profile's default teacher
replaces it), lambda_kd 1, tau 2.
"""

from dataclasses import dataclass

import numpy as np

from sedbench.errors import ConfigError
from sedbench.methods import Method, Partition, StepContext, register_method
from sedbench.training.losses import kd_to_teacher


@dataclass
class EnvironmentAwareParams:
    teacher: str = "crnn-large"
    lambda_kd: float = 1.0
    tau: float = 2.0


@register_method("environment-aware")
class EnvironmentAware(Method):
    """One student per environment on its clips and event subset; clips routed by environment."""

    Params = EnvironmentAwareParams
    control = "environment-mask"  # the general student behind the same oracle routing and mask
    profile_teachers = {"teacher": "teacher"}

    def teachers(self) -> list[str]:
        return [self.params.teacher]

    def partitions(self, classes, environments, clip_environments) -> list[Partition]:
        if clip_environments is None:
            raise ConfigError(
                "environment-aware needs an environment for every training clip (metadata "
                "environments.tsv); this dataset has none"
            )
        parts = []
        known = np.isin(clip_environments, list(environments))
        for env, subset in environments.items():
            rows = np.flatnonzero(clip_environments == env)
            if len(rows) == 0:
                raise ConfigError(f"environment-aware: no training clips for environment {env!r}")
            parts.append(Partition(name=env, rows=rows, classes=tuple(subset), environment=env,
                                   share=len(rows) / max(1, int(known.sum()))))
        return parts

    def loss(self, ctx: StepContext) -> dict:
        p, teacher = self.params, ctx.teachers[self.params.teacher]
        kd = kd_to_teacher(ctx.student_out, teacher, p.tau, ctx.class_mask)
        return {"kd": p.lambda_kd * kd}
