"""2-D incompressible Navier–Stokes on a staggered (MAC) grid, projection method.

    u_t + (u·∇)u = -∇p + ν Δu,   ∇·u = 0,   on [0, lx] × [0, ly].

Layout (Harlow & Welch 1965): pressure at cell centres ``p : (B, nx, ny)``;
``u`` on x-faces with one ghost row below and above, ``(B, nx+1, ny+2)``;
``v`` on y-faces with one ghost column left and right, ``(B, nx+2, ny+1)``.
B is a batch axis (parameters or trajectories).  Spatial operators are the
conservative second-order central differences of the MAC scheme.

Boundary conditions are data: one :class:`Side` per side (west, east, south,
north), each ``periodic``, ``wall`` (Dirichlet velocity, e.g. a moving lid),
``inflow`` (Dirichlet velocity that may depend on position and time) or
``outflow`` (zero normal gradient of velocity, p = 0).

One time step is the forward-Euler projection of the hybrid paper's channel,

    p_k = Δ⁻¹ ∇·(ν Δu_k - (u_k·∇)u_k),   u_{k+1} = u_k + dt (ν Δu_k - (u_k·∇)u_k - ∇p_k),

with the pressure solve a replaceable callable (``pressure=``), so that a learned
model can take its place.  Δ⁻¹ is exact: the 5-point operator is separable on the
rectangle, so each axis' 1-D operator (with its boundary conditions) is
diagonalized once and a solve is two small dense transforms per axis, batched.
Solid bodies enter by Brinkman volume penalization (Angot, Bruneau & Fabrie
1999), treated implicitly: u ← u / (1 + dt χ / η).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from romflow.errors import ConfigError

__all__ = ["Grid", "Side", "Flow", "poisson_operator", "apply_bc", "rhs", "divergence",
           "gradient", "exact_pressure", "step", "step_ssprk3", "cfl_dt", "centred"]

KINDS = ("periodic", "wall", "inflow", "outflow")
SIDES = ("west", "east", "south", "north")


@dataclass(frozen=True)
class Grid:
    """Uniform MAC grid of ``nx × ny`` cells on [0, lx] × [0, ly]."""

    nx: int
    ny: int
    lx: float = 1.0
    ly: float = 1.0

    def __post_init__(self):
        if int(self.nx) < 2 or int(self.ny) < 2:
            raise ConfigError(f"grid nx={self.nx}, ny={self.ny} is invalid; allowed: >= 2")
        if not (self.lx > 0 and self.ly > 0):
            raise ConfigError(f"domain lx={self.lx}, ly={self.ly} is invalid; allowed: > 0")

    @property
    def dx(self) -> float:
        return self.lx / self.nx

    @property
    def dy(self) -> float:
        return self.ly / self.ny

    def xc(self):
        return (np.arange(self.nx) + 0.5) * self.dx

    def yc(self):
        return (np.arange(self.ny) + 0.5) * self.dy

    def xf(self):
        return np.arange(self.nx + 1) * self.dx

    def yf(self):
        return np.arange(self.ny + 1) * self.dy


@dataclass(frozen=True)
class Side:
    """Boundary condition of one side.

    ``velocity(s, t) -> (u, v)`` for ``wall``/``inflow`` gives the velocity
    components in the x/y frame as arrays over the side's coordinate ``s`` (y for
    west/east, x for south/north), shaped ``(n,)`` or ``(B, n)`` when each batch
    entry has its own; a constant pair is accepted too.  ``periodic`` sides come
    in opposite pairs.
    """

    kind: str
    velocity: object = (0.0, 0.0)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConfigError(f"boundary kind {self.kind!r} is invalid; allowed: {list(KINDS)}")

    def values(self, s, t):
        """``(u, v)`` on the side's points ``s``; each ``(n,)`` or ``(B, n)`` per batch entry."""
        val = self.velocity(s, t) if callable(self.velocity) else self.velocity
        out = []
        for c in val:
            c = np.asarray(c, dtype=float)
            out.append(np.broadcast_to(c, np.broadcast_shapes(c.shape, s.shape)).copy())
        return tuple(out)


@dataclass
class Flow:
    """A problem: grid, viscosity per batch entry, boundary sides, optional solid.

    ``sides`` maps west/east/south/north to a :class:`Side`; ``solid`` is the pair
    of masks ``(chi_u : (nx+1, ny), chi_v : (nx, ny+1))`` (1 inside the body) with
    permeability ``eta`` of the Brinkman penalization.
    """

    grid: Grid
    nu: torch.Tensor
    sides: dict
    solid: tuple | None = None
    eta: float = 1e-4
    _ops: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        missing = [s for s in SIDES if s not in self.sides]
        if missing:
            raise ConfigError(f"boundary conditions for sides {missing} are missing")
        for a, b in (("west", "east"), ("south", "north")):
            if (self.sides[a].kind == "periodic") != (self.sides[b].kind == "periodic"):
                raise ConfigError(f"sides {a} and {b}: periodic must be paired")
        self.nu = torch.as_tensor(self.nu, dtype=torch.float64).reshape(-1)
        if not (self.nu > 0).all():
            raise ConfigError(f"viscosity nu = {self.nu.tolist()} is invalid; allowed: > 0")


def _axis_operator(n: int, h: float, lo: str, hi: str) -> np.ndarray:
    """1-D cell-centred second difference with pressure conditions at both ends.

    ``periodic``: wrap; ``outflow``: p = 0 on the face (ghost = -interior);
    ``wall``/``inflow``: dp/dn = 0 (ghost = interior).
    """
    a = np.zeros((n, n))
    for i in range(n):
        a[i, i] = -2.0
        if i > 0:
            a[i, i - 1] = 1.0
        if i < n - 1:
            a[i, i + 1] = 1.0
    if lo == "periodic":
        a[0, -1] = a[-1, 0] = 1.0
    else:
        a[0, 0] += -1.0 if lo == "outflow" else 1.0
        a[-1, -1] += -1.0 if hi == "outflow" else 1.0
    return a / h**2


def poisson_operator(flow: Flow):
    """Eigen-decompositions of the two 1-D pressure operators (cached on ``flow``).

    Returns a function solving Δp = r for ``r : (B, nx, ny)``; the null mode of a
    pure-Neumann/periodic problem is set to zero (the mean of p is free).
    """
    if "poisson" in flow._ops:
        return flow._ops["poisson"]
    g, s = flow.grid, flow.sides
    ax = _axis_operator(g.nx, g.dx, s["west"].kind, s["east"].kind)
    ay = _axis_operator(g.ny, g.dy, s["south"].kind, s["north"].kind)
    lx, vx = np.linalg.eigh(ax)
    ly, vy = np.linalg.eigh(ay)
    lam = lx[:, None] + ly[None, :]
    scale = np.abs(lam).max()
    inv = np.where(np.abs(lam) > 1e-10 * scale, 1.0 / np.where(lam == 0, 1, lam), 0.0)
    vx, vy, inv = (torch.as_tensor(a, dtype=torch.float64) for a in (vx, vy, inv))

    def solve(r: torch.Tensor) -> torch.Tensor:
        hat = vx.T.to(r) @ r @ vy.to(r)
        return vx.to(r) @ (hat * inv.to(r)) @ vy.T.to(r)

    flow._ops["poisson"] = solve
    return solve


def apply_bc(flow: Flow, u: torch.Tensor, v: torch.Tensor, t: float, normal: bool = True):
    """Set boundary conditions in place.

    ``normal=True`` also sets the normal velocity on the boundary faces (Dirichlet
    values; zero-gradient extrapolation at outflows); ``normal=False`` refreshes
    only the ghost (tangential) values, after a projection has corrected the faces.
    """
    g, s = flow.grid, flow.sides
    for name, face, inner in (("west", 0, 1), ("east", -1, -2)):
        side = s[name]
        if side.kind == "periodic":
            continue
        if side.kind == "outflow":
            if normal:
                u[:, face, 1:-1] = u[:, inner, 1:-1]
            v[:, face] = v[:, inner]
        else:
            if normal:
                u[:, face, 1:-1] = torch.as_tensor(side.values(g.yc(), t)[0], dtype=u.dtype)
            vb = torch.as_tensor(side.values(g.yf(), t)[1], dtype=v.dtype)
            v[:, face] = 2 * vb - v[:, inner]
    if s["west"].kind == "periodic":
        u[:, -1] = u[:, 0]
        v[:, 0] = v[:, -2]
        v[:, -1] = v[:, 1]
    for name, face, inner in (("south", 0, 1), ("north", -1, -2)):
        side = s[name]
        if side.kind == "periodic":
            continue
        if side.kind == "outflow":
            if normal:
                v[:, 1:-1, face] = v[:, 1:-1, inner]
            u[:, :, face] = u[:, :, inner]
        else:
            if normal:
                v[:, 1:-1, face] = torch.as_tensor(side.values(g.xc(), t)[1], dtype=v.dtype)
            ub = torch.as_tensor(side.values(g.xf(), t)[0], dtype=u.dtype)
            u[:, :, face] = 2 * ub - u[:, :, inner]
    if s["south"].kind == "periodic":
        v[:, :, -1] = v[:, :, 0]
        u[:, :, 0] = u[:, :, -2]
        u[:, :, -1] = u[:, :, 1]
    return u, v


def rhs(flow: Flow, u: torch.Tensor, v: torch.Tensor):
    """ν Δu - (u·∇)u at every u- and v-face (conservative MAC differences).

    Returns ``(fu : (B, nx+1, ny), fv : (B, nx, ny+1))``; boundary-face entries are
    computed with the ghost values and later overwritten by the conditions.
    """
    g = flow.grid
    dx, dy = g.dx, g.dy
    nu = flow.nu.to(u)[:, None, None]
    # periodic wrap in x for the u-stencil: extend u by one face on each side
    px = flow.sides["west"].kind == "periodic"
    ue = torch.cat([u[:, -2:-1], u, u[:, 1:2]], 1) if px else \
        torch.cat([2 * u[:, :1] - u[:, 1:2], u, 2 * u[:, -1:] - u[:, -2:-1]], 1)
    py = flow.sides["south"].kind == "periodic"
    ve = torch.cat([v[:, :, -2:-1], v, v[:, :, 1:2]], 2) if py else \
        torch.cat([2 * v[:, :, :1] - v[:, :, 1:2], v, 2 * v[:, :, -1:] - v[:, :, -2:-1]], 2)
    # --- u-momentum at faces i = 0..nx, cells j = 0..ny-1 (interior rows 1..ny of u)
    uc = 0.5 * (ue[:, 1:] + ue[:, :-1])[:, :, 1:-1]            # (B, nx+2, ny) centres
    duu = (uc[:, 1:] ** 2 - uc[:, :-1] ** 2) / dx               # (B, nx+1, ny)
    u_corner = 0.5 * (u[:, :, 1:] + u[:, :, :-1])               # (B, nx+1, ny+1)
    v_corner = 0.5 * (v[:, 1:] + v[:, :-1])                     # (B, nx+1, ny+1)
    duv = (u_corner[:, :, 1:] * v_corner[:, :, 1:] - u_corner[:, :, :-1] * v_corner[:, :, :-1]) / dy
    lap_u = (ue[:, 2:, 1:-1] - 2 * u[:, :, 1:-1] + ue[:, :-2, 1:-1]) / dx**2 \
        + (u[:, :, 2:] - 2 * u[:, :, 1:-1] + u[:, :, :-2]) / dy**2
    fu = nu * lap_u - duu - duv
    # --- v-momentum at faces j = 0..ny, cells i = 0..nx-1 (interior columns 1..nx of v)
    vc = 0.5 * (ve[:, :, 1:] + ve[:, :, :-1])[:, 1:-1]         # (B, nx, ny+2)
    dvv = (vc[:, :, 1:] ** 2 - vc[:, :, :-1] ** 2) / dy         # (B, nx, ny+1)
    duv_v = (u_corner[:, 1:] * v_corner[:, 1:] - u_corner[:, :-1] * v_corner[:, :-1]) / dx
    lap_v = (v[:, 2:] - 2 * v[:, 1:-1] + v[:, :-2]) / dx**2 \
        + (ve[:, 1:-1, 2:] - 2 * v[:, 1:-1] + ve[:, 1:-1, :-2]) / dy**2
    fv = nu * lap_v - duv_v - dvv
    return fu, fv


def divergence(flow: Flow, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Discrete divergence at cell centres: ``(B, nx, ny)``."""
    g = flow.grid
    return (u[:, 1:, 1:-1] - u[:, :-1, 1:-1]) / g.dx + (v[:, 1:-1, 1:] - v[:, 1:-1, :-1]) / g.dy


def gradient(flow: Flow, p: torch.Tensor):
    """∇p at u-faces ``(B, nx+1, ny)`` and v-faces ``(B, nx, ny+1)`` with p's conditions."""
    g, s = flow.grid, flow.sides

    def ghosts(p, dim, lo, hi):
        first, last = p.narrow(dim, 0, 1), p.narrow(dim, p.shape[dim] - 1, 1)
        if lo == "periodic":
            return torch.cat([last, p, first], dim)
        glo = -first if lo == "outflow" else first
        ghi = -last if hi == "outflow" else last
        return torch.cat([glo, p, ghi], dim)

    px = ghosts(p, 1, s["west"].kind, s["east"].kind)
    py = ghosts(p, 2, s["south"].kind, s["north"].kind)
    return (px[:, 1:] - px[:, :-1]) / g.dx, (py[:, :, 1:] - py[:, :, :-1]) / g.dy


def exact_pressure(flow: Flow, u_star: torch.Tensor, v_star: torch.Tensor, dt: float):
    """p = Δ⁻¹ (∇·u* / dt): the pressure that makes u* - dt ∇p divergence-free.

    For a divergence-free u_k with steady boundary values this is the hybrid
    paper's p_k = Δ⁻¹ ∇·(ν Δu_k - (u_k·∇)u_k).  Walls and inflows give
    dp/dn = 0 (their normal velocity is fixed), outflows p = 0.
    """
    return poisson_operator(flow)(divergence(flow, u_star, v_star) / dt)


def step(flow: Flow, u, v, t: float, dt: float, pressure=None):
    """One projection step from t to t + dt; returns ``(u, v, p)``.

    Predictor u* = u + dt (ν Δu - (u·∇)u) (with implicit penalization of solids),
    boundary conditions at t + dt, then u_{k+1} = u* - dt ∇p with p from
    :func:`exact_pressure`, or from ``pressure(flow, u, v) -> p`` when given (the
    slot for a learned pressure model).  With the exact solve, the discrete
    divergence of the result is at round-off.
    """
    fu, fv = rhs(flow, u, v)
    us, vs = u.clone(), v.clone()
    us[:, :, 1:-1] += dt * fu
    vs[:, 1:-1] += dt * fv
    if flow.solid is not None:
        chi_u, chi_v = flow.solid
        us[:, :, 1:-1] /= 1 + dt * chi_u / flow.eta
        vs[:, 1:-1] /= 1 + dt * chi_v / flow.eta
    apply_bc(flow, us, vs, t + dt)
    p = exact_pressure(flow, us, vs, dt) if pressure is None else pressure(flow, u, v)
    gx, gy = gradient(flow, p)
    us[:, :, 1:-1] -= dt * gx
    vs[:, 1:-1] -= dt * gy
    apply_bc(flow, us, vs, t + dt, normal=False)
    return us, vs, p


def step_ssprk3(flow: Flow, u, v, t: float, dt: float):
    """Three-stage SSP Runge–Kutta (Shu & Osher 1988), each stage a projection step.

    Stable for the central advection terms up to a CFL number of about √3, where
    forward Euler needs dt <= 2ν/|u|²; use it for advection-dominated flows with
    steady boundary values (the stages are convex combinations of divergence-free
    fields with equal boundary values, so the result is divergence-free).
    """
    u1, v1, _ = step(flow, u, v, t, dt)
    u2, v2, _ = step(flow, u1, v1, t + dt, dt)
    u2, v2 = 0.75 * u + 0.25 * u2, 0.75 * v + 0.25 * v2
    u3, v3, p = step(flow, u2, v2, t + 0.5 * dt, dt)
    return u / 3 + 2 * u3 / 3, v / 3 + 2 * v3 / 3, p


def cfl_dt(flow: Flow, umax: float, cfl: float = 0.5, visc: float = 0.2) -> float:
    """A stable forward-Euler step: min(cfl h/|u|max, visc h²/ν, 2ν/|u|max²).

    The last bound is forward Euler's with central advection; :func:`step_ssprk3`
    needs only the first two.
    """
    h = min(flow.grid.dx, flow.grid.dy)
    nu = float(flow.nu.max())
    return min(cfl * h / umax, visc * h * h / nu, 2 * nu / umax**2 if umax > 0 else np.inf)


def centred(u: torch.Tensor, v: torch.Tensor):
    """Velocities averaged to cell centres: ``(B, nx, ny)`` each."""
    return 0.5 * (u[:, 1:, 1:-1] + u[:, :-1, 1:-1]), 0.5 * (v[:, 1:-1, 1:] + v[:, 1:-1, :-1])
