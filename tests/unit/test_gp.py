"""Tests of romflow.lasdi.gp: GP interpolation of SINDy coefficients (GPLaSDI, eq. 15)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from romflow import io
from romflow.errors import NotFittedError
from romflow.lasdi.gp import CoefficientGP, interpolate


@pytest.fixture(scope="module")
def fitted():
    """A GP on 4 points of a 2-D parameter space, coefficients shaped (term=3, latent=2)."""
    rng = np.random.default_rng(0)
    mu = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [1.0, 2.0]])
    xi = 10.0 * rng.standard_normal((4, 3, 2))
    return mu, xi, CoefficientGP(seed=0).fit(mu, xi)


def test_reproduces_training_points(fitted):
    """Reference: a GP with jitter alpha = 1e-10 interpolates its data (posterior std ~ 0)."""
    mu, xi, gp = fitted
    mean, std = gp.predict(mu)
    scale = np.abs(xi).max()
    np.testing.assert_allclose(mean, xi, rtol=0, atol=1e-6 * scale)
    assert std.max() < 1e-4 * scale, f"std at training points {std.max():.3e}"


def test_predict_shapes(fitted):
    mu, xi, gp = fitted
    new = np.array([[0.5, 1.0], [0.2, 0.3], [0.9, 1.9]])
    mean, std = gp.predict(new)
    assert mean.shape == std.shape == (3, *xi.shape[1:])
    assert (std > 0).all()
    assert np.isfinite(mean).all()


def test_sample_shape_and_training_points(fitted):
    mu, xi, gp = fitted
    draws = gp.sample(mu, 5)
    assert draws.shape == (5, *xi.shape)
    scale = np.abs(xi).max()
    np.testing.assert_allclose(draws, np.broadcast_to(xi, draws.shape), rtol=0,
                               atol=1e-4 * scale)


def test_samples_spread_like_std_between_points(fitted):
    _, _, gp = fitted
    new = np.array([[0.5, 1.0]])
    mean, std = gp.predict(new)
    draws = gp.sample(new, 400)
    assert draws.shape == (400, 1, 3, 2)
    # 400 draws: the sample std is within ~15 % of the predictive std (chi distribution)
    np.testing.assert_allclose(draws.std(axis=0), std, rtol=0.2)
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.3 * std.max())


def test_sample_is_reproducible(fitted):
    mu, _, gp = fitted
    np.testing.assert_array_equal(gp.sample(mu + 0.25, 3), gp.sample(mu + 0.25, 3))


def test_interpolates_smooth_function_between_points():
    """Reference: f(x) = sin(x) on [0, 1]; piecewise-linear interpolation of 5 points errs by
    h^2/8 max|f''| ~ 6.6e-3 at the midpoints; the Matern-1.5 GP must do better, < 1e-2."""
    x = np.linspace(0.0, 1.0, 5)[:, None]
    gp = CoefficientGP().fit(x, np.sin(x)[:, :, None])
    mid = 0.5 * (x[1:] + x[:-1])
    mean, _ = gp.predict(mid)
    err = np.abs(mean[:, 0, 0] - np.sin(mid[:, 0])).max()
    linear = np.abs(0.5 * (np.sin(x[1:, 0]) + np.sin(x[:-1, 0])) - np.sin(mid[:, 0])).max()
    assert err < 1e-2 and err < linear, f"GP error {err:.3e}, linear interpolation {linear:.3e}"


def test_one_dimensional_parameter_row_is_accepted():
    # mu given as one row of d = 1 parameters (1, param) is read as (param, 1).
    xi = np.arange(6.0).reshape(3, 2, 1)
    gp = CoefficientGP().fit(np.array([1.0, 1.5, 2.0]), xi)
    mean, _ = gp.predict(np.array([[1.0], [1.5], [2.0]]))
    np.testing.assert_allclose(mean, xi, atol=1e-6)


def test_errors():
    with pytest.raises(NotFittedError, match="call fit"):
        CoefficientGP().predict(np.zeros((1, 1)))
    with pytest.raises(NotFittedError, match="call fit"):
        CoefficientGP().sample(np.zeros((1, 1)), 2)
    with pytest.raises(ValueError, match="3 parameter points but 2 coefficient sets"):
        CoefficientGP().fit(np.zeros((3, 1)), np.zeros((2, 4)))
    gp = CoefficientGP().fit(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[1.0], [2.0]]))
    with pytest.raises(ValueError, match="3 columns; the GP was fitted on 2"):
        gp.predict(np.zeros((1, 3)))


def test_interpolate_on_hand_made_latent_dataset(toy_fom):
    """A 'latent' file made by hand: Xi linear in A, so the GP mean at the test A = 1.2
    must lie between the training values and reproduce the training values exactly."""
    train = toy_fom.sel({io.PARAM: toy_fom[io.SPLIT] == "train"})
    A = train["A"].values
    nt, latent, terms = toy_fom.sizes[io.TIME], 2, 3
    xi = np.stack([a * np.arange(terms * latent, dtype=float).reshape(terms, latent) + 1.0
                   for a in A])
    z = np.zeros((len(A), nt, latent))
    dims = (io.PARAM, io.TIME, io.LATENT)
    ds = xr.Dataset(
        {"z": io.variable(dims, z, units="1", long_name="z"),
         "z_sindy": io.variable(dims, z, units="1", long_name="z^"),
         "xi": io.variable((io.PARAM, io.TERM, io.LATENT), xi, units="1", long_name="Xi")},
        coords={"A": train["A"], io.SPLIT: train[io.SPLIT], io.TIME: toy_fom[io.TIME],
                io.TERM: ["1", "z0", "z1"]},
        attrs=io.provenance("latent", "toy", equation="dz/dt = Theta(z) Xi", solver="hand",
                            scheme="hand", parameters="A", model="hand"))
    io.validate(ds, "latent")
    coef = interpolate(toy_fom, ds, samples=4, seed=1)
    io.validate(coef, "coefficients")
    assert coef["xi_mean"].shape == (3, terms, latent)
    assert coef["xi_std"].shape == (3, terms, latent)
    assert coef["xi_samples"].shape == (4, 3, terms, latent)
    assert list(coef[io.TERM].values) == ["1", "z0", "z1"]
    np.testing.assert_array_equal(coef["A"].values, toy_fom["A"].values)
    assert list(coef[io.SPLIT].values) == ["train", "train", "test"]
    assert coef.attrs["config_digest"] == io.upstream_digest({}, toy_fom, ds)
    mean = coef["xi_mean"].values
    np.testing.assert_allclose(mean[:2], xi, atol=1e-6 * np.abs(xi).max())
    lo, hi = np.minimum(xi[0], xi[1]), np.maximum(xi[0], xi[1])
    assert ((mean[2] >= lo - 1e-9) & (mean[2] <= hi + 1e-9)).all()


def test_interpolate_after_stage1_fit(stage1_fit, stage1_coefficients):
    fom, spec, _, latent, _ = stage1_fit
    coef = stage1_coefficients
    io.validate(coef, "coefficients")
    assert coef["xi_samples"].shape == (3, fom.sizes[io.PARAM], 1 + spec.latent, spec.latent)
    np.testing.assert_allclose(coef["xi_mean"].values[:2], latent["xi"].values,
                               atol=1e-5 * np.abs(latent["xi"].values).max())
