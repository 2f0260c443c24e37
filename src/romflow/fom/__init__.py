"""Full-order models, one module per equation family.

Physics only: nothing here imports learning code (``torch.nn``); a learned
closure enters a solver as a callable argument.
"""

from romflow.fom import toy

__all__ = ["toy"]
