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

import math

import numpy as np
import torch

from romflow.errors import ConfigError, DataError
from romflow.fom import channel
from romflow.fom import reaction_diffusion as rd
from romflow.fom.incompressible import gradient
from romflow.fom.incompressible import step as projection_step

__all__ = ["rollout", "CorrectionStep", "ReactionStep", "ReactionExplicitStep", "ChannelStep",
           "resolved_step", "RESOLVED_STEPS"]

RESOLVED_STEPS = ("crank_nicolson", "explicit_half")


class CorrectionStep:
    """Resolved step of the coarse–fine FitzHugh–Nagumo problem (section 4.1):
    u_{k+1} = I(f_coarse(R(u_k))) + y_k.

    Written as eq. (2), u_{k+1} = u_k + Δt L(u_k, y_k), the hybrid velocity is
    L(u, y) = a(u) + B y with a(u) = (I f_coarse R(u) - u) / Δt and B = I / Δt.
    The step is autonomous: ``where`` (trajectory and step of each sample) is
    accepted and not needed.
    """

    periodic = True

    def __init__(self, dt: float, gamma: float):
        self.dt, self.gamma = dt, gamma
        # y is an increment: y / Δt is the rate a closure learns (TR units: rate)
        self.increment_scale = float(dt)

    def __call__(self, u: torch.Tensor, y: torch.Tensor, where=None) -> torch.Tensor:
        return rd.coarse_step(u, self.dt, self.gamma) + y

    def drift(self, u: torch.Tensor, where=None) -> torch.Tensor:
        """a(u) in L(u, y) = a(u) + B y (a velocity)."""
        return (rd.coarse_step(u, self.dt, self.gamma) - u) / self.dt

    def coupling(self, y: torch.Tensor) -> torch.Tensor:
        """B y = y / Δt."""
        return y / self.dt

    coupling_adjoint = coupling  # B = I / Δt is symmetric

    def exact(self, u: torch.Tensor, where=None) -> torch.Tensor:
        """The exact unresolved part y(u) = f_fine(u) - I(f_coarse(R(u)))."""
        return rd.cn_step(u, self.dt, self.gamma) - rd.coarse_step(u, self.dt, self.gamma)


class ReactionStep:
    """Resolved step of the partially known FitzHugh–Nagumo model (section 2.3):
    Crank–Nicolson diffusion with the unknown reaction y explicit,
    u_{k+1} = (I - Δt/2 DΔ)⁻¹ [(I + Δt/2 DΔ) u_k + Δt y_k].

    As eq. (2), L(u, y) = a(u) + B y with a(u) = ((I - Δt/2 DΔ)⁻¹ (I + Δt/2 DΔ) u - u) / Δt
    and B = (I - Δt/2 DΔ)⁻¹, a symmetric operator (Bᵀ = B).  Autonomous, as above.
    """

    periodic = True
    increment_scale = 1.0  # y is the reaction, already a rate

    def __init__(self, dt: float, gamma: float):
        self.dt, self.gamma = dt, gamma

    def _solve(self, field: torch.Tensor) -> torch.Tensor:
        n = field.shape[-1]
        lam = (rd._diffusivities(self.gamma, field)
               * rd.laplacian_symbol(n).to(field.device, field.dtype))
        return torch.fft.irfft2(torch.fft.rfft2(field) / (1 - 0.5 * self.dt * lam),
                                s=field.shape[-2:])

    def __call__(self, u: torch.Tensor, y: torch.Tensor, where=None) -> torch.Tensor:
        return rd.cn_step(u, self.dt, self.gamma, source=None) + self.dt * self.coupling(y)

    def drift(self, u: torch.Tensor, where=None) -> torch.Tensor:
        """a(u) in L(u, y) = a(u) + B y (a velocity)."""
        return (rd.cn_step(u, self.dt, self.gamma, source=None) - u) / self.dt

    def coupling(self, y: torch.Tensor) -> torch.Tensor:
        """B y = (I - Δt/2 DΔ)⁻¹ y."""
        return self._solve(y)

    coupling_adjoint = coupling  # B is symmetric

    def exact(self, u: torch.Tensor, where=None) -> torch.Tensor:
        return rd.reaction(u)


class ReactionExplicitStep(ReactionStep):
    """The hybrid step of the code that made the hybrid paper's Table 1: the explicit
    half of Crank–Nicolson only, per direction, u_{k+1} = A₊ u_k + Δt y_k with
    A₊ = (I + Δt/2 DΔ_x)(I + Δt/2 DΔ_y) (the code's ``L_plus @ u @ L_plus``).
    It drops the implicit half (I − Δt/2 DΔ)⁻¹ of the step that made the data,
    so even the exact reaction does not replay the trajectory: a named option
    (``hybrid.resolved_step: explicit_half``) for checking the published numbers,
    never a default.  L(u, y) = a(u) + y with a(u) = (A₊ u − u) / Δt, B = I."""

    def _explicit(self, u: torch.Tensor) -> torch.Tensor:
        n = u.shape[-1]
        h = rd.LENGTH / n
        k = torch.arange(n, dtype=u.dtype, device=u.device)
        lx = -4.0 / h**2 * torch.sin(math.pi * k / n) ** 2
        ly = lx[: n // 2 + 1]
        d = rd._diffusivities(self.gamma, u)
        symbol = (1 + 0.5 * self.dt * d * lx[:, None]) * (1 + 0.5 * self.dt * d * ly[None, :])
        return torch.fft.irfft2(torch.fft.rfft2(u) * symbol, s=u.shape[-2:])

    def __call__(self, u: torch.Tensor, y: torch.Tensor, where=None) -> torch.Tensor:
        return self._explicit(u) + self.dt * y

    def drift(self, u: torch.Tensor, where=None) -> torch.Tensor:
        return (self._explicit(u) - u) / self.dt

    def coupling(self, y: torch.Tensor) -> torch.Tensor:
        return y

    coupling_adjoint = coupling


class ChannelStep:
    """Resolved step of the jet channel (section 4.2, appendix B.2): the forward-Euler
    projection of :func:`romflow.fom.incompressible.step` with the pressure p_k as
    the unresolved part, on the packed state s (:func:`romflow.fom.channel.pack`):

        s_{k+1} = pack(u*(s_k, t_k)) - Δt pack(∇p_k),

    u* the predictor with the boundary values at t_{k+1}.  As eq. (2):
    a(s) = (pack(u*) - s) / Δt and B p = -pack(∇p), linear in p (p's own boundary
    conditions, p = 0 at the outflow and dp/dn = 0 elsewhere, are homogeneous);
    Bᵀ n is its adjoint by autograd.  The step depends on the trajectory (its jet
    centre y0) and on time (the inflow's sin t), so every method that needs them
    takes ``where = (trajectory ids, step ids)``, one pair per sample; the pairs
    file's ``y0`` and ``time`` give them values.  p : ``(batch, 1, nx, ny)``.
    """

    periodic = False
    increment_scale = 1.0  # y is the pressure, no Δt in it

    def __init__(self, reynolds: float, nx: int, ny: int, dt: float, y0, time):
        self.reynolds, self.nx, self.ny, self.dt = float(reynolds), int(nx), int(ny), float(dt)
        self.y0, self.time = np.asarray(y0, float), np.asarray(time, float)
        self._flows = {}

    @classmethod
    def from_pairs(cls, pairs):
        a = pairs.attrs
        missing = ([k for k in ("reynolds", "nx", "ny", "dt") if k not in a]
                   + [k for k in ("y0", "time") if k not in pairs.variables])
        if missing:
            raise DataError(f"channel pairs lack {missing}; a channel pairs file "
                            f"(romflow.fom.channel.solve) has the attributes reynolds, nx, "
                            f"ny, dt and the coordinates y0 (per trajectory) and time "
                            f"(per step)")
        return cls(a["reynolds"], a["nx"], a["ny"], a["dt"], pairs["y0"].values,
                   pairs["time"].values)

    def _flow(self, where):
        """The channel of the batch's trajectories and the batch's times ``(B, 1)``."""
        if where is None:
            raise ValueError("the channel step depends on the trajectory and the time; "
                             "give where = (trajectory ids, step ids), one pair per sample")
        traj, steps = (np.asarray(w, dtype=np.int64).reshape(-1) for w in where)
        key = tuple(traj.tolist())
        if key not in self._flows:            # the pressure solver is cached on the flow
            self._flows = {key: channel.flow(self.reynolds, self.y0[traj], self.nx, self.ny)}
        return self._flows[key], self.time[steps][:, None]

    def _advance(self, s, where, pressure):
        fl, t = self._flow(where)
        u, v = channel.unpack(fl, s, t)
        un, vn, p = projection_step(fl, u, v, t, self.dt, pressure=pressure)
        return channel.pack(un[:, :, 1:-1], vn[:, 1:-1]), p

    def __call__(self, s: torch.Tensor, p: torch.Tensor, where=None) -> torch.Tensor:
        return self._advance(s, where, lambda *_: p[:, 0])[0]

    def drift(self, s: torch.Tensor, where=None) -> torch.Tensor:
        """a(s) = (pack(u*) - s) / Δt: the step with p = 0."""
        zero = lambda fl, u, v: u.new_zeros(u.shape[0], self.nx, self.ny)  # noqa: E731
        return (self._advance(s, where, zero)[0] - s) / self.dt

    def coupling(self, p: torch.Tensor) -> torch.Tensor:
        """B p = -pack(∇p) (∇ with p's boundary conditions; no y0 or time in it)."""
        fl = channel.flow(self.reynolds, self.y0[:1], self.nx, self.ny)
        gx, gy = gradient(fl, p[:, 0])
        return -channel.pack(gx, gy)

    def coupling_adjoint(self, n: torch.Tensor) -> torch.Tensor:
        """Bᵀ n, the adjoint of the linear map :meth:`coupling`."""
        zero = n.new_zeros(n.shape[0], 1, self.nx, self.ny)
        return torch.func.vjp(self.coupling, zero)[1](n)[0]

    def exact(self, s: torch.Tensor, where=None) -> torch.Tensor:
        """The exact pressure p = Δ⁻¹ (∇·u* / Δt) of the projection."""
        return self._advance(s, where, None)[1][:, None]


def resolved_step(problem: str, pairs, kind: str = "crank_nicolson"):
    """The resolved step of a hybrid problem, from its pairs file (a dataset, or for
    rd its attributes alone).

    A new problem adds a step class with ``dt``, ``periodic`` (the networks' padding),
    ``__call__(u, y, where)``, the velocity parts ``drift(u, where)`` = a(u),
    ``coupling(y)`` = B y and ``coupling_adjoint(n)`` = Bᵀ n of eq. (2),
    u_{k+1} = u_k + Δt (a(u_k) + B y_k), and ``exact(u, where)``, and a branch
    here; ``where`` = (trajectory ids, step ids) of the samples, for steps that
    depend on them; ``increment_scale`` is s in y = s · rate (Δt for an
    increment, 1 for a rate).  The rules do not change.  ``kind =
    "explicit_half"`` gives rd reaction pairs the Table 1 code's hybrid step
    (:class:`ReactionExplicitStep`).
    """
    attrs = getattr(pairs, "attrs", pairs)
    if kind not in RESOLVED_STEPS:
        raise ConfigError(f"resolved_step = {kind!r} is invalid; allowed: {list(RESOLVED_STEPS)}")
    if kind == "explicit_half" and not (problem == "rd"
                                        and attrs.get("unresolved") == "reaction"):
        raise ConfigError(f"resolved_step = 'explicit_half' needs rd pairs with unresolved = "
                          f"'reaction'; got {problem} with {attrs.get('unresolved')!r}; "
                          "allowed here: 'crank_nicolson'")
    if problem == "rd":
        unresolved = attrs.get("unresolved", "correction")
        cls = {"correction": CorrectionStep, "reaction": ReactionStep}.get(unresolved)
        if cls is None:
            raise ValueError(f"rd pairs: unresolved = {unresolved!r}; allowed: correction, "
                             "reaction")
        if kind == "explicit_half":
            cls = ReactionExplicitStep
        return cls(float(attrs["dt"]), float(attrs["gamma"]))
    if problem == "channel":
        if not hasattr(pairs, "attrs"):
            raise ValueError("the channel step needs the pairs dataset (its y0 and time), "
                             "not only its attributes")
        return ChannelStep.from_pairs(pairs)
    raise ValueError(f"no resolved step for problem {problem!r}; allowed: rd, channel")


def rollout(step, closure, reference: torch.Tensor, *, trajectory: int = 0, distance=None,
            cap: float = 1e3, chunk: int = 100, nudge: float = 0.0, progress=None):
    """Roll out from ``reference[0]`` for ``len(reference) - 1`` steps.

    ``reference : (steps + 1, ...)`` (one trajectory, number ``trajectory`` of its
    pairs file: the step is told it and the step number); ``closure(u) -> y`` acts
    on a batch of one.  Returns a dict with ``states``, ``rel_error``, ``shift`` (F
    along the rollout, if ``distance`` is given) and ``blowup_step`` (-1: none).
    ``distance`` maps a batch of states to one value each, independently per
    sample; it is evaluated once the rollout has ended, ``chunk`` states at a time
    (done one state per step, it was nearly half of a 64 x 64 rollout).
    ``abs_error`` is ||û_k - u_k||₂.  ``nudge`` > 0 moves every state that
    fraction of the way to the reference after each step (the channel rollouts
    of the published code, 0.1); 0 (default) is a free rollout.  ``progress(k,
    steps)``, if given, is called after every step (the rule logs every 200th).
    """
    steps = reference.shape[0] - 1
    u = reference[:1]
    states = [u[0]]
    err = torch.full((steps + 1,), float("inf"), dtype=torch.float64)
    abs_err = torch.full((steps + 1,), float("inf"), dtype=torch.float64)
    shift = torch.full((steps + 1,), float("nan"), dtype=torch.float64)
    blowup = -1
    for k in range(steps + 1):
        a = float((u[0] - reference[k]).norm())
        e = a / float(reference[k].norm())
        if not torch.isfinite(u).all() or not e <= cap:
            blowup = k
            break
        err[k], abs_err[k] = e, a
        if k == steps:
            break
        with torch.no_grad():
            u = step(u, closure(u), ([trajectory], [k]))
            if nudge:
                u = u + nudge * (reference[k + 1:k + 2] - u)
        states.append(u[0])
        if progress is not None:
            progress(k + 1, steps)
    states = torch.stack(states)
    if distance is not None:
        finite = blowup if blowup >= 0 else steps + 1
        with torch.no_grad():
            for start in range(0, finite, int(chunk)):
                stop = min(start + int(chunk), finite)
                shift[start:stop] = distance(states[start:stop]).to(shift.dtype)
    return {"states": states, "rel_error": err, "abs_error": abs_err, "shift": shift,
            "blowup_step": blowup}
