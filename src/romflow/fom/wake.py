"""Flow past a cylinder (mLaSDI paper, section 4.2), on our MAC projection solver.

Domain [0, 1] × [0, 2], cylinder of radius 0.05 at (0.5, 0.5), inflow u = (0, 1)
at y = 0, no slip on the cylinder (Brinkman penalization, implicit), and
outflow conditions (zero normal velocity gradient, p = 0) on the other three
sides — our stand-in for the paper's natural (do-nothing) conditions.  After
``spinup`` time units the velocity magnitude is recorded ``snapshots`` times over
``duration`` and sampled bilinearly on a uniform ``points`` grid of cell centres
(38 × 77 = 2,926 points by default; the paper's mesh had 2,934 nodes).

The paper used PyMFEM's Navier miniapp on a gmsh mesh; this solver is ours,
validated on textbook cases (tests/numerics/test_incompressible.py,
test_wake.py), and every output says so.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr

from romflow import io
from romflow.errors import ConfigError
from romflow.fom.incompressible import Flow, Grid, Side, apply_bc, centred, step_ssprk3

__all__ = ["EQUATION", "DIAMETER", "flow", "initial_state", "sample", "strouhal", "solve"]

VERIFIED_BY = ("tests/numerics/test_incompressible.py: Taylor-Green order 2, Ghia et al. "
               "(1982) cavity Re 100, Poiseuille; tests/numerics/test_wake.py: Strouhal at "
               "Re 100 / 200 vs Williamson (1996)")
EQUATION = ("u_t + (u.grad)u = -grad p + nu lap u, div u = 0; [0,1]x[0,2], cylinder "
            "r=0.05 at (0.5,0.5), inflow (0,1) at y=0, outflow elsewhere")
DIAMETER, CENTRE, SPEED = 0.1, (0.5, 0.5), 1.0


def flow(nu, nx: int = 100, ny: int = 200, eta: float = 1e-6, lx=1.0, ly=2.0,
         centre=CENTRE, radius=DIAMETER / 2) -> Flow:
    """The wake problem for viscosities ``nu`` (a batch) on an ``nx × ny`` grid."""
    g = Grid(nx, ny, lx, ly)
    sides = {"south": Side("inflow", (0.0, SPEED)), "west": Side("outflow"),
             "east": Side("outflow"), "north": Side("outflow")}

    def inside(x, y):
        return torch.as_tensor(((x - centre[0]) ** 2 + (y - centre[1]) ** 2
                                <= radius**2).astype(float), dtype=torch.float64)

    chi_u = inside(g.xf()[:, None], g.yc()[None, :])
    chi_v = inside(g.xc()[:, None], g.yf()[None, :])
    return Flow(g, nu, sides, solid=(chi_u, chi_v), eta=eta)


def initial_state(fl: Flow, seed: int = 0):
    """Uniform inflow velocity everywhere, zero in the body, a small seeded
    cross-stream perturbation to break the symmetry."""
    g, b = fl.grid, fl.nu.numel()
    u = torch.zeros(b, g.nx + 1, g.ny + 2, dtype=torch.float64)
    v = torch.full((b, g.nx + 2, g.ny + 1), SPEED, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    u[:, :, 1:-1] += 1e-3 * torch.randn(b, g.nx + 1, g.ny, generator=gen, dtype=torch.float64)
    u[:, :, 1:-1] *= 1 - fl.solid[0]
    v[:, 1:-1] *= 1 - fl.solid[1]
    apply_bc(fl, u, v, 0.0)
    return u, v


def _bilinear(n: int, h: float, pts: np.ndarray):
    """Indices and weights interpolating cell-centred values (spacing h) at ``pts``."""
    f = np.clip(pts / h - 0.5, 0, n - 1 - 1e-12)
    i0 = np.floor(f).astype(int)
    return torch.as_tensor(i0), torch.as_tensor(f - i0)


def sample(fl: Flow, u, v, points=(38, 77)):
    """Velocity magnitude, bilinear at the cell centres of a uniform ``points`` grid.

    Returns ``(mag : (B, P), px, py)`` with P = points[0] * points[1], x-major.
    """
    g = fl.grid
    uc, vc = centred(u, v)
    mag = torch.sqrt(uc**2 + vc**2)                                # (B, nx, ny)
    px = (np.arange(points[0]) + 0.5) / points[0] * g.lx
    py = (np.arange(points[1]) + 0.5) / points[1] * g.ly
    ix, wx = _bilinear(g.nx, g.dx, px)
    iy, wy = _bilinear(g.ny, g.dy, py)
    wx, wy = wx.to(mag)[:, None], wy.to(mag)[None, :]
    a = mag[:, ix][:, :, iy]
    b = mag[:, ix + 1][:, :, iy]
    c = mag[:, ix][:, :, iy + 1]
    d = mag[:, ix + 1][:, :, iy + 1]
    out = (1 - wx) * (1 - wy) * a + wx * (1 - wy) * b + (1 - wx) * wy * c + wx * wy * d
    return out.reshape(mag.shape[0], -1), px, py


def strouhal(signal: np.ndarray, dt: float, diameter=DIAMETER, speed=SPEED) -> float:
    """St = f D / U from the mean spacing of upward zero crossings of a probe signal."""
    s = np.asarray(signal) - np.mean(signal)
    up = np.flatnonzero((s[:-1] < 0) & (s[1:] >= 0))
    if up.size < 3:
        raise ValueError(f"signal has {up.size} upward crossings; no shedding detected")
    t = up + s[up] / (s[up] - s[up + 1])                            # sub-step interpolation
    period = np.mean(np.diff(t)) * dt
    return diameter / (period * speed)


def solve(nu_train, nu_test=(), *, nx=100, ny=200, spinup=10.0, duration=1.0, snapshots=101,
          points=(38, 77), cfl=0.4, seed=0, device="cpu", config=None,
          progress=None) -> xr.Dataset:
    """Wake flows for every viscosity; returns a 'fom' dataset with ``u : (param, time,
    point)`` = velocity magnitude on the sample points, coords ``nu`` and ``split``."""
    nus = np.concatenate([np.asarray(nu_train, float), np.asarray(nu_test, float)])
    if not (nus > 0).all():
        raise ConfigError(f"wake viscosities {nus.tolist()} are invalid; allowed: > 0")
    if not (spinup >= 0 and duration > 0 and int(snapshots) >= 2):
        raise ConfigError(f"wake spinup={spinup}, duration={duration}, snapshots={snapshots} "
                          "invalid; allowed: spinup >= 0, duration > 0, snapshots >= 2")
    fl = flow(nus, nx, ny)
    h = min(fl.grid.dx, fl.grid.dy)
    dt_max = min(cfl * h / (1.5 * SPEED), 0.2 * h * h / nus.max())
    record_every = max(1, math.ceil(duration / (snapshots - 1) / dt_max))
    dt = duration / (snapshots - 1) / record_every
    n_spin = math.ceil(spinup / dt)
    u, v = initial_state(fl, seed)
    u, v = u.to(device), v.to(device)
    t, frames = 0.0, []
    total = n_spin + (snapshots - 1) * record_every
    for k in range(total + 1):
        if k >= n_spin and (k - n_spin) % record_every == 0:
            frames.append(sample(fl, u, v, points)[0])
        if k == total:
            break
        u, v, _ = step_ssprk3(fl, u, v, t, dt)
        t += dt
        if progress is not None:
            progress(k + 1, total)
        if not torch.isfinite(u).all():
            raise FloatingPointError(f"wake solution not finite at step {k + 1}, t = {t:.3f}")
    mag = torch.stack(frames, 1).float().cpu().numpy()
    _, px, py = sample(fl, u, v, points)
    xx, yy = np.meshgrid(px, py, indexing="ij")
    split = ["train"] * len(nu_train) + ["test"] * len(nu_test)
    times = spinup + np.linspace(0.0, duration, int(snapshots))
    return xr.Dataset(
        {"u": io.variable((io.PARAM, io.TIME, "point"), mag, units="velocity (inflow = 1)",
                          long_name="velocity magnitude on the sample points")},
        coords={"nu": (io.PARAM, nus, {"units": "1", "long_name": "kinematic viscosity"}),
                io.SPLIT: (io.PARAM, split, {"long_name": "train or test"}),
                io.TIME: (io.TIME, times, {"units": "1", "long_name": "time"}),
                "x": ("point", xx.ravel(), {"units": "1", "long_name": "x of sample point"}),
                "y": ("point", yy.ravel(), {"units": "1", "long_name": "y of sample point"})},
        attrs=io.provenance("fom", "wake", equation=EQUATION,
                            solver="romflow.fom.incompressible (ours, not the paper's PyMFEM)",
                            scheme="MAC grid, SSP-RK3 with a projection per stage, "
                                   "Brinkman penalization of the cylinder",
                            config=config, parameters="nu", grid=f"{nx}x{ny}", dt=dt,
                            reynolds=[round(float(r), 4) for r in DIAMETER * SPEED / nus],
                            verified_by=VERIFIED_BY))

