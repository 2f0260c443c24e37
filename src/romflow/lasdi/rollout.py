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


def predict(fom, coefficients, states, *, blowup_threshold: float = 1e6, device="cpu",
            config=None):
    """Roll out and decode every parameter of ``fom``, every stage (eq. 19).

    The latent ODE starts from the encoded initial state z0 = E(u(0; mu)) and
    uses the GP mean coefficients for ``u_pred``; each GP sample is rolled out
    too and ``u_spread`` is the standard deviation over the samples that did
    not blow up.  Returns a 'prediction' dataset with ``u_pred, u_spread :
    (stage, param, time, *space)``, ``z_pred``, ``blowup_step`` (-1: none) and
    ``blowup_fraction`` of the samples.
    """
    import numpy as np
    import xarray as xr

    from romflow import io
    from romflow.lasdi.stages import compose, load_stages

    modules, scales = load_stages(states, device)
    library = states[0]["library"]
    space = fom["u"].dims[2:]
    shape = fom["u"].shape
    u0 = torch.as_tensor(fom["u"].values[:, 0].reshape(shape[0], -1), dtype=torch.float32,
                         device=device)
    t = torch.tensor(np.asarray(fom[io.TIME].values), dtype=torch.float64, device=device)

    def decode(xi):
        xi = torch.as_tensor(xi, dtype=torch.float64, device=device)
        z, step = integrate(xi, z0.double(), t, library, blowup_threshold)
        zf = z.float()
        return z, step, compose([m.decode(zf) for m in modules], scales)

    with torch.no_grad():
        z0 = modules[0].encode(u0)
        z, step, mean = decode(coefficients["xi_mean"].values)
        total = torch.zeros_like(mean, dtype=torch.float64)
        total_sq = torch.zeros_like(total)
        count = torch.zeros(mean.shape[1], dtype=torch.float64, device=device)
        for xi in coefficients["xi_samples"].values:
            _, s_step, pred = decode(xi)
            ok = s_step < 0
            pred = torch.where(ok[None, :, None, None], pred.double(), 0.0)
            total += pred
            total_sq += pred**2
            count += ok
        c = count[None, :, None, None]
        var = (total_sq - total**2 / c.clamp(min=1)) / (c - 1).clamp(min=1)
        spread = torch.where(c > 1, var.clamp(min=0).sqrt(), float("nan"))
    n_stage = len(modules)
    full = (n_stage, *shape)
    dims = (io.STAGE, io.PARAM, io.TIME, *space)
    coords = {c: fom[c] for c in fom.coords}
    coords[io.STAGE] = np.arange(1, n_stage + 1)
    n_samples = coefficients.sizes[io.SAMPLE]
    return xr.Dataset(
        {"u_pred": io.variable(dims, mean.cpu().numpy().reshape(full),
                               units=fom["u"].attrs.get("units", "1"),
                               long_name="mLaSDI prediction through each stage, eq. (19)",
                               nonfinite_means="NaN from blowup_step on"),
         "u_spread": io.variable(dims, spread.float().cpu().numpy().reshape(full),
                                 units=fom["u"].attrs.get("units", "1"),
                                 long_name="std over GP samples of the prediction",
                                 nonfinite_means="NaN where fewer than 2 samples stayed finite"),
         "z_pred": io.variable((io.PARAM, io.TIME, io.LATENT), z.float().cpu().numpy(),
                               units="1", long_name="latent trajectory, GP mean coefficients",
                               nonfinite_means="NaN from blowup_step on"),
         "blowup_step": io.variable((io.PARAM,), step.cpu().numpy(), units="1",
                                    long_name="time index of latent blow-up (-1: none)"),
         "blowup_fraction": io.variable((io.PARAM,), 1 - count.cpu().numpy() / max(n_samples, 1)
                                        if n_samples else np.zeros(shape[0]),
                                        units="1", long_name="fraction of GP samples that "
                                        "blew up")},
        coords=coords,
        attrs=io.provenance("prediction", fom.attrs["problem"], equation="eq. (19)",
                            solver=f"latent ODE ({library} library)",
                            scheme="closed form (matrix exponential)" if library == "linear"
                            else "RK4", config=config, parameters=fom.attrs["parameters"],
                            samples=n_samples, model=coefficients.attrs.get("model", "")))
