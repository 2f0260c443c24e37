"""Tests of romflow.fom.toy: the multiscale toy field, mLaSDI paper eq. (21)."""

from __future__ import annotations

import numpy as np
import pytest

from romflow import io
from romflow.errors import ConfigError
from romflow.fom import toy


@pytest.mark.parametrize("x, t, A, expected", [
    # f = A [sin(2x - t) + 0.1 cos((40x + 2t) sin t)] exp(-x^2), by hand:
    (0.0, 0.0, 2.0, 2.0 * 0.1),                                  # sin 0 + 0.1 cos 0
    (0.0, np.pi / 2, 1.0, -1.0 + 0.1 * np.cos(np.pi)),           # sin(-pi/2) + 0.1 cos(pi)
    (1.0, 0.0, 1.5, 1.5 * (np.sin(2.0) + 0.1) * np.exp(-1.0)),  # sin t = 0: cos 0 = 1
    (0.5, np.pi, 1.0, (np.sin(1.0 - np.pi) + 0.1) * np.exp(-0.25)),
])
def test_field_hand_computed_points(x, t, A, expected):
    assert toy.field(x, t, A) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_low_plus_high_frequency_is_field():
    x = np.linspace(-3, 3, 50)[None, :]
    t = np.linspace(0, 6, 30)[:, None]
    high = 1.3 * 0.1 * np.cos((40 * x + 2 * t) * np.sin(t)) * np.exp(-x**2)
    np.testing.assert_allclose(toy.low_frequency(x, t, 1.3) + high, toy.field(x, t, 1.3),
                               rtol=1e-13, atol=1e-15)
    # the high-frequency part really is 10 % of the amplitude, not zero
    assert np.abs(toy.field(x, t, 1.3) - toy.low_frequency(x, t, 1.3)).max() > 0.1


def test_field_is_linear_in_A():
    x, t = 0.37, 1.1
    assert toy.field(x, t, 3.0) == pytest.approx(3.0 * toy.field(x, t, 1.0), rel=1e-14)


def test_solve_dataset():
    ds = toy.solve([1.0, 1.4], [1.2], nx=12, nt=7, x_min=-2.0, x_max=2.0, t_end=3.0,
                   config={"k": 1})
    io.validate(ds, "fom")
    assert ds["u"].dims == (io.PARAM, io.TIME, "x")
    assert ds["u"].shape == (3, 7, 12)
    assert ds["u"].dtype == np.float32
    assert ds[io.SPLIT].values.tolist() == ["train", "train", "test"]
    np.testing.assert_array_equal(ds["A"].values, [1.0, 1.4, 1.2])
    np.testing.assert_allclose(ds["x"].values, np.linspace(-2, 2, 12))
    np.testing.assert_allclose(ds[io.TIME].values, np.linspace(0, 3, 7))
    assert io.parameter_names(ds) == ["A"]
    assert ds.attrs["equation"] == toy.EQUATION
    assert ds.attrs["config_digest"] == io.config_digest({"k": 1})
    x, t = np.meshgrid(ds["x"].values, ds[io.TIME].values)
    np.testing.assert_allclose(ds["u"].values[2], toy.field(x, t, 1.2), rtol=1e-6, atol=1e-7)


def test_solve_defaults_are_the_papers_grid():
    ds = toy.solve([1.0])
    assert ds["u"].shape == (1, 201, 600)
    assert ds["x"].values[0] == -3.0 and ds["x"].values[-1] == 3.0
    assert ds[io.TIME].values[-1] == pytest.approx(2 * np.pi)


@pytest.mark.parametrize("kwargs, match", [
    ({"nx": 1}, r"nx=1, nt=\d+ is invalid; allowed: integers >= 2"),
    ({"nt": 1}, r"nt=1 is invalid"),
    ({"x_min": 1.0, "x_max": 1.0}, r"\[1.0, 1.0\] is empty; allowed: x_min < x_max"),
    ({"x_min": 2.0, "x_max": -2.0}, r"\[2.0, -2.0\] is empty"),
    ({"t_end": 0.0}, r"t_end = 0.0 is invalid"),
])
def test_bad_grid_raises(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        toy.solve([1.0], **kwargs)


def test_nonfinite_amplitude_raises():
    with pytest.raises(ConfigError, match="amplitudes A = .*nan.* must be finite"):
        toy.solve([1.0, float("nan")])
