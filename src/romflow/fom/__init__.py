"""Full-order models, one module per equation family.

Physics only: nothing here imports learning code (``torch.nn``, ``romflow.lasdi``);
a learned closure enters a solver as a callable argument.
"""

from romflow.fom import linear, reaction_diffusion, toy

__all__ = ["linear", "reaction_diffusion", "toy"]
