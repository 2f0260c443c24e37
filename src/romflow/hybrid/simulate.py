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

__all__ = ["rollout", "CorrectionStep", "ReactionStep", "resolved_step"]


class CorrectionStep:
    """Resolved step of the coarse–fine FitzHugh–Nagumo problem (section 4.1):
    u_{k+1} = I(f_coarse(R(u_k))) + y_k.

    Written as eq. (2), u_{k+1} = u_k + Δt L(u_k, y_k), the hybrid velocity is
    L(u, y) = a(u) + B y with a(u) = (I f_coarse R(u) - u) / Δt and B = I / Δt.
    """

    def __init__(self, dt: float, gamma: float):
        self.dt, self.gamma = dt, gamma

    def __call__(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return rd.coarse_step(u, self.dt, self.gamma) + y

    def drift(self, u: torch.Tensor) -> torch.Tensor:
        """a(u) in L(u, y) = a(u) + B y (a velocity)."""
        return (rd.coarse_step(u, self.dt, self.gamma) - u) / self.dt

    def coupling(self, y: torch.Tensor) -> torch.Tensor:
        """B y = y / Δt."""
        return y / self.dt

    coupling_adjoint = coupling  # B = I / Δt is symmetric

    def exact(self, u: torch.Tensor) -> torch.Tensor:
        """The exact unresolved part y(u) = f_fine(u) - I(f_coarse(R(u)))."""
        return rd.cn_step(u, self.dt, self.gamma) - rd.coarse_step(u, self.dt, self.gamma)


class ReactionStep:
    """Resolved step of the partially known FitzHugh–Nagumo model (section 2.3):
    Crank–Nicolson diffusion with the unknown reaction y explicit,
    u_{k+1} = (I - Δt/2 DΔ)⁻¹ [(I + Δt/2 DΔ) u_k + Δt y_k].

    As eq. (2), L(u, y) = a(u) + B y with a(u) = ((I - Δt/2 DΔ)⁻¹ (I + Δt/2 DΔ) u - u) / Δt
    and B = (I - Δt/2 DΔ)⁻¹, a symmetric operator (Bᵀ = B).
    """

    def __init__(self, dt: float, gamma: float):
        self.dt, self.gamma = dt, gamma

    def _solve(self, field: torch.Tensor) -> torch.Tensor:
        n = field.shape[-1]
        lam = (rd._diffusivities(self.gamma, field)
               * rd.laplacian_symbol(n).to(field.device, field.dtype))
        return torch.fft.irfft2(torch.fft.rfft2(field) / (1 - 0.5 * self.dt * lam),
                                s=field.shape[-2:])

    def __call__(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return rd.cn_step(u, self.dt, self.gamma, source=None) + self.dt * self.coupling(y)

    def drift(self, u: torch.Tensor) -> torch.Tensor:
        """a(u) in L(u, y) = a(u) + B y (a velocity)."""
        return (rd.cn_step(u, self.dt, self.gamma, source=None) - u) / self.dt

    def coupling(self, y: torch.Tensor) -> torch.Tensor:
        """B y = (I - Δt/2 DΔ)⁻¹ y."""
        return self._solve(y)

    coupling_adjoint = coupling  # B is symmetric

    def exact(self, u: torch.Tensor) -> torch.Tensor:
        return rd.reaction(u)


def resolved_step(problem: str, attrs: dict):
    """The resolved step of a hybrid problem, from its pairs file's attributes.

    A new problem (e.g. the channel's learned pressure solve) adds a step class
    with ``dt``, ``__call__(u, y)``, the velocity parts ``drift(u)`` = a(u),
    ``coupling(y)`` = B y and ``coupling_adjoint(n)`` = Bᵀ n of eq. (2),
    u_{k+1} = u_k + Δt (a(u_k) + B y_k), and ``exact(u)``, and a branch here;
    the rules do not change.
    """
    if problem == "rd":
        kind = attrs.get("unresolved", "correction")
        cls = {"correction": CorrectionStep, "reaction": ReactionStep}.get(kind)
        if cls is None:
            raise ValueError(f"rd pairs: unresolved = {kind!r}; allowed: correction, reaction")
        return cls(float(attrs["dt"]), float(attrs["gamma"]))
    raise ValueError(f"no resolved step for problem {problem!r}; allowed: rd")


def rollout(step, closure, reference: torch.Tensor, *, distance=None, cap: float = 1e3,
            chunk: int = 100):
    """Roll out from ``reference[0]`` for ``len(reference) - 1`` steps.

    ``reference : (steps + 1, ...)`` (one trajectory); ``closure(u) -> y`` acts on a
    batch of one.  Returns a dict with ``states``, ``rel_error``, ``shift`` (F along
    the rollout, if ``distance`` is given) and ``blowup_step`` (-1: none).
    ``distance`` maps a batch of states to one value each, independently per
    sample; it is evaluated once the rollout has ended, ``chunk`` states at a time
    (done one state per step, it was nearly half of a 64 x 64 rollout).
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
        if k == steps:
            break
        with torch.no_grad():
            u = step(u, closure(u))
        states.append(u[0])
    states = torch.stack(states)
    if distance is not None:
        finite = blowup if blowup >= 0 else steps + 1
        with torch.no_grad():
            for start in range(0, finite, int(chunk)):
                stop = min(start + int(chunk), finite)
                shift[start:stop] = distance(states[start:stop]).to(shift.dtype)
    return {"states": states, "rel_error": err, "shift": shift, "blowup_step": blowup}
