"""TR's fit and penalty in one unit system; the published code's explicit step; a
diverging closure stops (issues: TR units, the published protocol, nothing silent).

References: the hybrid paper's eq. (2) and (21) (the hybrid velocity L and the
penalty on its normal component) for the units; the code that made the paper's
Table 1 (its ``simulator.py`` hybrid step, ``u = L_plus @ u @ L_plus + dt * output``,
L_plus = I + Δt/2 D Δ_1D with the periodic second difference) for the explicit step.
"""

from __future__ import annotations

import math

import pytest
import torch

from romflow.errors import TrainingDivergedError
from romflow.fom import reaction_diffusion as rd
from romflow.hybrid.closures import Closure, TrainSettings, tr_coefficients
from romflow.hybrid.estimators import EstimatorSpec
from romflow.hybrid.networks import ConvNet
from romflow.hybrid.simulate import CorrectionStep, ReactionExplicitStep, ReactionStep

N = 16


def _fields(seed=0):
    g = torch.Generator().manual_seed(seed)
    u, n, rate, delta = (torch.randn(6, 2, N, N, generator=g, dtype=torch.float64)
                         for _ in range(4))
    return u, n, rate, 0.1 * delta


def _ratio_of_terms(units: str, dt: float) -> float:
    """λ · TR term / fit term of a closure that is off by a fixed rate δ, on
    coarse–fine correction pairs y = Δt · r (an increment) at step Δt."""
    u, n, rate, delta = _fields()
    step = CorrectionStep(dt, 0.1)
    drift = CorrectionStep(0.01, 0.1).drift(u)   # one velocity a(u) for both Δt
    tr = tr_coefficients(n, drift, step.coupling_adjoint)
    closure = Closure(EstimatorSpec("tr", "tr", lam=10.0, units=units), torch.nn.Identity(),
                      step.increment_scale)
    targets, tr_units = closure.targets(dt * rate, tr)
    pred = closure.targets(dt * (rate + delta))[0]       # the same closure error, as a rate
    fit = torch.mean(((pred - targets) ** 2).flatten(1).sum(1))
    penalty = closure.penalty(tr_units)
    return float(penalty.lam * penalty.term(pred, slice(None)) / fit)


def test_rate_units_leave_the_ratio_of_tr_terms_unchanged_when_dt_changes():
    """units: rate: the fit is on y / Δt and the penalty on the velocity c + (Δt m)·(y/Δt):
    both are velocities², so halving Δt leaves their ratio as it is.  units: literal
    (the fit on the increment y, the penalty on the velocity, eq. 21 read literally): the
    fit shrinks with Δt² and the penalty does not, so halving Δt makes it 4 x stiffer."""
    rate = [_ratio_of_terms("rate", dt) for dt in (0.01, 0.005, 0.0025)]
    assert rate[1] == pytest.approx(rate[0], rel=1e-12)
    assert rate[2] == pytest.approx(rate[0], rel=1e-12)
    literal = [_ratio_of_terms("literal", dt) for dt in (0.01, 0.005)]
    assert literal[1] == pytest.approx(4 * literal[0], rel=1e-12)
    # and literal is rate's ratio times 1 / Δt²: the 1e4 of the issue at Δt = 0.01
    assert literal[0] == pytest.approx(rate[0] / 0.01 ** 2, rel=1e-12)


def test_a_rate_closure_gives_increments_to_the_step():
    """Trained on y / Δt, the closure's module multiplies back: the step gets y."""
    step = CorrectionStep(0.01, 0.1)
    closure = Closure(EstimatorSpec("ols", "ols"), torch.nn.Identity(), step.increment_scale)
    u = torch.randn(2, 2, N, N, dtype=torch.float64)
    assert torch.allclose(closure.module(u), 0.01 * u)
    assert Closure(EstimatorSpec("ols", "ols", units="literal"), torch.nn.Identity(),
                   0.01).module(u).equal(u)


def _periodic_second_difference(n: int) -> torch.Tensor:
    h = rd.LENGTH / n
    eye = torch.eye(n, dtype=torch.float64)
    return (torch.roll(eye, 1, 0) + torch.roll(eye, -1, 0) - 2 * eye) / h ** 2


def test_explicit_half_step_is_the_published_codes_step():
    """u_{k+1} = L₊ u L₊ + Δt y per species with L₊ = I + Δt/2 D Δ_1D, as dense
    matrices (the published code), equals ReactionExplicitStep's spectral form."""
    dt, gamma = 0.01, 0.1
    u, y = torch.randn(2, 2, N, N, dtype=torch.float64), torch.randn(2, 2, N, N,
                                                                     dtype=torch.float64)
    lap = _periodic_second_difference(N)
    want = torch.empty_like(u)
    for s, d in enumerate((gamma, 2 * gamma)):
        plus = torch.eye(N, dtype=torch.float64) + 0.5 * dt * d * lap
        want[:, s] = plus @ u[:, s] @ plus + dt * y[:, s]
    step = ReactionExplicitStep(dt, gamma)
    assert torch.allclose(step(u, y), want, atol=1e-12)
    assert torch.allclose(step(u, y), u + dt * (step.drift(u) + step.coupling(y)), atol=1e-12)
    # it is not the Crank-Nicolson step that made the data: the exact reaction drifts
    cn = ReactionStep(dt, gamma)
    assert not torch.allclose(step(u, rd.reaction(u)), cn(u, rd.reaction(u)), atol=1e-6)


def test_a_closure_whose_loss_explodes_stops_with_its_epoch():
    """rd.hybrid.closure.lr: 1000 used to finish with an OLS loss of 1e18: a loss far
    above its first epoch's stops training, naming the epoch and the terms."""
    g = torch.Generator().manual_seed(0)
    u = torch.randn(32, 2, N, N, generator=g, dtype=torch.float64)
    y = 0.01 * rd.reaction(u)
    torch.manual_seed(0)
    closure = Closure(EstimatorSpec("ols", "ols"), ConvNet(2, 2, (4, 8)).double(), 0.01)
    with pytest.raises(TrainingDivergedError, match=r"diverged at epoch 1 of 50: .*mse=") as info:
        closure.fit(u, closure.targets(y)[0], TrainSettings(epochs=50, lr=1000.0, batch=8,
                                                            divergence=1e4),
                    log=lambda *_: None)
    assert "times its start" in str(info.value)
    assert math.isfinite(float(str(info.value).split("start ")[1].split()[0]))
