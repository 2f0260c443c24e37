"""FitzHugh–Nagumo reaction–diffusion on a periodic square, and coarse–fine pairs.

Hybrid-simulation paper, eq. (11) and section 4.1:

    u_t = D Δu + φ(u),   u = (u, v),   φ(u) = (u - u^3 - v + α, β (u - v)),
    D = diag(γ, 2γ),  α = 0.01,  β = 1,  periodic on [0, L]^2 (L = 6.4).

Space: the 5-point Laplacian on an N×N cell-centred grid, h = L / N, which a
2-D FFT diagonalizes exactly (symbol -4/h² (sin²(πk_x/N) + sin²(πk_y/N))).
Time: Crank–Nicolson for the diffusion with the reaction explicit,

    (I - dt/2 D Δ) u_{k+1} = (I + dt/2 D Δ) u_k + dt φ(u_k),

solved exactly in Fourier space.  The coarse–fine structure of section 2.2:
restriction R (2×2 mean) to the N/2 grid, one coarse step f_coarse, injection
I (each coarse value copied to its 2×2 block), and the unresolved correction

    y_k = u_{k+1}^fine - I(f_coarse(R(u_k^fine))).

Everything is batched over a leading trajectory axis: fields are
``(trajectory, 2, N, N)`` float64 torch tensors.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr

from romflow import io
from romflow.errors import ConfigError

__all__ = ["EQUATION", "ALPHA", "BETA", "LENGTH", "UNRESOLVED", "laplacian_symbol", "reaction",
           "cn_step", "restrict", "inject", "coarse_step", "simulate", "correction_pairs",
           "solve"]

VERIFIED_BY = ("tests/numerics/test_reaction_diffusion.py: Crank-Nicolson order 2 in time, "
               "order 2 in space vs exact Fourier decay, uniform fixed point, correction "
               "identity to round-off")
EQUATION = ("u_t = D lap(u) + phi(u), phi = (u - u^3 - v + alpha, beta (u - v)), "
            "D = diag(gamma, 2 gamma), periodic [0, 6.4]^2")
ALPHA, BETA, LENGTH = 0.01, 1.0, 6.4


def _check(n: int, dt: float, steps: int | None = None, gamma: float | None = None):
    if int(n) < 4 or int(n) % 2:
        raise ConfigError(f"reaction-diffusion grid n = {n} is invalid; allowed: an even "
                          "integer >= 4 (the coarse grid is n/2)")
    if not dt > 0:
        raise ConfigError(f"reaction-diffusion dt = {dt} is invalid; allowed: a number > 0")
    if steps is not None and int(steps) < 1:
        raise ConfigError(f"reaction-diffusion steps = {steps} is invalid; allowed: >= 1")
    if gamma is not None and not gamma > 0:
        raise ConfigError(f"reaction-diffusion gamma = {gamma} is invalid; allowed: > 0")


def laplacian_symbol(n: int, length: float = LENGTH, dtype=torch.float64) -> torch.Tensor:
    """Eigenvalues of the periodic 5-point Laplacian on the rfft2 grid: ``(n, n//2+1)``."""
    h = length / n
    kx = torch.arange(n, dtype=dtype)
    ky = torch.arange(n // 2 + 1, dtype=dtype)
    sx = torch.sin(math.pi * kx / n) ** 2
    sy = torch.sin(math.pi * ky / n) ** 2
    return -4.0 / h**2 * (sx[:, None] + sy[None, :])


def reaction(u: torch.Tensor, alpha: float = ALPHA, beta: float = BETA) -> torch.Tensor:
    """φ(u) = (u - u³ - v + α, β(u - v)) for ``u : (..., 2, N, N)``."""
    a, b = u[..., 0, :, :], u[..., 1, :, :]
    return torch.stack([a - a**3 - b + alpha, beta * (a - b)], dim=-3)


def _diffusivities(gamma: float, u: torch.Tensor) -> torch.Tensor:
    return torch.tensor([gamma, 2 * gamma], dtype=u.dtype, device=u.device)[:, None, None]


def cn_step(u: torch.Tensor, dt: float, gamma: float, *, length: float = LENGTH,
            source=reaction) -> torch.Tensor:
    """One Crank–Nicolson step (diffusion) with explicit ``source(u)``.

    ``source=None`` gives pure diffusion.  ``u : (..., 2, N, N)``.
    """
    n = u.shape[-1]
    lam = _diffusivities(gamma, u) * laplacian_symbol(n, length).to(u.device)
    rhs = torch.fft.rfft2(u) * (1 + 0.5 * dt * lam)
    if source is not None:
        rhs = rhs + dt * torch.fft.rfft2(source(u))
    return torch.fft.irfft2(rhs / (1 - 0.5 * dt * lam), s=u.shape[-2:])


def restrict(u: torch.Tensor) -> torch.Tensor:
    """R: mean over each 2×2 block, ``(..., N, N) -> (..., N/2, N/2)``."""
    *lead, n, m = u.shape
    return u.reshape(*lead, n // 2, 2, m // 2, 2).mean(dim=(-3, -1))


def inject(u: torch.Tensor) -> torch.Tensor:
    """I: copy each coarse value to its 2×2 block, ``(..., N, N) -> (..., 2N, 2N)``."""
    return u.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


def coarse_step(u_fine: torch.Tensor, dt: float, gamma: float, **kw) -> torch.Tensor:
    """The resolved part of the hybrid step: I(f_coarse(R(u))), section 2.2."""
    return inject(cn_step(restrict(u_fine), dt, gamma, **kw))


def simulate(u0: torch.Tensor, steps: int, dt: float, gamma: float, *, progress=None,
             **kw) -> torch.Tensor:
    """Fine trajectory ``(..., steps + 1, 2, N, N)`` from ``u0 : (..., 2, N, N)``."""
    out = [u0]
    u = u0
    for k in range(steps):
        u = cn_step(u, dt, gamma, **kw)
        out.append(u)
        if progress is not None:
            progress(k + 1)
    traj = torch.stack(out, dim=-4)
    if not torch.isfinite(traj).all():
        raise FloatingPointError("reaction-diffusion trajectory is not finite; reduce dt")
    return traj


def correction_pairs(traj: torch.Tensor, dt: float, gamma: float, **kw) -> torch.Tensor:
    """y_k = u_{k+1} - I(f_coarse(R(u_k))) for every step of ``traj : (..., K+1, 2, N, N)``.

    Returns ``(..., K, 2, N, N)``.
    """
    return traj[..., 1:, :, :, :] - coarse_step(traj[..., :-1, :, :, :], dt, gamma, **kw)


UNRESOLVED = ("correction", "reaction")


def solve(gamma: float, n: int, *, trajectories: int = 10, steps: int = 1000,
          warmup: int = 200, dt: float = 0.01, seed: int = 0, unresolved="correction",
          config=None, progress=None, keep_every: int = 1) -> xr.Dataset:
    """Fine FitzHugh–Nagumo trajectories and their unresolved parts.

    Initial states are i.i.d. N(0, 1) per grid value and component; the first
    ``warmup`` steps are dropped.  ``unresolved`` selects what a hybrid model
    learns: ``"correction"`` (section 4.1, default), the coarse–fine correction
    y_k, NaN at the last step (no next state, declared in its attributes); or
    ``"reaction"`` (section 2.3, the authors' code), y_k = φ(u_k) with the
    diffusion step resolved.  Returns a 'pairs' dataset with ``u`` and
    ``unresolved``, both ``(trajectory, step, component, y, x)``.  ``keep_every``
    > 1 keeps every n-th of the ``steps`` steps (the Table 1 code keeps every 2nd):
    only with ``unresolved = "reaction"`` (a correction is tied to one step); the
    file's ``dt`` is then the spacing of the kept states, ``fom_dt`` the solver's.
    """
    _check(n, dt, steps, gamma)
    if unresolved not in UNRESOLVED:
        raise ConfigError(f"reaction-diffusion unresolved = {unresolved!r} is invalid; "
                          f"allowed: one of {list(UNRESOLVED)}")
    if int(trajectories) < 1 or int(warmup) < 0:
        raise ConfigError(f"trajectories = {trajectories}, warmup = {warmup} invalid; "
                          "allowed: trajectories >= 1, warmup >= 0")
    keep_every = int(keep_every)
    if keep_every < 1 or (keep_every > 1 and unresolved != "reaction") \
            or int(steps) % keep_every:
        raise ConfigError(f"reaction-diffusion keep_every = {keep_every} is invalid with "
                          f"unresolved = {unresolved!r} and steps = {steps}; allowed: 1, or "
                          "a divisor of steps with unresolved = 'reaction'")
    gen = torch.Generator().manual_seed(int(seed))
    u0 = torch.randn(int(trajectories), 2, n, n, generator=gen, dtype=torch.float64)
    for _ in range(int(warmup)):
        u0 = cn_step(u0, dt, gamma)
    traj = simulate(u0, int(steps), dt, gamma, progress=progress)
    fom_dt = dt
    if keep_every > 1:
        traj, steps, dt = traj[:, ::keep_every], int(steps) // keep_every, dt * keep_every
    if unresolved == "correction":
        y = correction_pairs(traj, dt, gamma)
        y = torch.cat([y, torch.full_like(y[:, :1], float("nan"))], 1)
        y_name = "coarse-fine correction y_k = u_{k+1} - I(f_coarse(R(u_k)))"
        y_extra = {"nonfinite_means": "NaN at the last step: no next state"}
        scheme = "coarse grid n/2, R = 2x2 mean, I = injection"
    else:
        y = reaction(traj)
        y_name, y_extra, scheme = "reaction term phi(u_k)", {}, "resolved: diffusion only"
    h = LENGTH / n
    centres = (np.arange(n) + 0.5) * h
    dims = (io.TRAJECTORY, io.STEP, "component", "y", "x")
    steps_axis = np.arange(int(steps) + 1)
    return xr.Dataset(
        {"u": io.variable(dims, traj.float().numpy(), units="1",
                          long_name="fine-grid state (u, v) after warm-up"),
         "unresolved": io.variable(dims, y.float().numpy(), units="1", long_name=y_name,
                                   **y_extra)},
        coords={io.TRAJECTORY: np.arange(int(trajectories)), io.STEP: steps_axis,
                "time": (io.STEP, steps_axis * dt, {"units": "1", "long_name": "time"}),
                "component": ["u", "v"],
                "x": ("x", centres, {"units": "1", "long_name": "x (cell centre)"}),
                "y": ("y", centres, {"units": "1", "long_name": "y (cell centre)"})},
        attrs=io.provenance("pairs", "rd", equation=EQUATION,
                            solver="romflow.fom.reaction_diffusion",
                            scheme="Crank-Nicolson diffusion (FFT-diagonalized 5-point "
                                   f"Laplacian), explicit reaction; {scheme}",
                            config=config, gamma=gamma, grid=n, dt=dt, warmup=warmup,
                            seed=seed, unresolved=unresolved, fom_dt=fom_dt,
                            keep_every=keep_every, verified_by=VERIFIED_BY))
