"""Tests of romflow.metrics: relative errors and eq. (25)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from romflow import io, metrics


def hand_case():
    """u : (param=1, time=2, x=2).  By hand:
    t0: u = (3, 4), |u| = 5, u~ = (3, 5): |u - u~| = 1 -> 0.2
    t1: u = (0, 2), |u| = 2, u~ = (1, 3): |u - u~| = sqrt(2) -> sqrt(2)/2
    """
    u = np.array([[[3.0, 4.0], [0.0, 2.0]]])
    u_pred = np.array([[[3.0, 5.0], [1.0, 3.0]]])
    return u, u_pred, np.array([[0.2, np.sqrt(2) / 2]])


def test_relative_error_hand_computed():
    u, u_pred, expected = hand_case()
    np.testing.assert_allclose(metrics.relative_error(u, u_pred), expected, rtol=1e-15)


def test_max_relative_error_is_max_over_time():
    """Eq. (25): e = max_n ||u_n - u~_n|| / ||u_n||."""
    u, u_pred, expected = hand_case()
    np.testing.assert_allclose(metrics.max_relative_error(u, u_pred), [np.sqrt(2) / 2])


def test_relative_error_multidimensional_space():
    rng = np.random.default_rng(0)
    u = rng.standard_normal((2, 3, 4, 5))
    u_pred = u * 1.1
    np.testing.assert_allclose(metrics.relative_error(u, u_pred), np.full((2, 3), 0.1),
                               rtol=1e-12)


def test_zero_state_gives_absolute_error():
    u = np.zeros((1, 1, 3))
    u_pred = np.array([[[0.0, 3.0, 4.0]]])
    np.testing.assert_allclose(metrics.relative_error(u, u_pred), [[5.0]])


def test_nan_counts_as_inf():
    u, u_pred, _ = hand_case()
    u_pred[0, 1, 0] = np.nan
    assert np.isnan(metrics.relative_error(u, u_pred)[0, 1])
    assert metrics.max_relative_error(u, u_pred)[0] == np.inf
    # a NaN at a time whose error is not the largest still makes the maximum inf
    u_pred = hand_case()[1]
    u_pred[0, 0, 0] = np.nan
    assert metrics.max_relative_error(u, u_pred)[0] == np.inf


def test_leading_stage_axis_broadcasts():
    u, u_pred, expected = hand_case()
    stacked = np.stack([u_pred, u, 2 * u])  # (stage, param, time, x)
    err = metrics.relative_error(u, stacked)
    assert err.shape == (3, 1, 2)
    np.testing.assert_allclose(err[0], expected, rtol=1e-15)
    np.testing.assert_array_equal(err[1], 0.0)
    np.testing.assert_allclose(err[2], 1.0)
    np.testing.assert_allclose(metrics.max_relative_error(u, stacked), [[np.sqrt(2) / 2], [0],
                                                                         [1]])


def _prediction(fom, u_pred, blowup_step):
    dims = (io.STAGE, io.PARAM, io.TIME, "x")
    coords = {c: fom[c] for c in fom.coords}
    coords[io.STAGE] = np.arange(1, u_pred.shape[0] + 1)
    return xr.Dataset(
        {"u_pred": io.variable(dims, u_pred, units="1", long_name="prediction",
                               nonfinite_means="NaN from blowup_step on"),
         "u_spread": io.variable(dims, np.zeros_like(u_pred), units="1", long_name="spread"),
         "blowup_step": io.variable((io.PARAM,), blowup_step, units="1",
                                    long_name="blow-up index")},
        coords=coords,
        attrs=io.provenance("prediction", "toy", equation="eq. (19)", solver="test",
                            scheme="hand", parameters="A", model="m"))


def test_evaluate_blown_up_prediction_is_inf(toy_fom):
    u = toy_fom["u"].values
    u_pred = np.stack([1.1 * u, u.copy()]).astype(np.float32)  # (stage=2, param, time, x)
    u_pred[:, 1, 7:] = np.nan  # parameter 1 blew up at step 7
    pred = _prediction(toy_fom, u_pred, np.array([-1, 7, -1]))
    io.validate(pred, "prediction")
    errors = metrics.evaluate(toy_fom, pred, config={"a": 1})
    io.validate(errors, "errors")
    mx = errors["max_rel_error"].values
    assert mx.shape == (2, 3)
    assert not np.isnan(errors["rel_error"].values).any()
    assert (mx[:, 1] == np.inf).all()
    np.testing.assert_allclose(mx[0, [0, 2]], 0.1, rtol=1e-5)
    np.testing.assert_allclose(mx[1, [0, 2]], 0.0, atol=1e-7)
    assert np.isfinite(errors["rel_error"].values[:, 1, :7]).all()
    assert errors["blowup_step"].values.tolist() == [-1, 7, -1]
    assert errors.attrs["model"] == "m"
    assert errors.attrs["config_digest"] == io.config_digest({"a": 1})
    np.testing.assert_array_equal(errors["A"].values, toy_fom["A"].values)
    assert errors[io.STAGE].values.tolist() == [1, 2]


def test_evaluate_result_round_trips(toy_fom, tmp_path):
    u = toy_fom["u"].values
    u_pred = np.stack([u]).astype(np.float32)
    u_pred[0, 0, 3:] = np.nan
    errors = metrics.evaluate(toy_fom, _prediction(toy_fom, u_pred, np.array([3, -1, -1])))
    back = io.open_dataset(io.write_dataset(errors, tmp_path / "e.nc", "errors"), "errors")
    assert back["max_rel_error"].values[0, 0] == np.inf


@pytest.mark.parametrize("time_axis", [0, 1])
def test_time_axis_argument(time_axis):
    rng = np.random.default_rng(1)
    u = rng.standard_normal((4, 6))
    err = metrics.relative_error(u, 2 * u, time_axis=time_axis)
    expected_shape = (4,) if time_axis == 0 else (4, 6)
    assert err.shape == expected_shape
    np.testing.assert_allclose(err, 1.0)
