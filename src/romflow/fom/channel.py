"""Jet in a channel (hybrid-simulation paper, section 4.2 and appendix B.2).

    u_t + (u·∇)u = -∇p + ν Δu,  ∇·u = 0  on [0, 4] × [0, 1],  ν = 1 / Re,

no slip at y = 0 and y = 1; inflow at x = 0,
u = exp(-50 (y - y0)²), v = sin t · exp(-50 (y - y0)²); outflow at x = 4 with
p = 0 and zero normal velocity gradient; fluid at rest at t = 0.  The resolved
step is the forward-Euler projection of :func:`romflow.fom.incompressible.step`
and the unresolved part is the pressure p_k, so a hybrid rollout replays the
step with a learned pressure (``step(..., pressure=model)``).  Trajectories
(one y0 each, y0 ~ U[0.3, 0.7]) are batched.

The hybrid state is the MAC velocity packed cell by cell (:func:`pack`): each
cell carries the u on its east face and the v on its north face, a
``(2, nx, ny)`` image beside the pressure's ``(nx, ny)``.  The faces it leaves
out (the inflow face x = 0 and the wall face y = 0) hold boundary values, so
:func:`unpack` rebuilds the full staggered fields, ghosts included, from the
state and the time: the packing loses nothing.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from romflow import io
from romflow.errors import ConfigError
from romflow.fom.incompressible import Flow, Grid, Side, apply_bc, step

__all__ = ["EQUATION", "COMPONENTS", "flow", "jet", "pack", "unpack", "simulate", "solve"]

VERIFIED_BY = ("tests/numerics/test_incompressible.py: Taylor-Green order 2, Ghia et al. "
               "(1982) cavity Re 100, Poiseuille; tests/numerics/test_channel.py: exact replay "
               "with the stored pressure, inflow = outflow flux")
EQUATION = ("u_t + (u.grad)u = -grad p + lap(u)/Re, div u = 0 on [0,4]x[0,1]; walls at "
            "y=0,1; inflow u = exp(-50(y-y0)^2), v = sin t exp(-50(y-y0)^2); outflow p = 0")


#: The two state components of a cell: u on its east face, v on its north face.
COMPONENTS = ("u_east", "v_north")


def pack(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Staggered faces ``u : (B, nx+1, ny)``, ``v : (B, nx, ny+1)`` (no ghosts) ->
    the state ``(B, 2, nx, ny)``: u on the east face and v on the north face of
    every cell (the inflow face x = 0 and the wall face y = 0 are left out)."""
    return torch.stack([u[:, 1:], v[:, :, 1:]], 1)


def unpack(fl: Flow, state: torch.Tensor, t):
    """The full staggered fields ``u : (B, nx+1, ny+2)``, ``v : (B, nx+2, ny+1)`` of a
    packed ``state : (B, 2, nx, ny)`` at time ``t`` (a number, or ``(B, 1)`` per
    batch entry): the left-out faces from the boundary conditions at ``t``, the
    ghosts from the faces, as the projection step leaves them."""
    g, b = fl.grid, state.shape[0]
    if tuple(state.shape[1:]) != (2, g.nx, g.ny):
        raise ValueError(f"channel state has shape {tuple(state.shape)}; allowed: "
                         f"(batch, 2, {g.nx}, {g.ny})")
    u = state.new_zeros(b, g.nx + 1, g.ny + 2)
    v = state.new_zeros(b, g.nx + 2, g.ny + 1)
    apply_bc(fl, u, v, t)                      # inflow and wall faces at time t
    u[:, 1:, 1:-1] = state[:, 0]
    v[:, 1:-1, 1:] = state[:, 1]
    apply_bc(fl, u, v, t, normal=False)        # ghosts from the faces
    return u, v


def jet(y0):
    """Inflow profile of trajectories with jet centres ``y0 : (B,)``; the time may be
    a number or ``(B, 1)``, one per trajectory."""
    y0 = np.asarray(y0, float)[:, None]

    def velocity(y, t):
        shape = np.exp(-50.0 * (y[None, :] - y0) ** 2)
        return shape, np.sin(t) * shape

    return velocity


def flow(reynolds: float, y0, nx: int = 128, ny: int = 32) -> Flow:
    """The channel for a batch of jet centres ``y0`` at one Reynolds number."""
    if not reynolds > 0:
        raise ConfigError(f"channel Reynolds number {reynolds} is invalid; allowed: > 0")
    y0 = np.atleast_1d(np.asarray(y0, float))
    sides = {"west": Side("inflow", jet(y0)), "east": Side("outflow"),
             "south": Side("wall"), "north": Side("wall")}
    return Flow(Grid(nx, ny, 4.0, 1.0), torch.full((y0.size,), 1.0 / reynolds), sides)


def simulate(fl: Flow, steps: int, dt: float, *, warmup: int = 0, progress=None):
    """States from rest: staggered ``u, v`` (interior faces) and ``p`` for steps
    warmup..warmup+steps: ``(B, steps+1, nx+1, ny)``, ``(B, steps+1, nx, ny+1)``,
    ``(B, steps+1, nx, ny)``; ``p[k]`` is the pressure of the step k -> k+1 (the
    last one is computed for the final state too)."""
    g, b = fl.grid, fl.nu.numel()
    u = torch.zeros(b, g.nx + 1, g.ny + 2, dtype=torch.float64)
    v = torch.zeros(b, g.nx + 2, g.ny + 1, dtype=torch.float64)
    apply_bc(fl, u, v, 0.0)
    us, vs, ps = [], [], []
    t = 0.0
    for k in range(warmup + steps + 1):
        un, vn, p = step(fl, u, v, t, dt)
        if k >= warmup:
            us.append(u[:, :, 1:-1].clone())
            vs.append(v[:, 1:-1].clone())
            ps.append(p)
        u, v, t = un, vn, t + dt
        if progress is not None:
            progress(k + 1)
    if not torch.isfinite(u).all():
        raise FloatingPointError("channel solution is not finite; reduce dt")
    return torch.stack(us, 1), torch.stack(vs, 1), torch.stack(ps, 1)


def solve(reynolds: float, nx: int, ny: int, *, trajectories: int = 10, steps: int = 1000,
          warmup: int = 100, dt: float = 1e-3, seed: int = 0, config=None,
          progress=None) -> xr.Dataset:
    """Channel trajectories for one (grid, Re) case: a 'pairs' dataset.

    ``u : (trajectory, step, component, xc, yc)`` is the packed MAC velocity
    (:func:`pack`; component ``u_east``, ``v_north``), ``unresolved : (trajectory,
    step, xc, yc)`` the pressure p_k of step k -> k+1; ``y0`` per trajectory, the
    ``time`` of every step ((warmup + k) dt) and the attributes (Re, dt, grid,
    warm-up) are all a rollout needs to replay the resolved step.
    """
    if int(trajectories) < 1 or int(steps) < 1 or int(warmup) < 0 or not dt > 0:
        raise ConfigError(f"channel trajectories={trajectories}, steps={steps}, "
                          f"warmup={warmup}, dt={dt} invalid; allowed: >= 1, >= 1, >= 0, > 0")
    if not reynolds > 0:
        raise ConfigError(f"channel Reynolds number {reynolds} is invalid; allowed: > 0")
    if dt > 2.0 / reynolds:
        raise ConfigError(f"channel dt = {dt} exceeds forward Euler's stability bound "
                          f"2 nu / |u|^2 = {2.0 / reynolds:.3g} for Re = {reynolds}")
    y0 = np.random.default_rng([int(seed), int(reynolds)]).uniform(0.3, 0.7, int(trajectories))
    fl = flow(reynolds, y0, nx, ny)
    u, v, p = simulate(fl, int(steps), dt, warmup=int(warmup), progress=progress)
    g = fl.grid
    tr, st = io.TRAJECTORY, io.STEP
    coords = {tr: np.arange(int(trajectories)), st: np.arange(int(steps) + 1),
              "time": (st, (int(warmup) + np.arange(int(steps) + 1)) * dt,
                       {"units": "1", "long_name": "time"}),
              "xc": ("xc", g.xc(), {"units": "1", "long_name": "x of cell centres"}),
              "yc": ("yc", g.yc(), {"units": "1", "long_name": "y of cell centres"}),
              "component": ("component", list(COMPONENTS),
                            {"long_name": "u on the east face, v on the north face of a cell"}),
              "y0": (tr, y0, {"units": "1", "long_name": "jet centre y0"})}
    state = pack(u.flatten(0, 1), v.flatten(0, 1)).unflatten(0, u.shape[:2])
    return xr.Dataset(
        {"u": io.variable((tr, st, "component", "xc", "yc"), state.float().numpy(), units="1",
                          long_name="MAC velocity packed per cell (u east face, v north face)"),
         "unresolved": io.variable((tr, st, "xc", "yc"), p.float().numpy(), units="1",
                                   long_name="pressure p_k of the projection step k -> k+1")},
        coords=coords,
        attrs=io.provenance("pairs", "channel", equation=EQUATION,
                            solver="romflow.fom.incompressible",
                            scheme="MAC grid, forward-Euler projection (exact pressure)",
                            config=config, reynolds=float(reynolds), nx=int(nx), ny=int(ny),
                            dt=dt, warmup=int(warmup), seed=int(seed), unresolved="pressure",
                            verified_by=VERIFIED_BY))
