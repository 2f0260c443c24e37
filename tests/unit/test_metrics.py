"""Tests of romflow.metrics: relative errors and eq. (25)."""

from __future__ import annotations

import numpy as np
import pytest

from romflow import metrics


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


@pytest.mark.parametrize("time_axis", [0, 1])
def test_time_axis_argument(time_axis):
    rng = np.random.default_rng(1)
    u = rng.standard_normal((4, 6))
    err = metrics.relative_error(u, 2 * u, time_axis=time_axis)
    expected_shape = (4,) if time_axis == 0 else (4, 6)
    assert err.shape == expected_shape
    np.testing.assert_allclose(err, 1.0)
