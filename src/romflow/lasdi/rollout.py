"""Integration of the latent ODEs, batched over parameters and GP samples.

Linear library (eq. 9): dz/dt = b + A z is integrated in closed form.  With
the augmented matrix M = [[A, b], [0, 0]], (z(t), 1) = exp(M t) (z0, 1); on a
uniform time grid the exact one-step propagator E = exp(M dt) is applied
step by step, so every saved state is the exact solution up to round-off.
Quadratic library (appendix B): classical RK4 with ``substeps`` per interval.
A trajectory whose |z| exceeds ``blowup_threshold`` or turns non-finite is
marked blown up at that time index (the quadratic library can blow up in
finite time, e.g. dz/dt = z^2 at t = 1/z0); later states are NaN and the
index is returned, so the blow-up is a reported result, not a silent NaN.
"""

from __future__ import annotations

import torch

from romflow.lasdi.sindy import rhs

__all__ = ["linear_propagator", "integrate_linear", "integrate_rk4", "detect_blowup",
           "integrate"]


def _check_grid(t: torch.Tensor) -> float:
    if t.ndim != 1 or t.numel() < 2:
        raise ValueError("time grid must be 1-D with at least 2 points")
    dt = t[1:] - t[:-1]
    if not torch.allclose(dt, dt[0].expand_as(dt), rtol=1e-6, atol=1e-12) or dt[0] <= 0:
        raise ValueError("time grid must be uniform and increasing")
    return float(dt[0])


def linear_propagator(xi: torch.Tensor, dt: float) -> torch.Tensor:
    """exp(M dt) for ``xi : (..., 1 + N_z, N_z)``; returns ``(..., N_z + 1, N_z + 1)``."""
    latent = xi.shape[-1]
    b = xi[..., 0, :]
    A = xi[..., 1:latent + 1, :].transpose(-1, -2)
    M = torch.zeros(*xi.shape[:-2], latent + 1, latent + 1, dtype=xi.dtype, device=xi.device)
    M[..., :latent, :latent] = A
    M[..., :latent, latent] = b
    return torch.linalg.matrix_exp(M * dt)


def integrate_linear(xi: torch.Tensor, z0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Closed-form solution of dz/dt = b + A z: ``z : (..., time, N_z)``."""
    dt = _check_grid(t)
    E = linear_propagator(xi, dt)
    state = torch.cat([z0, torch.ones_like(z0[..., :1])], dim=-1).unsqueeze(-1)
    out = [state]
    for _ in range(t.numel() - 1):
        state = E @ state
        out.append(state)
    return torch.stack(out, dim=-3)[..., :-1, 0]


def integrate_rk4(xi: torch.Tensor, z0: torch.Tensor, t: torch.Tensor, library: str,
                  substeps: int = 10) -> torch.Tensor:
    """Classical RK4 for dz/dt = Theta(z) Xi with ``substeps`` steps per interval."""
    h = _check_grid(t) / substeps
    z = z0
    out = [z]
    for _ in range(t.numel() - 1):
        for _ in range(substeps):
            k1 = rhs(z, xi, library)
            k2 = rhs(z + 0.5 * h * k1, xi, library)
            k3 = rhs(z + 0.5 * h * k2, xi, library)
            k4 = rhs(z + h * k3, xi, library)
            z = z + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(z)
    return torch.stack(out, dim=-2)


def detect_blowup(z: torch.Tensor, threshold: float):
    """First time index at which a trajectory blows up, -1 where none does.

    ``z : (..., time, N_z)``; returns ``(z_masked, step)`` with states from the
    blow-up on set to NaN and ``step : (...)`` (int64).
    """
    bad = ~torch.isfinite(z).all(dim=-1) | (z.abs().amax(dim=-1) > threshold)
    after = torch.cumsum(bad.to(torch.int64), dim=-1) > 0
    step = torch.where(after.any(dim=-1), after.to(torch.int64).argmax(dim=-1),
                       torch.full(after.shape[:-1], -1, dtype=torch.int64, device=z.device))
    z = z.masked_fill(after.unsqueeze(-1), float("nan"))
    return z, step


def integrate(xi: torch.Tensor, z0: torch.Tensor, t: torch.Tensor, library: str = "linear",
              blowup_threshold: float = 1e6):
    """Latent rollout for every leading index; returns ``(z, blowup_step)``.

    ``xi : (..., term, N_z)``, ``z0 : (..., N_z)``, ``t : (time,)``.
    """
    if library == "linear":
        z = integrate_linear(xi, z0, t)
    else:
        with torch.no_grad():
            z = integrate_rk4(xi, z0, t, library)
    return detect_blowup(z, blowup_threshold)


def _chunks(n_param: int, n_time: int, n_u: int, n_stage: int, budget: float = 2.5e8):
    """Parameter slices whose float64 stage sums (stage, p, time, N_u) stay within
    ``budget`` bytes per array."""
    size = max(1, int(budget // (8 * max(1, n_stage * n_time * n_u))))
    return [slice(i, min(i + size, n_param)) for i in range(0, n_param, size)]


def _relative(diff: torch.Tensor, norm: torch.Tensor) -> torch.Tensor:
    """||diff|| / ||u|| over the state axis; ``norm`` is ||u|| (0 -> absolute)."""
    num = torch.linalg.vector_norm(diff.double(), dim=-1)
    return num / torch.where(norm > 0, norm, torch.ones_like(norm))


def predict(fom, coefficients, states, *, blowup_threshold: float = 1e6, device="cpu",
            store_states: bool = True, config=None, log=None):
    """Roll out and decode every parameter of ``fom``, every stage (eq. 19), and
    measure the prediction against the FOM.

    The latent ODE starts from the encoded initial state z0 = E(u(0; mu)) and
    uses the GP mean coefficients for the prediction; each GP sample is rolled
    out too and the spread is the standard deviation over the samples that
    did not blow up.  Parameters are processed a chunk at a time, so memory
    stays bounded at any number of parameters.

    Returns ``(prediction, errors)``: a 'prediction' dataset with ``z_pred``,
    ``blowup_step`` (-1: none), ``blowup_fraction`` of the samples and, with
    ``store_states``, the states ``u_pred, u_spread : (stage, param, time,
    *space)``; an 'errors' dataset with ``rel_error`` (||u - u~|| / ||u||),
    ``rel_spread`` (||sigma|| / ||u||), both ``(stage, param, time)``,
    ``max_rel_error`` (eq. 25), ``min_rel_error_over_time`` and
    ``max_rel_spread``, each ``(stage, param)``.
    """
    import numpy as np
    import xarray as xr

    from romflow import io
    from romflow.lasdi.stages import compose, load_stages

    modules, scales = load_stages(states, device)
    library = states[0]["library"]
    space = fom["u"].dims[2:]
    shape = fom["u"].shape
    n_param, n_time = shape[0], shape[1]
    u_all = fom["u"].values.reshape(n_param, n_time, -1)
    t = torch.tensor(np.asarray(fom[io.TIME].values), dtype=torch.float64, device=device)
    n_stage, n_samples = len(modules), coefficients.sizes[io.SAMPLE]
    xi_mean = torch.as_tensor(coefficients["xi_mean"].values, dtype=torch.float64)
    xi_samples = torch.as_tensor(coefficients["xi_samples"].values, dtype=torch.float64)

    def decode(xi, z0):
        z, step = integrate(xi.to(device), z0, t, library, blowup_threshold)
        return z, step, compose([m.decode(z.float()) for m in modules], scales)

    z_out = np.empty((n_param, n_time, int(states[0]["kwargs"]["latent"])), np.float32)
    steps = np.empty(n_param, np.int64)
    fraction = np.zeros(n_param)
    rel = np.empty((n_stage, n_param, n_time))
    spread_rel = np.full((n_stage, n_param, n_time), np.nan)
    full = (n_stage, *shape)
    u_pred = np.empty(full, np.float32) if store_states else None
    u_spread = np.empty(full, np.float32) if store_states else None
    with torch.no_grad():
        for part in _chunks(n_param, n_time, u_all.shape[-1], n_stage):
            u = torch.as_tensor(u_all[part], dtype=torch.float32, device=device)
            norm = torch.linalg.vector_norm(u.double(), dim=-1)
            z0 = modules[0].encode(u[:, 0]).double()
            z, step, mean = decode(xi_mean[part], z0)
            total = torch.zeros_like(mean, dtype=torch.float64)
            total_sq = torch.zeros_like(total)
            count = torch.zeros(mean.shape[1], dtype=torch.float64, device=device)
            for xi in xi_samples[:, part]:
                _, s_step, pred = decode(xi, z0)
                ok = s_step < 0
                pred = torch.where(ok[None, :, None, None], pred.double(), 0.0)
                total += pred
                total_sq += pred**2
                count += ok
            c = count[None, :, None, None]
            var = (total_sq - total**2 / c.clamp(min=1)) / (c - 1).clamp(min=1)
            spread = torch.where(c > 1, var.clamp(min=0).sqrt(), float("nan"))
            err = _relative(mean - u, norm)
            rel[:, part] = torch.where(torch.isnan(err), float("inf"), err).cpu().numpy()
            spread_rel[:, part] = _relative(spread, norm).cpu().numpy()
            z_out[part] = z.float().cpu().numpy()
            steps[part] = step.cpu().numpy()
            fraction[part] = (1 - count.cpu().numpy() / n_samples) if n_samples else 0.0
            if store_states:
                u_pred[:, part] = mean.cpu().numpy().reshape(n_stage, -1, *shape[1:])
                u_spread[:, part] = spread.float().cpu().numpy().reshape(n_stage, -1,
                                                                         *shape[1:])
            if log is not None:
                log(f"predicted parameters {part.start + 1}-{part.stop} of {n_param}")
    coords = {c: fom[c] for c in fom.coords}
    coords[io.STAGE] = np.arange(1, n_stage + 1)
    units = fom["u"].attrs.get("units", "1")
    data = {
        "z_pred": io.variable((io.PARAM, io.TIME, io.LATENT), z_out, units="1",
                              long_name="latent trajectory, GP mean coefficients",
                              nonfinite_means="NaN from blowup_step on"),
        "blowup_step": io.variable((io.PARAM,), steps, units="1",
                                   long_name="time index of latent blow-up (-1: none)"),
        "blowup_fraction": io.variable((io.PARAM,), fraction, units="1",
                                       long_name="fraction of GP samples that blew up")}
    if store_states:
        dims = (io.STAGE, io.PARAM, io.TIME, *space)
        data["u_pred"] = io.variable(dims, u_pred, units=units, nonfinite_means="NaN from "
                                     "blowup_step on", long_name="mLaSDI prediction through "
                                     "each stage, eq. (19)")
        data["u_spread"] = io.variable(dims, u_spread, units=units,
                                       long_name="std over GP samples of the prediction",
                                       nonfinite_means="NaN where fewer than 2 samples "
                                       "stayed finite")
    scheme = "closed form (matrix exponential)" if library == "linear" else "RK4"
    attrs = dict(solver=f"latent ODE ({library} library)", scheme=scheme, config=config,
                 inputs=(coefficients, *states), parameters=fom.attrs["parameters"],
                 samples=n_samples)
    prediction = xr.Dataset(data, coords=coords,
                            attrs=io.provenance("prediction", fom.attrs["problem"],
                                                equation="eq. (19)", **attrs))
    inf = "inf: the rollout blew up at blowup_step"
    nan = "NaN where fewer than 2 GP samples stayed finite"
    ecoords = {c: fom[c] for c in fom[io.PARAM].coords}
    ecoords.update({io.STAGE: coords[io.STAGE], io.TIME: fom[io.TIME]})
    edims = (io.STAGE, io.PARAM)
    with np.errstate(invalid="ignore"):
        max_spread = np.where(np.isnan(spread_rel).all(-1), np.nan,
                              np.nanmax(np.where(np.isnan(spread_rel), -np.inf, spread_rel),
                                        axis=-1))
    errors = xr.Dataset(
        {"rel_error": io.variable((*edims, io.TIME), rel, units="1",
                                  long_name="relative l2 error ||u - u~|| / ||u||",
                                  nonfinite_means=inf),
         "max_rel_error": io.variable(edims, rel.max(axis=-1), units="1", nonfinite_means=inf,
                                      long_name="max over time of the relative error, "
                                      "eq. (25)"),
         "min_rel_error_over_time": io.variable(edims, rel.min(axis=-1), units="1",
                                                nonfinite_means=inf, long_name="min over "
                                                "time of the relative error"),
         "rel_spread": io.variable((*edims, io.TIME), spread_rel, units="1",
                                   nonfinite_means=nan, long_name="relative GP spread "
                                   "||sigma|| / ||u||, sigma the std over GP samples"),
         "max_rel_spread": io.variable(edims, max_spread, units="1", nonfinite_means=nan,
                                       long_name="max over time of the relative GP spread"),
         "blowup_step": prediction["blowup_step"],
         "blowup_fraction": prediction["blowup_fraction"]},
        coords=ecoords,
        attrs=io.provenance("errors", fom.attrs["problem"], equation="eq. (25)",
                            solver="numpy", scheme="l2 over space, max over time",
                            config=config, inputs=(fom, prediction),
                            parameters=fom.attrs["parameters"]))
    return prediction, errors
