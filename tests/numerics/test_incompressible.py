"""Verification of romflow.fom.incompressible (MAC grid, projection) against references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from romflow.errors import ConfigError
from romflow.fom.incompressible import (Flow, Grid, Side, apply_bc, cfl_dt, divergence,
                                        exact_pressure, step)

# Ghia, Ghia & Shin (1982), J. Comput. Phys. 48, 387-411, Tables I and II, Re = 100.
GHIA_Y = [1.0, 0.9766, 0.9688, 0.9609, 0.9531, 0.8516, 0.7344, 0.6172, 0.5, 0.4531, 0.2813,
          0.1719, 0.1016, 0.0703, 0.0625, 0.0547, 0.0]
GHIA_U = [1.0, 0.84123, 0.78871, 0.73722, 0.68717, 0.23151, 0.00332, -0.13641, -0.20581,
          -0.2109, -0.15662, -0.1015, -0.06434, -0.04775, -0.04192, -0.03717, 0.0]
GHIA_X = [1.0, 0.9688, 0.9609, 0.9531, 0.9453, 0.9063, 0.8594, 0.8047, 0.5, 0.2344, 0.2266,
          0.1563, 0.0938, 0.0781, 0.0703, 0.0625, 0.0]
GHIA_V = [0.0, -0.05906, -0.07391, -0.08864, -0.10313, -0.16914, -0.22445, -0.24533, 0.05454,
          0.17527, 0.17507, 0.16077, 0.12317, 0.1089, 0.10091, 0.09233, 0.0]


def fields(g, batch=1):
    return (torch.zeros(batch, g.nx + 1, g.ny + 2, dtype=torch.float64),
            torch.zeros(batch, g.nx + 2, g.ny + 1, dtype=torch.float64))


def run(flow, u, v, t_end, dt=None, umax=1.0):
    dt = dt or cfl_dt(flow, umax)
    steps = math.ceil(t_end / dt)
    dt = t_end / steps
    t = 0.0
    apply_bc(flow, u, v, t)
    for _ in range(steps):
        u, v, p = step(flow, u, v, t, dt)
        t += dt
    return u, v, p


def taylor_green(n, nu=0.05, t_end=0.5):
    g = Grid(n, n, 2 * math.pi, 2 * math.pi)
    flow = Flow(g, [nu], {k: Side("periodic") for k in ("west", "east", "south", "north")})
    u, v = fields(g)
    u[0, :, 1:-1] = torch.tensor(np.sin(g.xf())[:, None] * np.cos(g.yc())[None, :])
    v[0, 1:-1, :] = torch.tensor(-np.cos(g.xc())[:, None] * np.sin(g.yf())[None, :])
    u, v, _ = run(flow, u, v, t_end, dt=0.05 * g.dx**2 / nu)
    exact = np.sin(g.xf())[:, None] * np.cos(g.yc())[None, :] * math.exp(-2 * nu * t_end)
    return float(np.abs(u[0, :, 1:-1].numpy() - exact).max()), flow, u, v


def test_taylor_green_second_order_and_divergence_free():
    """Taylor–Green vortex: exact decay exp(-2νt); observed order 2 with dt ∝ h²
    (forward-Euler time error O(dt) = O(h²)); the projected velocity is
    divergence-free to round-off."""
    errs = []
    for n in (16, 32, 64):
        e, flow, u, v = taylor_green(n)
        errs.append(e)
        div = float(divergence(flow, u, v).abs().max())
        assert div < 1e-12, f"max |div u| = {div:.2e} at n = {n}"
    rates = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert min(rates) > 2 - 0.25, f"expected rate 2, measured {rates}, errors {errs}"


def test_lid_driven_cavity_re100_matches_ghia():
    """Lid-driven cavity, Re = 100, 64² cells, steady state (t = 20): centreline
    velocities within 2 % of the lid speed of Ghia, Ghia & Shin (1982)."""
    n = 64
    g = Grid(n, n)
    wall = Side("wall")
    flow = Flow(g, [0.01], {"west": wall, "east": wall, "south": wall,
                            "north": Side("wall", (1.0, 0.0))})
    u, v = fields(g)
    u, v, _ = run(flow, u, v, 20.0)
    yy = np.concatenate([[0], g.yc(), [1]])
    uu = np.concatenate([[0], u[0, n // 2, 1:-1].numpy(), [1]])
    xx = np.concatenate([[0], g.xc(), [1]])
    vv = np.concatenate([[0], v[0, 1:-1, n // 2].numpy(), [0]])
    eu = np.abs(np.interp(GHIA_Y, yy, uu) - GHIA_U).max()
    ev = np.abs(np.interp(GHIA_X, xx, vv) - GHIA_V).max()
    assert eu < 0.02 and ev < 0.02, f"max deviation from Ghia: u {eu:.4f}, v {ev:.4f} (< 0.02)"
    assert float(divergence(flow, u, v).abs().max()) < 1e-11


def poiseuille(ny, nu=0.05):
    g = Grid(4 * ny, ny, 4.0, 1.0)
    flow = Flow(g, [nu], {"west": Side("inflow", lambda y, t: (4 * y * (1 - y), 0 * y)),
                          "east": Side("outflow"), "south": Side("wall"),
                          "north": Side("wall")})
    u, v = fields(g)
    u, v, p = run(flow, u, v, 12.0)
    exact = 4 * g.yc() * (1 - g.yc())
    mid = g.nx // 2
    dpdx = float(((p[0, mid + 1] - p[0, mid]) / g.dx).mean())
    return np.abs(u[0, mid, 1:-1].numpy() - exact).max(), dpdx, flow, u, v


def test_poiseuille_flow_is_recovered():
    """Channel with parabolic inflow u = 4y(1-y), walls and outflow: the steady
    profile is the Poiseuille parabola, dp/dx = -8ν, both converging at 2nd order."""
    e16, g16, *_ = poiseuille(16)
    e32, g32, flow, u, v = poiseuille(32)
    assert e32 < 1e-3, f"profile error {e32:.2e} at ny = 32"
    assert math.log2(e16 / e32) > 1.75, f"profile errors {e16:.2e}, {e32:.2e}"
    assert abs(g32 / (-8 * 0.05) - 1) < 0.01, f"dp/dx = {g32:.4f}, exact {-0.4}"
    assert float(divergence(flow, u, v).abs().max()) < 1e-11


def test_pressure_slot_takes_a_callable():
    """A replacement pressure model enters through step(pressure=...): the exact
    solve passed in as a callable gives the same step; a zero pressure does not
    project (the divergence grows)."""
    _, flow, u, v = taylor_green(16, t_end=0.01)
    dt = 0.01

    def exact(fl, u0, v0):
        from romflow.fom.incompressible import rhs
        fu, fv = rhs(fl, u0, v0)
        us, vs = u0.clone(), v0.clone()
        us[:, :, 1:-1] += dt * fu
        vs[:, 1:-1] += dt * fv
        apply_bc(fl, us, vs, 0.0)
        return exact_pressure(fl, us, vs, dt)

    a = step(flow, u, v, 0.0, dt)
    b = step(flow, u, v, 0.0, dt, pressure=exact)
    assert torch.allclose(a[0], b[0], atol=1e-13) and torch.allclose(a[1], b[1], atol=1e-13)
    c = step(flow, u, v, 0.0, dt, pressure=lambda fl, u0, v0: torch.zeros_like(a[2]))
    assert float(divergence(flow, c[0], c[1]).abs().max()) > 1e-6


def test_batched_viscosities_match_single_runs():
    """A batch of viscosities advances each member as if alone."""
    g = Grid(16, 16, 2 * math.pi, 2 * math.pi)
    per = {k: Side("periodic") for k in ("west", "east", "south", "north")}
    u, v = fields(g, 2)
    u[:, :, 1:-1] = torch.tensor(np.sin(g.xf())[:, None] * np.cos(2 * g.yc())[None, :])
    both = run(Flow(g, [0.05, 0.1], per), u.clone(), v.clone(), 0.2, dt=0.01)
    one = run(Flow(g, [0.1], per), u[1:].clone(), v[1:].clone(), 0.2, dt=0.01)
    assert torch.allclose(both[0][1:], one[0], atol=1e-14)


@pytest.mark.parametrize("make, match", [
    (lambda: Grid(1, 8), "grid nx=1"),
    (lambda: Grid(8, 8, -1.0, 1.0), "domain lx=-1.0"),
    (lambda: Side("slip"), "boundary kind 'slip'"),
    (lambda: Flow(Grid(8, 8), [0.0], {k: Side("wall") for k in
                                      ("west", "east", "south", "north")}), "viscosity"),
    (lambda: Flow(Grid(8, 8), [0.1], {"west": Side("periodic"), "east": Side("wall"),
                                      "south": Side("wall"), "north": Side("wall")}),
     "periodic must be paired"),
    (lambda: Flow(Grid(8, 8), [0.1], {"west": Side("wall")}), "sides"),
])
def test_bad_input(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_ssprk3_is_stable_where_forward_euler_is_not():
    """Nearly inviscid Taylor–Green (ν = 1e-4) at CFL 0.5: dt = 0.5 h exceeds forward
    Euler's bound 2ν/|u|² for central advection (von Neumann), so its energy grows;
    SSP-RK3 (stable up to CFL ~√3) keeps the energy bounded and the field
    divergence-free."""
    from romflow.fom.incompressible import step_ssprk3

    n, nu = 32, 1e-4
    g = Grid(n, n, 2 * math.pi, 2 * math.pi)
    flow = Flow(g, [nu], {k: Side("periodic") for k in ("west", "east", "south", "north")})
    u0, v0 = fields(g)
    gen = torch.Generator().manual_seed(0)
    u0[0, :, 1:-1] = torch.tensor(np.sin(g.xf())[:, None] * np.cos(g.yc())[None, :])
    u0[0, :, 1:-1] += 1e-3 * torch.randn(n + 1, n, generator=gen, dtype=torch.float64)
    v0[0, 1:-1, :] = torch.tensor(-np.cos(g.xc())[:, None] * np.sin(g.yf())[None, :])
    apply_bc(flow, u0, v0, 0.0)
    dt = 0.5 * g.dx
    assert dt > 2 * nu  # forward Euler's bound with |u| <= 1

    def energy(u, v):
        return float((u[:, :, 1:-1] ** 2).sum() + (v[:, 1:-1] ** 2).sum())

    e0 = energy(u0, v0)
    (ue, ve), (ur, vr) = (u0.clone(), v0.clone()), (u0.clone(), v0.clone())
    for k in range(400):
        ue, ve, _ = step(flow, ue, ve, k * dt, dt)
        ur, vr, _ = step_ssprk3(flow, ur, vr, k * dt, dt)
    assert energy(ur, vr) < 1.01 * e0, f"SSP-RK3 energy {energy(ur, vr):.4g} vs {e0:.4g}"
    assert not energy(ue, ve) < 1.01 * e0, "forward Euler unexpectedly stable"
    assert float(divergence(flow, ur, vr).abs().max()) < 1e-11
