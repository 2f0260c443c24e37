"""Convergence orders of the latent integrators (romflow.lasdi.rollout).

References: classical RK4 is 4th order; the closed-form linear rollout
(matrix exponential of the augmented matrix) is exact and serves as the
reference solution for the linear library, the analytic solution
z = z0 / (1 - z0 t) for dz/dt = z^2 (quadratic library).
"""

from __future__ import annotations

import numpy as np
import torch

from romflow.lasdi import rollout


def _order(errors, steps):
    return [float(np.log(errors[i] / errors[i + 1]) / np.log(steps[i] / steps[i + 1]))
            for i in range(len(errors) - 1)]


def test_rk4_fourth_order_on_linear_system():
    """Reference: integrate_linear (exact); RK4 error ~ h^4."""
    g = torch.Generator().manual_seed(0)
    latent = 3
    A = -0.3 * torch.eye(latent, dtype=torch.float64) + torch.randn(
        2, latent, latent, generator=g, dtype=torch.float64)
    b = torch.randn(2, 1, latent, generator=g, dtype=torch.float64)
    xi = torch.cat([b, A.transpose(-1, -2)], dim=-2)
    z0 = torch.randn(2, latent, generator=g, dtype=torch.float64)
    t = torch.linspace(0.0, 2.0, 11, dtype=torch.float64)
    exact = rollout.integrate_linear(xi, z0, t)
    subs = (1, 2, 4, 8)
    errors = [float((rollout.integrate_rk4(xi, z0, t, "linear", substeps=s) - exact)
                    .abs().max()) for s in subs]
    steps = [0.2 / s for s in subs]
    rates = _order(errors, steps)
    assert min(rates[1:]) > 3.8, f"expected order 4, measured {rates}, errors {errors}"


def test_rk4_fourth_order_on_quadratic_library():
    """Reference: dz/dt = -z^2 + 0 (library (1, z, z^2)) has z = z0 / (1 + z0 t)."""
    xi = torch.tensor([[[0.0], [0.0], [-1.0]]], dtype=torch.float64)
    z0 = torch.tensor([[2.0]], dtype=torch.float64)
    t = torch.linspace(0.0, 3.0, 7, dtype=torch.float64)
    exact = z0[:, None, :] / (1.0 + z0[:, None, :] * t[None, :, None])
    subs = (2, 4, 8, 16)
    errors = [float((rollout.integrate_rk4(xi, z0, t, "quadratic", substeps=s) - exact)
                    .abs().max()) for s in subs]
    rates = _order(errors, [0.5 / s for s in subs])
    assert min(rates[1:]) > 3.8, f"expected order 4, measured {rates}, errors {errors}"
