"""1D-1V Vlasov-Poisson: the two-stream instability, mLaSDI paper eq. (24).

    f_t + (v f)_x + (Phi_x f)_v = 0,    Phi_xx = int f dv - mean,

x in [0, L) periodic, v in [-V, V] with f = 0 outside (homogeneous Dirichlet).
The k = 0 mode of the density is dropped (a neutralizing background), so the
electric field is E = -Phi_x and the acceleration of the electrons a = Phi_x.
The parametric problem (GPLaSDI / HyPar two-stream example, L = 2 pi, V = 7):

    f0 = 8 / sqrt(2 pi T) (1 + 0.1 cos(k x)) (exp(-(v-2)^2 / 2T) + exp(-(v+2)^2 / 2T)),
    (T, k) in [0.9, 1.1] x [1.0, 1.2].

Grid: nodes x_i = L i / nx, v_j = -V + 2 V j / nv (j = 0..nv-1, so v = +V is a
ghost node).  Space: conservative finite differences, the interface fluxes
(v f and a f) reconstructed by upwind WENO5 (:mod:`romflow.fom.weno`), the
upwind side given by the sign of v (x-direction) and of a(x) (v-direction);
periodic ghost cells in x, zero ghost cells in v.  Poisson: FFT in x.  Time:
classical RK4.  Everything is float64 and batched over a leading ``param`` axis;
the RK4 step can be fused by ``torch.compile`` (same results to round-off).

On the paper's domain the instability carries f ~ 0.03-0.05 to v = +-7, so
int int f drops by ~2e-4 over t = 5 through the Dirichlet boundary (the
truncated domain of HyPar's example, not a defect of the conservative scheme:
on v in [-12, 12] the drift is 4e-16); the dataset's ``mass`` records it.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from romflow import io
from romflow.device import resolve_device
from romflow.errors import ConfigError
from romflow.fom import weno as _weno

__all__ = ["parameter_grid", "EQUATION", "X_LENGTH", "V_MAX", "T_RANGE", "K_RANGE",
           "CFL_LIMIT", "AUTO_COMPILE_WORK", "PhaseGrid", "two_stream", "poisson",
           "acceleration", "rhs", "rk4_step", "field_bound", "cfl_number", "integrate",
           "solve"]

VERIFIED_BY = ("tests/numerics/test_weno.py: WENO5 order 5 (JS and YC); tests/numerics/"
               "test_vlasov.py: FFT Poisson vs analytic, mass conservation, linear Landau "
               "damping (gamma -0.1533, omega 1.4156)")
EQUATION = ("f_t + (v f)_x + (phi_x f)_v = 0, phi_xx = int f dv (k = 0 mode dropped); "
            "x in [0, 2 pi) periodic, f = 0 outside v in [-7, 7]; f0 = 8/sqrt(2 pi T) "
            "(1 + 0.1 cos(k x)) (exp(-(v-2)^2/(2T)) + exp(-(v+2)^2/(2T)))")
X_LENGTH = 2 * math.pi
V_MAX = 7.0
T_RANGE = (0.9, 1.1)
K_RANGE = (1.0, 1.2)
#: Largest CFL number max|v| dt/dx + max|a| dt/dv accepted.  The linear
#: fifth-order upwind scheme (WENO5 at its optimal weights) with classical RK4
#: is stable up to 1.732 (the spectrum, computed in tests/numerics/test_vlasov.py,
#: also for the 2-D sum of both directions); 1.4 keeps a 20 % margin because the
#: nonlinear weights move the linearized spectrum (Wang & Spiteri 2007, SIAM J.
#: Numer. Anal. 45, "Linear instability of the fifth-order WENO method").
CFL_LIMIT = 1.4
#: Without an explicit ``compile`` argument the RK4 step is compiled on CPU
#: when params x steps x nx x nv reaches this (compiling costs ~20-60 s once).
AUTO_COMPILE_WORK = 2e8


@dataclass(frozen=True)
class PhaseGrid:
    """Node grid of the phase space: x_i = x_length i / nx, v_j = -v_max + 2 v_max j / nv."""

    nx: int
    nv: int
    x_length: float = X_LENGTH
    v_max: float = V_MAX

    @property
    def dx(self) -> float:
        return self.x_length / self.nx

    @property
    def dv(self) -> float:
        return 2 * self.v_max / self.nv

    def x(self) -> np.ndarray:
        """``(nx,)`` x nodes."""
        return self.x_length * np.arange(self.nx) / self.nx

    def v(self) -> np.ndarray:
        """``(nv,)`` v nodes."""
        return -self.v_max + 2 * self.v_max * np.arange(self.nv) / self.nv


def two_stream(T, k, grid: PhaseGrid, device="cpu") -> torch.Tensor:
    """Initial condition of eq. (24) for each (T, k): ``(param, nx, nv)`` float64.

    ``T``, ``k`` : ``(param,)``.
    """
    kw = dict(dtype=torch.float64, device=device)
    T = torch.as_tensor(np.asarray(T, float), **kw)[:, None, None]
    k = torch.as_tensor(np.asarray(k, float), **kw)[:, None, None]
    x = torch.as_tensor(grid.x(), **kw)[None, :, None]
    v = torch.as_tensor(grid.v(), **kw)[None, None, :]
    beams = torch.exp(-(v - 2) ** 2 / (2 * T)) + torch.exp(-(v + 2) ** 2 / (2 * T))
    return 8 / torch.sqrt(2 * math.pi * T) * (1 + 0.1 * torch.cos(k * x)) * beams


@torch.compiler.disable  # complex FFT arithmetic stays eager inside a compiled RK4 step
def poisson(rho: torch.Tensor, x_length: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Periodic Poisson solve Phi_xx = rho - mean(rho) by FFT (spectral in x).

    Parameters
    ----------
    rho : (..., nx)
        Density at the x nodes.
    x_length : float
        Period L.

    Returns
    -------
    phi, phi_x : (..., nx)
        Potential with zero mean, and its spectral derivative (the acceleration
        a = Phi_x; the field is E = -Phi_x).  The k = 0 mode is dropped; the
        Nyquist mode of Phi_x is zero (``irfft`` keeps the real part only).
    """
    nx = rho.shape[-1]
    kappa = (2 * math.pi / x_length) * torch.arange(nx // 2 + 1, dtype=rho.dtype,
                                                     device=rho.device)
    inv = torch.where(kappa > 0, 1.0 / kappa.clamp_min(1e-300), torch.zeros_like(kappa))
    rho_hat = torch.fft.rfft(rho)
    phi = torch.fft.irfft(-rho_hat * inv**2, n=nx)
    phi_x = torch.fft.irfft(-1j * rho_hat * inv, n=nx)
    return phi, phi_x


def acceleration(f: torch.Tensor, grid: PhaseGrid) -> torch.Tensor:
    """a(x) = Phi_x with Phi_xx = int f dv - mean: ``(..., nx, nv) -> (..., nx)``."""
    return poisson(f.sum(-1) * grid.dv, grid.x_length)[1]


def rhs(f: torch.Tensor, grid: PhaseGrid, weights: str = "yc") -> torch.Tensor:
    """Semi-discrete right-hand side -(v f)_x - (a f)_v of eq. (24).

    Parameters
    ----------
    f : (..., nx, nv)
        Distribution function at the nodes, float64.
    grid : PhaseGrid
    weights : {"js", "yc"}
        WENO5 nonlinear weights.

    Returns
    -------
    (..., nx, nv)
        df/dt.  Upwind WENO5 flux differences; periodic ghost cells in x, zero
        ghost cells in v (f = 0 outside [-v_max, v_max)).
    """
    g = _weno.GHOSTS
    v = torch.as_tensor(grid.v(), dtype=f.dtype, device=f.device)
    flux_x = v * f
    flux_x = torch.cat([flux_x[..., -g:, :], flux_x, flux_x[..., :g, :]], dim=-2)
    dfx = _weno.flux_difference(flux_x, v > 0, grid.dx, weights, dim=-2)
    a = acceleration(f, grid)[..., None]
    zeros = f.new_zeros(f.shape[:-1] + (g,))
    flux_v = torch.cat([zeros, a * f, zeros], dim=-1)
    dfv = _weno.flux_difference(flux_v, a > 0, grid.dv, weights, dim=-1)
    return -(dfx + dfv)


def rk4_step(f: torch.Tensor, dt: float, grid: PhaseGrid, weights: str = "yc") -> torch.Tensor:
    """One classical RK4 step of :func:`rhs`; ``f : (..., nx, nv)``."""
    k1 = rhs(f, grid, weights)
    k2 = rhs(f + (0.5 * dt) * k1, grid, weights)
    k3 = rhs(f + (0.5 * dt) * k2, grid, weights)
    k4 = rhs(f + dt * k3, grid, weights)
    return f + (dt / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)


def field_bound(f: torch.Tensor, grid: PhaseGrid) -> torch.Tensor:
    """Upper bound of max_x |a(x)| per parameter: ``(..., nx, nv) -> (...)``.

    Phi_x has zero mean (so max Phi_x >= 0 >= min Phi_x) and (Phi_x)_x =
    rho - mean(rho), whose positive and negative parts have equal integrals:
    max |Phi_x| <= max Phi_x - min Phi_x <= 1/2 int |rho - mean(rho)| dx.
    """
    rho = f.sum(-1) * grid.dv
    return 0.5 * (rho - rho.mean(-1, keepdim=True)).abs().sum(-1) * grid.dx


def cfl_number(dt: float, grid: PhaseGrid, a_max) -> float:
    """max|v| dt/dx + max|a| dt/dv (the bound compared with :data:`CFL_LIMIT`)."""
    return grid.v_max * dt / grid.dx + float(a_max) * dt / grid.dv


def _positive(name, value, kind=float):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not value > 0 or (kind is int and int(value) != value):
        what = "an integer >= 1" if kind is int else "a number > 0"
        raise ConfigError(f"vlasov {name} = {value!r} is invalid; allowed: {what}")
    return kind(value)


def _steps(t_end, dt, save_every) -> int:
    """Number of RK4 steps; ConfigError unless dt, t_end > 0 and save_every divides them."""
    dt = _positive("dt", dt)
    t_end = _positive("t_end", t_end)
    save_every = _positive("save_every", save_every, int)
    n = round(t_end / dt)
    if n < 1 or abs(n * dt - t_end) > 1e-9 * t_end:
        raise ConfigError(f"vlasov t_end = {t_end} is not a whole number of steps dt = {dt}; "
                          "allowed: t_end = n dt with an integer n >= 1")
    if n % save_every:
        raise ConfigError(f"vlasov save_every = {save_every} does not divide the {n} steps "
                          f"of t_end / dt = {t_end} / {dt}; allowed: a divisor of {n}")
    return n


@functools.cache
def _compiled_step():
    return torch.compile(rk4_step, dynamic=False)


def _first_step(compile, f, dt, grid, weno):
    """Take the first RK4 step; return it with the step function for the rest.

    ``compile=True`` uses the compiled step, ``False`` the eager one, ``None``
    the compiled one on CPU for work >= :data:`AUTO_COMPILE_WORK` and, should
    compiling fail there (no C++ compiler), the eager one with a warning.
    """
    if compile is False or (compile is None and f.device.type != "cpu"):
        return rk4_step, rk4_step(f, dt, grid, weno)
    fused = _compiled_step()
    try:
        return fused, fused(f, dt, grid, weno)
    except Exception as exc:  # noqa: BLE001  (any backend failure)
        if compile:
            raise
        warnings.warn(f"vlasov: torch.compile failed ({type(exc).__name__}: {exc}); "
                      "integrating eagerly (same result, about 10x slower)", stacklevel=3)
        return rk4_step, rk4_step(f, dt, grid, weno)


def integrate(f0: torch.Tensor, x_length: float, v_max: float, *, t_end: float, dt: float,
              save_every: int = 1, weno: str = "yc", device="cpu", compile=None,
              out_dtype=torch.float64, progress=None):
    """Integrate eq. (24) from ``f0`` with upwind WENO5 + RK4.

    Parameters
    ----------
    f0 : (param, nx, nv)
        Initial state on x_i = x_length i / nx, v_j = -v_max + 2 v_max j / nv.
    x_length, v_max : float
        Period in x; f = 0 outside [-v_max, v_max].
    t_end, dt : float
        Final time (a whole number of steps) and RK4 step.
    save_every : int
        Keep every ``save_every``-th step (t = 0 included).
    weno : {"js", "yc"}
        WENO5 nonlinear weights.
    device : str or torch.device
    compile : bool or None
        Fuse the RK4 step with ``torch.compile``; None: on CPU when
        param x steps x nx x nv >= :data:`AUTO_COMPILE_WORK`.
    out_dtype : torch.dtype
        dtype of the returned snapshots (the computation is float64).
    progress : callable or None
        Called as ``progress(step)`` after every step.

    Returns
    -------
    times : (time,) ndarray
    f : (param, time, nx, nv) CPU tensor of ``out_dtype``
    diagnostics : dict of (param, time) float64 CPU tensors
        ``field_energy`` W = 1/2 int E^2 dx, ``mass`` int int f dx dv,
        ``cfl`` max|v| dt/dx + max|a| dt/dv.

    Raises
    ------
    ConfigError
        Bad sizes or steps, unknown ``weno``, or an initial CFL bound
        (:func:`field_bound`) above :data:`CFL_LIMIT`.
    FloatingPointError
        The solution became non-finite.
    """
    _weno.check_weights(weno)
    steps = _steps(t_end, dt, save_every)
    dt, save_every = float(dt), int(save_every)
    _positive("x_length", x_length)
    _positive("v_max", v_max)
    if not isinstance(f0, torch.Tensor) or f0.ndim != 3:
        raise ConfigError(f"vlasov f0 must be a (param, nx, nv) tensor; got "
                          f"{type(f0).__name__} of shape {tuple(getattr(f0, 'shape', ()))}")
    n_param, nx, nv = f0.shape
    if nx < 5 or nv < 5 or n_param < 1:
        raise ConfigError(f"vlasov f0 shape {tuple(f0.shape)} is invalid; allowed: param >= 1, "
                          "nx >= 5 and nv >= 5 (the WENO5 stencil)")
    device = torch.device(device)
    grid = PhaseGrid(nx, nv, float(x_length), float(v_max))
    f = f0.to(device=device, dtype=torch.float64)
    cfl0 = cfl_number(dt, grid, field_bound(f, grid).max())
    if not cfl0 <= CFL_LIMIT:
        dt_max = CFL_LIMIT / cfl0 * dt
        raise ConfigError(f"vlasov dt = {dt} gives CFL number {cfl0:.3f} = max|v| dt/dx + "
                          f"max|a| dt/dv (initial field bound) above the RK4 + WENO5 limit "
                          f"{CFL_LIMIT}; allowed: dt <= {dt_max:.4g} or a coarser grid")
    if compile is None and n_param * steps * nx * nv < AUTO_COMPILE_WORK:
        compile = False
    n_out = steps // save_every + 1
    out = torch.empty((n_param, n_out, nx, nv), dtype=out_dtype)
    diag = {name: torch.empty((n_param, n_out), dtype=torch.float64)
            for name in ("field_energy", "mass", "cfl")}

    def record(s, f):
        a = acceleration(f, grid)
        out[:, s].copy_(f)
        diag["field_energy"][:, s] = (0.5 * grid.dx * (a * a).sum(-1)).cpu()
        diag["mass"][:, s] = (f.sum((-2, -1)) * (grid.dx * grid.dv)).cpu()
        diag["cfl"][:, s] = (grid.v_max * dt / grid.dx + a.abs().amax(-1) * dt / grid.dv).cpu()

    record(0, f)
    for n in range(1, steps + 1):
        if n == 1:
            step, f = _first_step(compile, f, dt, grid, weno)
        else:
            f = step(f, dt, grid, weno)
        if n % save_every == 0:
            record(n // save_every, f)
        if progress is not None:
            progress(n)
    bad = ~torch.isfinite(diag["mass"])
    if bad.any():
        p, s = (int(i) for i in torch.nonzero(bad)[0])
        raise FloatingPointError(f"vlasov solution is not finite for parameter {p} at "
                                 f"t = {s * save_every * dt:g}; reduce dt")
    if diag["cfl"].max() > CFL_LIMIT:
        warnings.warn(f"vlasov CFL number reached {float(diag['cfl'].max()):.3f} during the "
                      f"run (limit {CFL_LIMIT}); the field grew: reduce dt", stacklevel=2)
    times = np.arange(n_out) * (save_every * dt)
    return times, out, diag


def _parameters(T, k, split):
    T = np.asarray(T, dtype=float)
    k = np.asarray(k, dtype=float)
    if T.ndim != 1 or k.ndim != 1 or len(T) != len(k) or len(T) == 0:
        raise ConfigError(f"vlasov T and k must be 1-D sequences of equal length >= 1; got "
                          f"shapes {T.shape} and {k.shape}")
    for name, values, (lo, hi) in (("T", T, T_RANGE), ("k", k, K_RANGE)):
        out = values[~((values >= lo - 1e-12) & (values <= hi + 1e-12))]
        if out.size:
            raise ConfigError(f"vlasov {name} = {out.tolist()} outside the parameter domain; "
                              f"allowed: {lo} <= {name} <= {hi}")
    split = np.array(["train"] * len(T) if split is None else list(split), dtype=str)
    if split.shape != T.shape or not np.isin(split, ["train", "test"]).all():
        raise ConfigError(f"vlasov split = {split.tolist()} is invalid; allowed: one of "
                          f"'train'/'test' per parameter point ({len(T)} points)")
    return T, k, split


def parameter_grid(T_range, k_range, points: int, train_every: int):
    """The (T, k) plane of section 4.3: ``points`` x ``points`` values over ``T_range`` x
    ``k_range`` (T-major), training on every ``train_every``-th point in each direction
    (21 x 21 with train_every = 5: the paper's 441 points and 5 x 5 training grid).

    Returns ``(T, k, split)``, each ``(points**2,)``.
    """
    points = _positive("points", points, int)
    train_every = _positive("train_every", train_every, int)
    T = np.linspace(*map(float, T_range), points)
    k = np.linspace(*map(float, k_range), points)
    TT, KK = (a.ravel() for a in np.meshgrid(T, k, indexing="ij"))
    on = np.arange(points) % train_every == 0
    split = np.where(np.outer(on, on).ravel(), "train", "test")
    return TT, KK, split


def solve(T, k, *, nx=64, nv=64, t_end=5.0, dt=0.005, save_every=4, weno="yc",
          device="cpu", progress=None, split=None, compile=None, config=None) -> xr.Dataset:
    """Two-stream instability, mLaSDI eq. (24), for every (T, k); a 'fom' dataset.

    Parameters
    ----------
    T, k : (param,) sequences
        Temperature and perturbation wavenumber, in [0.9, 1.1] x [1.0, 1.2].
    nx, nv : int
        Grid (64 x 64 in the paper).
    t_end, dt, save_every :
        RK4 step 0.005 to t = 5, every 4th step kept: 251 snapshots.
    weno : {"yc", "js"}
        WENO5 weights (HyPar's example uses Yamaleev-Carpenter).
    device : str or torch.device
    progress : callable or None
        ``progress(step)`` after every RK4 step.
    split : (param,) sequence of "train"/"test" or None (all "train")
    compile : bool or None
        See :func:`integrate`.
    config : dict or None
        Config section recorded as ``config_digest``.

    Returns
    -------
    xarray.Dataset
        ``u : (param, time, x, v)`` float32 (f), ``field_energy`` and ``mass``
        ``(param, time)``; coords ``T``, ``k``, ``split`` on ``param``.
    """
    _weno.check_weights(weno)
    T, k, split = _parameters(T, k, split)
    nx = _positive("nx", nx, int)
    nv = _positive("nv", nv, int)
    _steps(t_end, dt, save_every)
    if isinstance(device, str):
        device = resolve_device(device)
    grid = PhaseGrid(nx, nv)
    f0 = two_stream(T, k, grid, device)
    times, f, diag = integrate(f0, grid.x_length, grid.v_max, t_end=t_end, dt=dt,
                               save_every=save_every, weno=weno, device=device,
                               compile=compile, out_dtype=torch.float32, progress=progress)
    pt = (io.PARAM, io.TIME)
    ds = xr.Dataset(
        {"u": io.variable((*pt, "x", "v"), f.numpy(), units="1",
                          long_name="electron distribution function f"),
         "field_energy": io.variable(pt, diag["field_energy"].numpy(), units="1",
                                     long_name="electric field energy 1/2 int E^2 dx"),
         "mass": io.variable(pt, diag["mass"].numpy(), units="1",
                             long_name="total mass int int f dx dv")},
        coords={
            "T": (io.PARAM, T, {"units": "1", "long_name": "temperature T"}),
            "k": (io.PARAM, k, {"units": "1", "long_name": "perturbation wavenumber k"}),
            io.SPLIT: (io.PARAM, split, {"long_name": "train or test"}),
            io.TIME: (io.TIME, times, {"units": "1", "long_name": "time"}),
            "x": ("x", grid.x(), {"units": "1", "long_name": "position x"}),
            "v": ("v", grid.v(), {"units": "1", "long_name": "velocity v"}),
        },
        attrs=io.provenance(
            "fom", "vlasov", equation=EQUATION, solver="romflow.fom.vlasov",
            scheme=f"WENO5-{weno.upper()} finite differences, RK4", config=config,
            parameters="T,k", grid=f"{nx}x{nv}", nx=nx, nv=nv, dt=float(dt),
            save_every=int(save_every), weno=weno, weno_eps=_weno.EPS,
            x_length=grid.x_length, v_max=grid.v_max, cfl_max=float(diag["cfl"].max()),
            boundary="x periodic; v homogeneous Dirichlet (zero ghost cells)",
            verified_by=VERIFIED_BY),
    )
    return ds
