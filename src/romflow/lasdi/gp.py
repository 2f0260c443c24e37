"""Gaussian-process interpolation of SINDy coefficients over the parameter space.

GPLaSDI (Bonneville et al.), as used in mLaSDI section 2.4: one
scikit-learn ``GaussianProcessRegressor`` per entry of Xi, a constant times a
stationary kernel on the parameters.  Two readings (:data:`KERNELS`):

- ``rbf``: GPLaSDI's code (``src/lasdi/gp.py``): ``ConstantKernel() * RBF``
  with one length scale bounded to [0.1, 1e5], raw parameters, no output
  normalization, 10 optimizer restarts;
- ``matern``: the mLaSDI paper's text, eq. (20): a Matern kernel with
  nu = 1.5 (``nu``) in place of the RBF, everything else as GPLaSDI's.

``scale_inputs`` maps the parameters to the unit box of the training points
first (off in both readings).  The predictive mean gives the coefficients of
the reported prediction; samples of the predictive distribution give its
spread (eq. 15).
"""

from __future__ import annotations

import warnings

import numpy as np

from romflow.errors import ConfigError, NotFittedError

__all__ = ["KERNELS", "CoefficientGP", "interpolate"]

KERNELS = ("rbf", "matern")


class CoefficientGP:
    """One GP per coefficient, fitted on ``(param, d)`` inputs.

    Parameters
    ----------
    kernel : {"rbf", "matern"}
        GPLaSDI's code or the mLaSDI paper (module docstring).
    nu : float
        Smoothness of the Matern kernel (1.5 in the mLaSDI paper).
    scale_inputs : bool
        Scale the parameters to the unit box of the training points.
    alpha : float
        Jitter added to the kernel diagonal (interpolation: tiny).
    n_restarts : int
        Restarts of the marginal-likelihood optimizer (GPLaSDI: 10).
    seed : int
        Seed of the optimizer restarts and of :meth:`sample`.
    """

    def __init__(self, kernel: str = "rbf", nu: float = 1.5, scale_inputs: bool = False,
                 alpha: float = 1e-10, n_restarts: int = 10, seed: int = 0):
        if kernel not in KERNELS:
            raise ConfigError(f"GP kernel {kernel!r} is invalid; allowed: one of "
                              f"{list(KERNELS)}")
        self.kernel = kernel
        self.nu = nu
        self.scale_inputs = scale_inputs
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
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern

        mu = np.atleast_2d(np.asarray(mu, float))
        if mu.shape[0] == 1 and np.asarray(xi).shape[0] != 1:
            mu = mu.T
        xi = np.asarray(xi, float)
        if xi.shape[0] != mu.shape[0]:
            raise ValueError(f"CoefficientGP.fit: {mu.shape[0]} parameter points but "
                             f"{xi.shape[0]} coefficient sets")
        if self.scale_inputs:
            self.lo_ = mu.min(axis=0)
            width = mu.max(axis=0) - self.lo_
            self.width_ = np.where(width > 0, width, 1.0)
        else:
            self.lo_, self.width_ = np.zeros(mu.shape[1]), np.ones(mu.shape[1])
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
                shape = (Matern(length_scale_bounds=(0.1, 1e5), nu=self.nu)
                         if self.kernel == "matern" else RBF(length_scale_bounds=(0.1, 1e5)))
                gp = GaussianProcessRegressor(ConstantKernel() * shape, alpha=self.alpha,
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


def interpolate(fom, latent, *, samples: int = 20, seed: int = 0, kernel: str = "rbf",
                nu: float = 1.5, scale_inputs: bool = False, config=None):
    """GP-interpolate the training coefficients to every parameter of ``fom``.

    Returns a 'coefficients' dataset: ``xi_mean``, ``xi_std : (param, term,
    latent)`` and ``xi_samples : (sample, param, term, latent)``.
    """
    import xarray as xr

    from romflow import io

    gp = CoefficientGP(kernel, nu, scale_inputs, seed=seed).fit(io.parameter_values(latent),
                                                               latent["xi"].values)
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
                            scheme=(f"constant x {kernel}" + (f" nu={nu:g}" if kernel == "matern"
                                                               else "") + (", inputs scaled to "
                                    "the unit box" if scale_inputs else ", raw inputs")),
                            config=config, inputs=(fom, latent),
                            parameters=fom.attrs["parameters"]))
