"""environment-mask (control): the general student (vanilla KD from the same teacher) deployed
behind environment-aware's oracle routing and class mask.

What it isolates: the side information of knowing each clip's environment. `environment-aware`
routes every evaluation clip to the student of its ground-truth environment, whose outputs are zero
outside that environment's classes. In desed-synth events only come from their environment's class
subset, so that mask alone removes every cross-environment false positive, whatever the students
learned. This control trains the general student exactly as `vanilla` does (all clips, all
classes, the profile's default teacher; with the same seed it is vanilla's network, checkpoint
selection included, since selection scores the unmasked student) and deploys it behind the same
oracle: clips of environment e get the student's outputs on C_e, zero elsewhere (``Method.routes``).
Since its training is vanilla's term for term (``trains_as``), the runner does not train that
network twice: it deploys vanilla's run of the same seed (trained first if missing) behind the mask,
so environment-mask minus vanilla is the mask alone, exactly, and the control costs an evaluation.
environment-aware minus environment-mask is the effect of specialised students; environment-mask
minus vanilla is the effect of the oracle mask.
Formula: L = L_base + lambda_kd * KD(S, T); at evaluation p(c | clip) = 0 for c outside C_env(clip).
Defaults (configs/methods/environment-mask.yaml): as vanilla (lambda_kd 1, tau 2; the profile's
default teacher).
"""

from dataclasses import dataclass

from sedbench.methods import Method, Partition, StepContext, get_method, register_method


@dataclass
class EnvironmentMaskParams:
    teacher: str = "crnn-large"
    lambda_kd: float = 1.0
    tau: float = 2.0


@register_method("environment-mask")
class EnvironmentMask(Method):
    """Control of environment-aware: the general (vanilla) student behind the same oracle environment mask."""

    Params = EnvironmentMaskParams
    is_control = True
    profile_teachers = {"teacher": "teacher"}
    trains_as = "vanilla"  # same loss, teacher and selection: vanilla's run lends its network

    def __init__(self, params: EnvironmentMaskParams | None = None) -> None:
        super().__init__(params)
        p = self.params
        vanilla = get_method("vanilla")  # one implementation of the KD term (the registered plugin)
        self.vanilla = vanilla(vanilla.Params(teacher=p.teacher, lambda_kd=p.lambda_kd, tau=p.tau))

    def teachers(self) -> list[str]:
        return self.vanilla.teachers()

    def loss(self, ctx: StepContext) -> dict:
        return self.vanilla.loss(ctx)

    def routes(self, partition: Partition, environments: dict[str, tuple[str, ...]]) -> list[Partition]:
        """Clips of environment e get the general student's outputs on C_e, zero elsewhere."""
        return [Partition(name=env, classes=tuple(subset), environment=env, share=partition.share)
                for env, subset in environments.items()]
