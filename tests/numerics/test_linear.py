"""The linear toy of the hybrid paper (appendix A.2): exact dynamics and its data."""

import numpy as np
import pytest

from romflow import io
from romflow.errors import ConfigError
from romflow.fom import linear


def test_dynamics_are_exact_powers_of_F():
    """u_n = F^n u_0 (eq. 59) and the data stay on the stable manifold R x {0}."""
    ds = linear.solve(3, trajectories=4, steps=50, noise=0.0)
    io.validate(ds, "pairs")
    u = ds["u"].values
    for n in (1, 10, 50):
        assert np.allclose(u[:, n], u[:, 0] @ np.linalg.matrix_power(linear.F, n).T, rtol=1e-12)
    assert np.all(u[:, :, 1] == 0)
    assert np.allclose(u[:, 50, 0], 0.95**50 * u[:, 0, 0])


def test_resolved_plus_unresolved_reproduces_the_dynamics():
    """A u + B y = F u with y = C u (noise-free): the hybrid split is exact."""
    ds = linear.solve(0, trajectories=3, steps=20, noise=0.0)
    A, B, u, y = (ds[k].values for k in ("A", "B", "u", "unresolved"))
    assert np.allclose(u[:, 1:], u[:, :-1] @ A.T + y[:, :-1] @ B.T, atol=1e-13)


def test_noise_scale_and_coupling_distribution():
    """y - C u has the configured std; C entries lie in [0, 1] and differ by draw."""
    ds = linear.solve(1, trajectories=200, steps=50, noise=1e-3)
    resid = ds["unresolved"].values - ds["u"].values @ ds["C"].values.T
    assert abs(resid.std() / 1e-3 - 1) < 0.02
    cs = np.array([linear.draw_coupling(d) for d in range(200)])
    assert cs.min() >= 0 and cs.max() <= 1 and abs(cs.mean() - 0.5) < 0.03
    assert not np.array_equal(cs[0], cs[1])


@pytest.mark.parametrize("kwargs, match", [({"steps": 0}, "steps = 0"),
                                           ({"trajectories": 0}, "trajectories = 0"),
                                           ({"noise": -1.0}, "noise = -1.0")])
def test_bad_input(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        linear.solve(0, **kwargs)
