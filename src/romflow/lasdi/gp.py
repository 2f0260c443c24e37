"""Gaussian-process interpolation of SINDy coefficients over the parameter space.

GPLaSDI (Bonneville et al.), as used in mLaSDI section 2.4: one
scikit-learn ``GaussianProcessRegressor`` per entry of Xi, Matern kernel with
nu = 1.5 times a constant, inputs scaled to the unit box of the training
parameters.  The predictive mean gives the coefficients of the reported
prediction; samples of the predictive distribution give its spread (eq. 15).
"""

from __future__ import annotations

import warnings

import numpy as np

from romflow.errors import NotFittedError

__all__ = ["CoefficientGP"]


class CoefficientGP:
    """One GP per coefficient, fitted on ``(param, d)`` inputs.

    Parameters
    ----------
    nu : float
        Smoothness of the Matern kernel (1.5 in the papers).
    alpha : float
        Jitter added to the kernel diagonal (interpolation: tiny).
    seed : int
        Seed of the optimizer restarts and of :meth:`sample`.
    """

    def __init__(self, nu: float = 1.5, alpha: float = 1e-10, n_restarts: int = 5,
                 seed: int = 0):
        self.nu = nu
        self.alpha = alpha
        self.n_restarts = n_restarts
        self.seed = seed

    def _scale(self, mu) -> np.ndarray:
        mu = np.atleast_2d(np.asarray(mu, float))
        if mu.shape[1] != self.lo_.size:
            raise ValueError(f"parameters have {mu.shape[1]} columns; the GP was fitted "
                             f"on {self.lo_.size}")
        return (mu - self.lo_) / self.width_

    def fit(self, mu, xi) -> "CoefficientGP":
        """Fit ``xi : (param, ...)`` at training parameters ``mu : (param, d)``."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern

        mu = np.atleast_2d(np.asarray(mu, float))
        if mu.shape[0] == 1 and np.asarray(xi).shape[0] != 1:
            mu = mu.T
        xi = np.asarray(xi, float)
        if xi.shape[0] != mu.shape[0]:
            raise ValueError(f"CoefficientGP.fit: {mu.shape[0]} parameter points but "
                             f"{xi.shape[0]} coefficient sets")
        self.lo_ = mu.min(axis=0)
        width = mu.max(axis=0) - self.lo_
        self.width_ = np.where(width > 0, width, 1.0)
        self.shape_ = xi.shape[1:]
        x = self._scale(mu)
        y = xi.reshape(xi.shape[0], -1)
        rng = np.random.RandomState(self.seed)
        self.models_ = []
        with warnings.catch_warnings():
            # Two or three training points make the marginal likelihood flat; the
            # optimizer then stops at a bound, which is expected and harmless here.
            warnings.simplefilter("ignore", ConvergenceWarning)
            for j in range(y.shape[1]):
                kernel = ConstantKernel(1.0, (1e-6, 1e6)) * Matern(
                    length_scale=np.ones(x.shape[1]), length_scale_bounds=(1e-2, 1e2),
                    nu=self.nu)
                gp = GaussianProcessRegressor(kernel, alpha=self.alpha, normalize_y=True,
                                              n_restarts_optimizer=self.n_restarts,
                                              random_state=rng.randint(2**31 - 1))
                self.models_.append(gp.fit(x, y[:, j]))
        return self

    def _require_fit(self):
        if not hasattr(self, "models_"):
            raise NotFittedError("CoefficientGP: call fit(mu, xi) before predict/sample")

    def predict(self, mu):
        """Predictive mean and std, each ``(param, ...)`` shaped like the fitted xi."""
        self._require_fit()
        x = self._scale(mu)
        mean = np.empty((x.shape[0], len(self.models_)))
        std = np.empty_like(mean)
        for j, gp in enumerate(self.models_):
            mean[:, j], std[:, j] = gp.predict(x, return_std=True)
        shape = (x.shape[0], *self.shape_)
        return mean.reshape(shape), std.reshape(shape)

    def sample(self, mu, n: int):
        """``n`` joint samples over the given parameters: ``(n, param, ...)``."""
        self._require_fit()
        x = self._scale(mu)
        out = np.empty((n, x.shape[0], len(self.models_)))
        for j, gp in enumerate(self.models_):
            out[:, :, j] = gp.sample_y(x, n, random_state=self.seed + j).T
        return out.reshape(n, x.shape[0], *self.shape_)


def interpolate(fom, latent, *, samples: int = 20, seed: int = 0, config=None):
    """GP-interpolate the training coefficients to every parameter of ``fom``.

    Returns a 'coefficients' dataset: ``xi_mean``, ``xi_std : (param, term,
    latent)`` and ``xi_samples : (sample, param, term, latent)``.
    """
    import xarray as xr

    from romflow import io

    gp = CoefficientGP(seed=seed).fit(io.parameter_values(latent), latent["xi"].values)
    mu = io.parameter_values(fom)
    mean, std = gp.predict(mu)
    draws = gp.sample(mu, samples)
    dims = (io.PARAM, io.TERM, io.LATENT)
    coords = {c: fom[c] for c in fom[io.PARAM].coords}
    coords[io.TERM] = latent[io.TERM]
    return xr.Dataset(
        {"xi_mean": io.variable(dims, mean, units="1", long_name="GP mean of Xi, eq. (15)"),
         "xi_std": io.variable(dims, std, units="1", long_name="GP std of Xi, eq. (15)"),
         "xi_samples": io.variable((io.SAMPLE, *dims), draws, units="1",
                                   long_name="samples of the GP predictive distribution")},
        coords=coords,
        attrs=io.provenance("coefficients", fom.attrs["problem"],
                            equation="GP interpolation of Xi over the parameter space",
                            solver="scikit-learn GaussianProcessRegressor",
                            scheme="Matern nu=1.5 x constant, inputs scaled to the unit box",
                            config=config, model=latent.attrs.get("model", ""),
                            parameters=fom.attrs["parameters"]))
