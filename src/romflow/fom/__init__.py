"""Full-order models, one module per equation family.

Physics only: nothing here imports learning code (``torch.nn``, ``romflow.lasdi``);
a learned closure enters a solver as a callable argument (``pressure=``).
"""

from romflow.fom import channel, incompressible, linear, reaction_diffusion, toy, wake

__all__ = ["channel", "incompressible", "linear", "reaction_diffusion", "toy", "wake"]
