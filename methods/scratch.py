"""scratch: the reference. The DCASE 2023 mean-teacher recipe at student size, with no teacher.

Every other method adds to exactly this recipe (same data, schedule, student and seeds), so the
difference to `scratch` is the effect of the distillation alone.
"""

from sedbench.methods import Method, register_method


@register_method("scratch")
class Scratch(Method):
    """Reference: the base mean-teacher recipe alone, no teacher."""
