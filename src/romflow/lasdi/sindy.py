"""Latent dynamics identification by least squares (SINDy with a dense library).

For every parameter i, the latent trajectory Z^(i) : (time, N_z) obeys

    dZ/dt ~ Theta(Z) Xi^(i)                                   (eq. 8)

with the linear library Theta(Z) = (1, Z) so that Xi = (b, A)^T and
dz/dt = b + A z (eq. 9), or the linear library plus the pure quadratic
terms z_i^2 (appendix B).  Xi^(i) solves the least-squares problem (10);
all parameters are solved in one batched ``torch.linalg.lstsq`` call.
dZ/dt comes from finite differences (:data:`DERIVATIVES`): ``sbp12``, central
inside and first-order one-sided at both ends (GPLaSDI's ``fd.py``, its
default), or ``central2``, second-order one-sided ends.
Coefficients are stored as ``xi : (param, term, latent)``: ``xi[:, 0]`` is b,
``xi[:, 1:N_z+1]`` is A^T, ``xi[:, N_z+1:]`` the quadratic weights.
"""

from __future__ import annotations

import torch

from romflow.errors import ConfigError, NotFittedError

__all__ = ["LIBRARIES", "DERIVATIVES", "PENALTIES", "NORMS", "n_terms", "term_names",
           "library", "time_derivative", "rhs", "SINDy"]

LIBRARIES = ("linear", "quadratic")
#: Finite-difference schemes of dZ/dt (see :func:`time_derivative`).
DERIVATIVES = ("sbp12", "central2")
#: Coefficient penalties of the stage-1 loss (see :meth:`SINDy.coef_penalty`).
PENALTIES = ("norm", "squared")
#: Norms of one parameter's Xi in the ``norm`` penalty.
NORMS = ("fro", "l1")


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


def time_derivative(z: torch.Tensor, dt: float, scheme: str = "central2") -> torch.Tensor:
    """Finite differences along the time axis (dim -2), ``z : (..., time, N_z)``.

    Central differences (z_{j+1} - z_{j-1}) / 2 dt inside.  At the two ends,
    ``central2``: second-order one-sided (-3 z_0 + 4 z_1 - z_2) / 2 dt and its
    mirror; ``sbp12``: first-order (z_1 - z_0) / dt and (z_n - z_{n-1}) / dt, the
    summation-by-parts operator SBP 1-2 of GPLaSDI's ``fd.py`` (its default).
    """
    if scheme not in DERIVATIVES:
        raise ConfigError(f"derivative scheme {scheme!r} is invalid; allowed: one of "
                          f"{list(DERIVATIVES)}")
    if z.shape[-2] < 3:
        raise ValueError(f"time_derivative needs at least 3 times, got {z.shape[-2]}")
    inner = (z[..., 2:, :] - z[..., :-2, :]) / (2 * dt)
    if scheme == "sbp12":
        first = (z[..., 1:2, :] - z[..., :1, :]) / dt
        last = (z[..., -1:, :] - z[..., -2:-1, :]) / dt
    else:
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
    derivative : {"central2", "sbp12"}
        Finite differences of dZ/dt (:func:`time_derivative`).

    Attributes
    ----------
    coef_ : torch.Tensor, ``(param, term, latent)``
        Fitted Xi (differentiable with respect to the latent trajectories).
    """

    def __init__(self, library: str = "linear", derivative: str = "central2"):
        _check_library(library)
        if derivative not in DERIVATIVES:
            raise ConfigError(f"derivative scheme {derivative!r} is invalid; allowed: one of "
                              f"{list(DERIVATIVES)}")
        self.library = library
        self.derivative = derivative

    def fit(self, z: torch.Tensor, dt: float) -> "SINDy":
        """Fit Xi for every leading index of ``z : (param, time, N_z)``; returns self."""
        theta = library(z, self.library)
        self.dzdt_ = time_derivative(z, dt, self.derivative)
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

    def coef_penalty(self, kind: str = "norm", norm: str = "fro") -> torch.Tensor:
        """The coefficient term of the stage-1 loss (multiplied by beta2 there).

        ``norm``: mean over parameters i of ||Xi_i||, unsquared, Frobenius
        (``fro``, GPLaSDI's examples) or entrywise l1 (``l1``, GPLaSDI's default),
        as GPLaSDI's ``gplasdi.py`` / ``sindy.py`` compute it.  ``squared``:
        ||Xi||^2 summed over all parameters, eq. (14) of the mLaSDI paper as
        written (:meth:`coef_norm2`).
        """
        self._require_fit()
        if kind == "squared":
            return self.coef_norm2()
        if kind != "norm":
            raise ConfigError(f"coefficient penalty {kind!r} is invalid; allowed: one of "
                              f"{list(PENALTIES)}")
        flat = self.coef_.flatten(-2)
        if norm == "fro":
            per = torch.linalg.vector_norm(flat, 2, dim=-1)
        elif norm == "l1":
            per = torch.linalg.vector_norm(flat, 1, dim=-1)
        else:
            raise ConfigError(f"coefficient norm {norm!r} is invalid; allowed: one of "
                              f"{list(NORMS)}")
        return per.mean()
