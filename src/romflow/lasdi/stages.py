"""Multi-stage composition, mLaSDI paper eqs. (17)-(19).

Stage k >= 2 learns the normalized residual of the composite of the earlier
stages: R_{k-1} = U - (U~_1 + eps_1 U~_2 + ... + eps_{k-2} U~_{k-1}),
eps_{k-1} = std(R_{k-1}), target R_{k-1} / eps_{k-1} (eq. 18).  The prediction
after n stages is U~_1 + eps_1 U~_2 + ... + eps_{n-1} U~_n (eq. 19).  Code
names: ``scales[k-1]`` is the factor in front of stage k's output (1 for
stage 1, eps_{k-1} for stage k >= 2).
"""

from __future__ import annotations

import torch

from romflow.lasdi.autoencoder import build

__all__ = ["compose", "residual", "load_stages"]


def compose(outputs, scales) -> torch.Tensor:
    """Cumulative predictions after each stage, eq. (19).

    Parameters
    ----------
    outputs : sequence of tensors, each ``(..., N_u)``
        Decoded stage outputs U~_1, ..., U~_n.
    scales : sequence of float
        ``scales[0] = 1`` and ``scales[k-1] = eps_{k-1}``.

    Returns
    -------
    torch.Tensor, ``(stage, ..., N_u)``
        Entry k-1 is the mLaSDI approximation using stages 1..k.
    """
    if len(outputs) != len(scales):
        raise ValueError(f"compose: {len(outputs)} stage outputs but {len(scales)} scales")
    total = torch.zeros_like(outputs[0])
    cumulative = []
    for out, scale in zip(outputs, scales):
        total = total + scale * out
        cumulative.append(total)
    return torch.stack(cumulative)


def residual(u: torch.Tensor, approximation: torch.Tensor):
    """R = U - approximation and eps = std(R) (eqs. 17-18); returns ``(R, eps)``."""
    r = u - approximation
    return r, float(r.std())


def load_stages(states, device="cpu"):
    """Modules and scales (eq. 19) from model-file contents, in stage order."""
    modules, scales = [], []
    for k, state in enumerate(states, start=1):
        if int(state["stage"]) != k:
            raise ValueError(f"model files out of order: expected stage {k}, got "
                             f"stage {state['stage']}")
        module = build(state["arch"], **state["kwargs"])
        module.load_state_dict(state["state_dict"])
        modules.append(module.to(device).eval())
        scales.append(float(state["scale"]))
    return modules, scales
