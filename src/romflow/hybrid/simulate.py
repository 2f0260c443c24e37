"""Hybrid rollouts: a known resolved step plus a learned (or exact) unresolved part.

    u_{k+1} = step(u_k, φ(u_k))

from a reference trajectory's first state for its full length, recording per
step the relative error against the reference, the distribution shift F(u_k)
(the manifold distance) and the step at which the rollout blows up
(non-finite, or relative error above ``cap``).  A blow-up is a result: the
rollout stops there, later entries are +inf (error) and NaN (shift) with
the step recorded, and nothing is averaged over it silently.
"""

from __future__ import annotations

import torch

from romflow.fom import reaction_diffusion as rd

__all__ = ["rollout", "CorrectionStep"]


class CorrectionStep:
    """Resolved step of the coarse–fine FitzHugh–Nagumo problem (section 4.1):
    u_{k+1} = I(f_coarse(R(u_k))) + y_k, so L(u, y) = (coarse(u) - u) + y (B = I)."""

    def __init__(self, dt: float, gamma: float):
        self.dt, self.gamma = dt, gamma

    def __call__(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return rd.coarse_step(u, self.dt, self.gamma) + y

    def drift(self, u: torch.Tensor) -> torch.Tensor:
        """a(u) in L(u, y) = a(u) + y."""
        return rd.coarse_step(u, self.dt, self.gamma) - u

    def exact(self, u: torch.Tensor) -> torch.Tensor:
        """The exact unresolved part y(u) = f_fine(u) - I(f_coarse(R(u)))."""
        return rd.cn_step(u, self.dt, self.gamma) - rd.coarse_step(u, self.dt, self.gamma)


def rollout(step, closure, reference: torch.Tensor, *, distance=None, cap: float = 1e3):
    """Roll out from ``reference[0]`` for ``len(reference) - 1`` steps.

    ``reference : (steps + 1, ...)`` (one trajectory); ``closure(u) -> y`` acts on a
    batch of one.  Returns a dict with ``states``, ``rel_error``, ``shift`` (F along
    the rollout, if ``distance`` is given) and ``blowup_step`` (-1: none).
    """
    steps = reference.shape[0] - 1
    u = reference[:1]
    states = [u[0]]
    err = torch.full((steps + 1,), float("inf"), dtype=torch.float64)
    shift = torch.full((steps + 1,), float("nan"), dtype=torch.float64)
    blowup = -1
    for k in range(steps + 1):
        e = float((u[0] - reference[k]).norm() / reference[k].norm())
        if not torch.isfinite(u).all() or not e <= cap:
            blowup = k
            break
        err[k] = e
        if distance is not None:
            shift[k] = float(distance(u)[0])
        if k == steps:
            break
        with torch.no_grad():
            u = step(u, closure(u))
        states.append(u[0])
    return {"states": torch.stack(states), "rel_error": err, "shift": shift,
            "blowup_step": blowup}
