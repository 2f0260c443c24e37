"""Manifold normals, the four closure estimators and hybrid rollouts (hybrid paper)."""

import numpy as np
import pytest
import torch

from romflow.errors import ConfigError, DataError, NotFittedError
from romflow.fom import channel, linear
from romflow.fom import reaction_diffusion as rd
from romflow.hybrid import linear_theory as lt
from romflow.hybrid.closures import (Closure, TangentPenalty, TrainSettings, evaluate,
                                     tr_coefficients, tr_floor, tr_minimizer, tr_of_data)
from romflow.hybrid.estimators import EstimatorSpec
from romflow.hybrid.manifold import Manifold, distance, normals
from romflow.hybrid.networks import ConvNet
from romflow.hybrid.simulate import ChannelStep, CorrectionStep, resolved_step, rollout


class Linear(torch.nn.Module):
    """An autoencoder onto the span of W's orthonormal columns: D(E(u)) = W Wᵀ u."""

    def __init__(self, W):
        super().__init__()
        self.W = W

    def encode(self, u):
        return u @ self.W

    def decode(self, z):
        return z @ self.W.T

    def forward(self, u):
        return self.decode(self.encode(u))


def fit_closure(net, u, y, base, *, tr=None, epochs=3, batch=4, lr=1e-4, lam=0.0,
                weight_decay=0.0, noise=0.0, seed=3, patience=10, device=None,
                log=lambda *_: None):
    """Train ``net`` as estimator ``base`` on (u, y) in the pairs' own units; returns
    the loss history."""
    spec = EstimatorSpec(base, base, lam=lam, weight_decay=weight_decay, units="literal")
    closure = Closure(spec, net)
    closure.fit(u, y, TrainSettings(epochs, lr, batch, patience), penalty=closure.penalty(tr),
                noise_std=noise, seed=seed, log=log, device=device)
    return closure.history_


def lists(history):
    return {k: list(v) for k, v in history.items()}


def test_normals_are_orthogonal_to_the_decoder_tangents():
    """Known manifold: a 2-plane in R^5.  ∇F(u) = P⊥u / ||P⊥u|| (analytic), which is
    orthogonal to the decoder's tangent vectors (the columns of dD/dz = W)."""
    gen = torch.Generator().manual_seed(0)
    W, _ = torch.linalg.qr(torch.randn(5, 2, generator=gen, dtype=torch.float64))
    ae = Linear(W)
    u = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    n = normals(ae, u, batch=3)
    perp = u - u @ W @ W.T
    assert torch.allclose(n, perp / perp.norm(dim=1, keepdim=True), atol=1e-12)
    assert torch.allclose(n @ W, torch.zeros(7, 2, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(distance(ae, u), perp.norm(dim=1), atol=1e-12)


@pytest.mark.parametrize("skips", [True, False])
def test_convnet_shapes_and_gradients(skips):
    """Every parameter of the U-Net and of the autoencoder receives a gradient."""
    net = ConvNet(2, 2, (4, 8, 16), skips=skips).double()
    x = torch.randn(3, 2, 16, 16, dtype=torch.float64)
    out = net(x)
    assert out.shape == x.shape
    out.square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    with pytest.raises(ValueError, match="not divisible"):
        net(torch.randn(1, 2, 10, 10, dtype=torch.float64))


def test_convnet_is_translation_equivariant_with_periodic_padding():
    """Circular padding: shifting a periodic field by one coarse cell shifts the output."""
    net = ConvNet(2, 2, (4, 8), skips=True, periodic=True).double()
    x = torch.randn(1, 2, 16, 16, dtype=torch.float64)
    assert torch.allclose(net(x.roll(2, -1)), net(x).roll(2, -1), atol=1e-12)


def rd_pairs(n=16, steps=6):
    g = torch.Generator().manual_seed(1)
    u0 = torch.randn(2, 2, n, n, generator=g, dtype=torch.float64)
    traj = rd.simulate(u0, steps, 0.01, 0.1)
    y = rd.correction_pairs(traj, 0.01, 0.1)
    return traj, traj[:, :-1].reshape(-1, 2, n, n), y.reshape(-1, 2, n, n)


def test_tr_with_zero_penalty_equals_ols():
    """λ = 0: the TR objective is the OLS one; same seed -> identical weights."""
    _, u, y = rd_pairs()
    step = CorrectionStep(0.01, 0.1)
    tr = tr_coefficients(torch.randn_like(u), step.drift(u))
    models = []
    for base in ("ols", "tr"):
        torch.manual_seed(0)
        net = ConvNet(2, 2, (4, 8)).double()
        fit_closure(net, u, y, base, tr=tr, lam=0.0)
        models.append(net.state_dict())
    assert all(torch.equal(models[0][k], models[1][k]) for k in models[0])


def test_estimators_differ_and_validate():
    _, u, y = rd_pairs()
    with pytest.raises(ConfigError, match="base = 'sgd' is invalid"):
        EstimatorSpec("sgd", "sgd")
    with pytest.raises(ConfigError, match="needs tr="):
        fit_closure(ConvNet(2, 2, (4, 8)).double(), u, y, "tr", epochs=1)
    finals = {}
    for est in ("ols", "mols", "aols"):
        torch.manual_seed(0)
        net = ConvNet(2, 2, (4, 8)).double()
        hist = fit_closure(net, u, y, est, epochs=2, weight_decay=0.1, noise=0.5)
        finals[est] = hist["mse"][-1]
    assert len(set(finals.values())) == 3


def test_trained_tr_matches_the_closed_form_on_the_linear_problem():
    """Gradient descent on the TR objective (normals n = e2, the exact ∇F of the
    stable manifold R x {0}) reaches the closed form of Proposition 3.1 (same λ)."""
    ds = linear.solve(1, trajectories=10, steps=50, noise=1e-3)
    U = ds["u"].values[:, :-1].reshape(-1, 2)
    Y = ds["unresolved"].values[:, :-1].reshape(-1, 2)
    A, B = ds["A"].values, ds["B"].values
    lam = 5.0
    u, y = torch.as_tensor(U), torch.as_tensor(Y)
    n = torch.zeros_like(u)
    n[:, 1] = 1.0
    tr = tr_coefficients(n, u @ torch.as_tensor(A - np.eye(2)).T)
    model = torch.nn.Linear(2, 2, bias=False).double()
    torch.nn.init.zeros_(model.weight)
    fit_closure(model, u, y, "tr", epochs=3000, lr=3e-2, batch=len(u), lam=lam, patience=50,
                tr=tr, seed=0)
    closed = lt.tangent_regularized(U.T, Y.T, A, B, lam)
    err = np.abs(model.weight.detach().numpy() - closed).max()
    assert err < 1e-6, f"max |C_trained - C_closed| = {err:.2e}"


def test_tr_term_of_the_data_vanishes_for_exact_normals():
    """Appendix A.2 dynamics F = diag(0.95, 1.2) = A + B C on the stable manifold
    R x {0}: the data's velocity (F - I) u is tangent, so with the exact normal e2
    the data's own TR term is 0, and with the tangent e1 it is mean (0.05 x)²."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, generator=g, dtype=torch.float64)
    u = torch.stack([x, torch.zeros_like(x)], 1)
    C = torch.rand(2, 2, generator=g, dtype=torch.float64)
    A = torch.diag(torch.tensor([0.95, 1.2], dtype=torch.float64)) - C
    y = u @ C.T
    drift = u @ (A - torch.eye(2, dtype=torch.float64)).T
    normal, tangent = torch.zeros_like(u), torch.zeros_like(u)
    normal[:, 1], tangent[:, 0] = 1.0, 1.0
    assert tr_of_data(tr_coefficients(normal, drift), y) < 1e-28
    expected = float(torch.mean((0.05 * x) ** 2))
    assert abs(tr_of_data(tr_coefficients(tangent, drift), y) - expected) < 1e-14


def test_tr_floor_is_the_minimum_of_the_normal_equations():
    """Per sample the TR loss ||φ - y||² + λ (c + mᵀφ)² is minimized where the
    normal equations (I + λ m mᵀ) φ = y - λ c m hold; tr_minimizer's Sherman–Morrison
    closed form must be that solution (solved densely here), tr_floor its loss
    and MSE, and no other output may go below it."""
    g = torch.Generator().manual_seed(3)
    n, a, y = (torch.randn(6, 2, 3, 4, generator=g, dtype=torch.float64) for _ in range(3))
    dt, lam = 0.01, 10.0
    tr = tr_coefficients(n, a, lambda v: v / dt)
    c, m = tr
    losses, mses = [], []
    best = tr_minimizer(tr, y, lam)
    for i in range(6):
        mi, yi = m[i].flatten(), y[i].flatten()
        lhs = torch.eye(mi.numel(), dtype=torch.float64) + lam * torch.outer(mi, mi)
        phi = torch.linalg.solve(lhs, yi - lam * c[i] * mi)
        # the dense system has condition number 1 + λ|m|² ~ 1e6: agreement to 1e-9
        assert torch.allclose(best[i].flatten(), phi, rtol=0, atol=1e-9)
        mses.append(float(((phi - yi) ** 2).sum()))
        losses.append(mses[-1] + lam * float(c[i] + mi @ phi) ** 2)
        for _ in range(5):   # any other output does worse
            other = phi + 1e-3 * torch.randn(phi.shape, generator=g, dtype=torch.float64)
            assert ((other - yi) ** 2).sum() + lam * (c[i] + mi @ other) ** 2 > losses[-1]
    floor, floor_mse = tr_floor(tr, y, lam)
    assert abs(floor - np.mean(losses)) < 1e-12 * max(1.0, floor)
    assert abs(floor_mse - np.mean(mses)) < 1e-12 * max(1.0, floor_mse)
    assert floor < lam * tr_of_data(tr, y)     # y itself is not the TR minimizer


def test_evaluate_gives_the_loss_terms_of_fit_closure():
    """evaluate() on a fixed linear model equals the TR loss written out by hand."""
    g = torch.Generator().manual_seed(4)
    u, n, a = (torch.randn(10, 3, generator=g, dtype=torch.float64) for _ in range(3))
    model = torch.nn.Linear(3, 3, bias=False).double()
    y = torch.randn(10, 3, generator=g, dtype=torch.float64)
    tr = tr_coefficients(n, a)
    out = evaluate(model, u, y, TangentPenalty(*tr, 2.0), batch=4)
    with torch.no_grad():
        pred = model(u)
    mse = float(((pred - y) ** 2).sum(1).mean())
    pen = float(((n * (a + pred)).sum(1) ** 2).mean())
    assert abs(out["mse"] - mse) < 1e-12 and abs(out["tr"] - pen) < 1e-12
    assert abs(out["loss"] - (mse + 2.0 * pen)) < 1e-12
    assert evaluate(model, u, y)["tr"] == 0.0


def test_exact_closure_reproduces_the_fine_trajectory():
    """Hybrid rollout with the exact unresolved part y(u) = f_fine(u) - I f_coarse R(u)
    reproduces the fine FitzHugh–Nagumo trajectory to round-off."""
    traj, _, _ = rd_pairs(steps=30)
    step = CorrectionStep(0.01, 0.1)
    out = rollout(step, step.exact, traj[0])
    assert out["blowup_step"] == -1
    assert float(out["rel_error"].max()) < 1e-12
    zero = rollout(step, lambda u: torch.zeros_like(u), traj[0])
    assert float(zero["rel_error"][-1]) > 1e-3  # without the closure it drifts


def test_correction_step_velocity_is_that_of_eq_2():
    """u_{k+1} = u_k + Δt L(u_k, y_k) (paper eq. 2): L is a velocity, so the TR
    penalty has the paper's λ scale; Bᵀ satisfies <B y, n> = <y, Bᵀ n>."""
    _, u, y = rd_pairs()
    step = CorrectionStep(0.01, 0.1)
    assert torch.allclose(step(u, y), u + step.dt * (step.drift(u) + step.coupling(y)))
    # the exact closure's velocity is the fine solver's: (f_fine(u) - u) / Δt
    fine = (rd.cn_step(u, 0.01, 0.1) - u) / 0.01
    assert torch.allclose(step.drift(u) + step.coupling(step.exact(u)), fine, atol=1e-10)
    n = torch.randn_like(u)
    assert torch.isclose((step.coupling(y) * n).sum(), (y * step.coupling_adjoint(n)).sum())


def test_blowup_is_recorded_not_raised():
    traj, _, _ = rd_pairs(steps=10)
    step = CorrectionStep(0.01, 0.1)
    norm = lambda u: u.flatten(1).norm(dim=1)  # noqa: E731
    out = rollout(step, lambda u: 1e3 * u, traj[0], cap=10.0, distance=norm, chunk=3)
    k = out["blowup_step"]
    assert 0 < k <= 10 and torch.isinf(out["rel_error"][k:]).all()
    assert torch.isfinite(out["rel_error"][:k]).all() and torch.isnan(out["shift"][k:]).all()
    # the shift, evaluated after the rollout in chunks, is F of each state reached
    assert torch.equal(out["shift"][:k], norm(out["states"][:k]).double())


def test_shift_in_chunks_is_the_shift_state_by_state():
    traj, _, _ = rd_pairs(steps=10)
    step = CorrectionStep(0.01, 0.1)
    norm = lambda u: u.flatten(1).norm(dim=1)  # noqa: E731
    whole = rollout(step, step.exact, traj[0], distance=norm, chunk=100)
    for chunk in (1, 4):
        assert torch.allclose(rollout(step, step.exact, traj[0], distance=norm,
                                      chunk=chunk)["shift"], whole["shift"], rtol=1e-12)
    assert whole["blowup_step"] == -1 and torch.isfinite(whole["shift"]).all()


def test_manifold_fit_reduces_reconstruction_error():
    _, u, _ = rd_pairs()
    torch.manual_seed(0)
    m = Manifold(ConvNet(2, 2, (4, 8), skips=False).double(), epochs=5, lr=3e-3, batch=4)
    with pytest.raises(NotFittedError):
        m.distance(u)
    m.fit(u.float().double())
    assert m.loss_[-1] < m.loss_[0]
    assert m.normals(u[:3]).shape == u[:3].shape


def test_reaction_step_replays_the_trajectory_and_its_adjoint_is_exact():
    """Section 2.3 variant: diffusion resolved, y = φ(u); the exact closure replays
    the Crank-Nicolson trajectory, and <B y, n> = <y, Bᵀ n> (adjoint identity)."""
    traj, u, _ = rd_pairs()
    step = resolved_step("rd", {"unresolved": "reaction", "dt": 0.01, "gamma": 0.1})
    out = rollout(step, step.exact, traj[0])
    assert float(out["rel_error"].max()) < 1e-12
    g = torch.Generator().manual_seed(1)
    y, n = (torch.randn(u.shape, generator=g, dtype=u.dtype) for _ in range(2))
    lhs = (step.coupling(y) * n).sum()
    rhs = (y * step.coupling_adjoint(n)).sum()
    assert torch.isclose(lhs, rhs, rtol=1e-12)
    assert torch.allclose(step(u, y), u + step.dt * (step.drift(u) + step.coupling(y)))
    with pytest.raises(ValueError, match="allowed: rd"):
        resolved_step("vlasov", {})


def channel_pairs(steps=20):
    return channel.solve(300.0, 32, 8, trajectories=2, steps=steps, warmup=5)


def test_channel_step_with_the_exact_pressure_replays_the_trajectory():
    """The projection method (Chorin 1968) with its own Poisson solve as the closure:
    a hybrid rollout on the packed MAC state follows the stored trajectory to
    float32 storage, and without the pressure it leaves it."""
    ds = channel_pairs()
    step = resolved_step("channel", ds)
    assert isinstance(step, ChannelStep) and not step.periodic
    for t in (0, 1):
        calls = iter(range(10**6))
        exact = lambda s, t=t, calls=calls: step.exact(s, ([t], [next(calls)]))  # noqa: E731
        ref = torch.as_tensor(ds["u"].values[t], dtype=torch.float64)
        out = rollout(step, exact, ref, trajectory=t)
        assert out["blowup_step"] == -1 and float(out["rel_error"].max()) < 1e-5
        zero = rollout(step, lambda s: s.new_zeros(1, 1, 32, 8), ref, trajectory=t)
        assert float(zero["rel_error"][-1]) > 1e-3    # 8e-3 after 20 steps


def test_channel_step_velocity_is_that_of_eq_2_and_its_adjoint_is_exact():
    """s_{k+1} = s_k + Δt (a(s_k) + B p_k) with B p = -pack(∇p) linear in p;
    <B p, n> = <p, Bᵀ n> (adjoint identity); exact() is the stored pressure."""
    ds = channel_pairs(steps=6)
    step = resolved_step("channel", ds)
    where = ([0, 1, 1], [2, 3, 5])
    s = torch.as_tensor(ds["u"].values[where[0], where[1]], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    p = torch.randn(3, 1, 32, 8, generator=g, dtype=torch.float64)
    lhs = step(s, p, where)
    assert torch.allclose(lhs, s + step.dt * (step.drift(s, where) + step.coupling(p)),
                          rtol=0, atol=1e-12)
    n = torch.randn(3, 2, 32, 8, generator=g, dtype=torch.float64)
    assert torch.isclose((step.coupling(p) * n).sum(), (p * step.coupling_adjoint(n)).sum(),
                         rtol=1e-12)
    stored = ds["unresolved"].values[where[0], where[1]]
    got = step.exact(s, where)[:, 0].numpy()
    assert np.abs(got - stored).max() < 1e-4 * np.abs(stored).max()
    with pytest.raises(ValueError, match="where"):
        step.drift(s)
    with pytest.raises(ValueError, match="dataset"):
        resolved_step("channel", ds.attrs)
    with pytest.raises(DataError, match=r"lack \['y0'\]"):
        resolved_step("channel", ds.drop_vars("y0"))


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture
def full_precision(monkeypatch):
    """No TF32 on a GPU (PyTorch's default for cuDNN convolutions): the device runs
    compare with the CPU ones to float32 round-off, not to TF32's 1e-3."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_float32_matmul_precision(before)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("estimator", ["aols", "tr"])
def test_a_closure_trained_on_a_device_matches_the_cpu_one(device, estimator, full_precision):
    """fit_closure(device=...) moves the model, the pairs and the TR coefficients there,
    and draws the shuffling and the aOLS noise on the CPU: the loss history is the CPU
    run's (bit for bit on the CPU, to round-off on a GPU; the CUDA case runs only where
    torch sees one).  The model stays on the device."""
    _, u, y = rd_pairs()
    u, y = u.float(), y.float()
    tr = tr_coefficients(torch.randn_like(u), CorrectionStep(0.01, 0.1).drift(u))
    runs = []
    for dev in ("cpu", device):
        torch.manual_seed(0)
        net = ConvNet(2, 2, (4, 8))
        hist = lists(fit_closure(net, u, y, estimator, tr=tr, noise=0.1, lam=1.0, device=dev))
        assert next(net.parameters()).device.type == dev
        final = evaluate(net, u, y, TangentPenalty(*tr, 1.0))
        runs.append((hist, final, {k: v.cpu() for k, v in net.state_dict().items()}))
    (h0, f0, w0), (h1, f1, w1) = runs
    if device == "cpu":
        assert h0 == h1 and f0 == f1 and all(torch.equal(w0[k], w1[k]) for k in w0)
        return
    for key in ("loss", "mse", "tr"):
        assert np.allclose(h0[key], h1[key], rtol=1e-3, atol=0.0)
    assert np.isclose(f0["loss"], f1["loss"], rtol=1e-3, atol=0.0)


@pytest.mark.parametrize("device", DEVICES)
def test_a_manifold_fitted_on_a_device_gives_cpu_normals(device, full_precision):
    """Manifold(device=...) trains there and hands back distances and normals on the
    CPU, equal to the CPU fit's (bit for bit on the CPU, to round-off on a GPU)."""
    _, u, _ = rd_pairs()
    u = u.float()
    out = []
    for dev in ("cpu", device):
        torch.manual_seed(0)
        m = Manifold(ConvNet(2, 2, (4, 8), skips=False), epochs=3, lr=3e-3, batch=4,
                     device=dev).fit(u, log=lambda *_: None)
        n, f = m.normals(u), m.distance(u)
        assert n.device.type == "cpu" and f.device.type == "cpu"
        out.append((np.asarray(m.loss_), n, f))
    rtol = 0.0 if device == "cpu" else 1e-3
    assert np.allclose(out[0][0], out[1][0], rtol=rtol, atol=0.0)
    assert torch.allclose(out[0][1], out[1][1], rtol=rtol, atol=rtol * 0.1)
    assert torch.allclose(out[0][2], out[1][2], rtol=rtol, atol=0.0)
