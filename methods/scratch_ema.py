"""scratch-ema (control): the base recipe alone, deploying the mean student instead of the student.

What it isolates: weight averaging. `takd` and `dual` deploy the mean student M (an EMA of the
student's weights, SPEC.md 4), every other method deploys the student, and an average of weights is
often better than the last weights on its own, with no teacher involved. So part of any gain of
takd or dual over `scratch` may be averaging alone. This control trains exactly `scratch` (same data,
schedule, seeds and losses; no teacher, no extra term) and deploys M: takd or dual minus
scratch-ema is what the teacher signal adds to the average, and scratch-ema minus scratch is what
averaging alone is worth. Checkpoints are selected on validation for the deployed network (M),
as for takd.
Formula: L = L_base; deploy M. No hyperparameters.
"""

from sedbench.methods import Method, register_method


@register_method("scratch-ema")
class ScratchEMA(Method):
    """Control of takd and dual: scratch deploying the mean student (weight averaging alone)."""

    deploy = "mean_student"
    is_control = True
