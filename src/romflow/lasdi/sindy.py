"""Latent dynamics identification by least squares (SINDy with a dense library).

For every parameter i, the latent trajectory Z^(i) : (time, N_z) obeys

    dZ/dt ~ Theta(Z) Xi^(i)                                   (eq. 8)

with the linear library Theta(Z) = (1, Z) so that Xi = (b, A)^T and
dz/dt = b + A z (eq. 9), or the linear library plus the pure quadratic
terms z_i^2 (appendix B).  Xi^(i) solves the least-squares problem (10);
all parameters are solved in one batched ``torch.linalg.lstsq`` call.
Coefficients are stored as ``xi : (param, term, latent)``: ``xi[:, 0]`` is b,
``xi[:, 1:N_z+1]`` is A^T, ``xi[:, N_z+1:]`` the quadratic weights.
"""

from __future__ import annotations

import torch

from romflow.errors import ConfigError, NotFittedError

__all__ = ["LIBRARIES", "n_terms", "term_names", "library", "time_derivative", "rhs", "SINDy"]

LIBRARIES = ("linear", "quadratic")


def _check_library(kind: str) -> None:
    if kind not in LIBRARIES:
        raise ConfigError(f"SINDy library {kind!r} is invalid; allowed: one of {list(LIBRARIES)}")


def n_terms(latent: int, kind: str = "linear") -> int:
    """Number of library terms: 1 + N_z (linear) or 1 + 2 N_z (quadratic)."""
    _check_library(kind)
    return 1 + latent * (2 if kind == "quadratic" else 1)


def term_names(latent: int, kind: str = "linear") -> list[str]:
    """Readable names of the library terms, e.g. ``['1', 'z0', 'z1', 'z0^2', ...]``."""
    _check_library(kind)
    names = ["1"] + [f"z{i}" for i in range(latent)]
    if kind == "quadratic":
        names += [f"z{i}^2" for i in range(latent)]
    return names


def library(z: torch.Tensor, kind: str = "linear") -> torch.Tensor:
    """Theta(z): ``z : (..., N_z)`` -> ``(..., n_terms)``."""
    _check_library(kind)
    parts = [torch.ones_like(z[..., :1]), z]
    if kind == "quadratic":
        parts.append(z * z)
    return torch.cat(parts, dim=-1)


def time_derivative(z: torch.Tensor, dt: float) -> torch.Tensor:
    """Second-order finite differences along the time axis (dim -2).

    Central differences inside, second-order one-sided differences at both
    ends; ``z : (..., time, N_z)`` with at least 3 times.
    """
    if z.shape[-2] < 3:
        raise ValueError(f"time_derivative needs at least 3 times, got {z.shape[-2]}")
    inner = (z[..., 2:, :] - z[..., :-2, :]) / (2 * dt)
    first = (-3 * z[..., :1, :] + 4 * z[..., 1:2, :] - z[..., 2:3, :]) / (2 * dt)
    last = (3 * z[..., -1:, :] - 4 * z[..., -2:-1, :] + z[..., -3:-2, :]) / (2 * dt)
    return torch.cat([first, inner, last], dim=-2)


def rhs(z: torch.Tensor, xi: torch.Tensor, kind: str = "linear") -> torch.Tensor:
    """dz/dt = Theta(z) Xi: ``z : (..., N_z)``, ``xi : (..., n_terms, N_z)``."""
    return (library(z, kind).unsqueeze(-2) @ xi).squeeze(-2)


class SINDy:
    """Batched least-squares fit of eq. (10) over the leading (parameter) axes.

    Parameters
    ----------
    library : {"linear", "quadratic"}
        Feature library Theta.

    Attributes
    ----------
    coef_ : torch.Tensor, ``(param, term, latent)``
        Fitted Xi (differentiable with respect to the latent trajectories).
    """

    def __init__(self, library: str = "linear"):
        _check_library(library)
        self.library = library

    def fit(self, z: torch.Tensor, dt: float) -> "SINDy":
        """Fit Xi for every leading index of ``z : (param, time, N_z)``; returns self."""
        theta = library(z, self.library)
        self.dzdt_ = time_derivative(z, dt)
        self.theta_ = theta
        if not torch.isfinite(theta).all():
            # LAPACK rejects non-finite input with an internal assert; let the NaN
            # reach the loss instead, where training reports it by iteration.
            self.coef_ = torch.full((*theta.shape[:-2], theta.shape[-1], z.shape[-1]),
                                    float("nan"), dtype=z.dtype, device=z.device)
            return self
        # CPU: gelsd (SVD) is bitwise reproducible; the default gelsy is not from
        # one call to the next.  CUDA offers gels only.
        driver = "gelsd" if theta.device.type == "cpu" else "gels"
        self.coef_ = torch.linalg.lstsq(theta, self.dzdt_, driver=driver).solution
        return self

    def _require_fit(self):
        if not hasattr(self, "coef_"):
            raise NotFittedError("SINDy: call fit(z, dt) before using the coefficients")

    def residual_loss(self) -> torch.Tensor:
        """L_DI of eq. (13): mean squared misfit of dZ/dt by Theta Xi."""
        self._require_fit()
        return torch.mean((self.dzdt_ - self.theta_ @ self.coef_) ** 2)

    def coef_norm2(self) -> torch.Tensor:
        """||Xi||^2 of eq. (14), summed over all parameters."""
        self._require_fit()
        return torch.sum(self.coef_**2)
