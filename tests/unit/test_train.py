"""Tests of romflow.lasdi.train: Adam loop, checkpoints/resume, divergence, stages 1 and k."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from romflow import io
from romflow.config import StageSpec
from romflow.errors import TrainingDivergedError
from romflow.lasdi import train
from romflow.lasdi.autoencoder import Autoencoder
from romflow.lasdi.sindy import SINDy
from romflow.lasdi.stages import compose, load_stages

STAGE = StageSpec(iterations=30, lr=1e-3, checkpoint_every=10, log_every=5)
TERMS = ["total", "ae", "di"]


def _problem(seed=0):
    """A small stage-1 problem: module and loss_fn of eq. (14) on toy snapshots."""
    from romflow.fom import toy

    fom = toy.solve([1.0, 1.4], [1.2], nx=64, nt=21)
    _, u, _, dt = train.training_data(fom)
    torch.manual_seed(seed)
    ae = Autoencoder(u.shape[-1], [16], 3)

    def loss_fn():
        z = ae.encode(u)
        l_ae = torch.mean((ae.decode(z) - u) ** 2)
        l_di = SINDy("linear").fit(z, dt).residual_loss()
        total = l_ae + 0.1 * l_di
        return total, [total, l_ae, l_di]

    return ae, loss_fn


class Interrupt:
    """Wraps a loss_fn; raises KeyboardInterrupt on call number ``at`` (1-based)."""

    def __init__(self, loss_fn, at):
        self.loss_fn, self.at, self.calls = loss_fn, at, 0

    def __call__(self):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.loss_fn()


def assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"parameter {key} differs"


def test_optimize_resumes_bit_for_bit(tmp_path, quiet_log):
    ckpt = tmp_path / "stage1.ckpt"
    ae, loss_fn = _problem()
    with pytest.raises(KeyboardInterrupt):
        train.optimize(ae, Interrupt(loss_fn, 25), STAGE, terms=TERMS, checkpoint=ckpt,
                       digest="d", log=quiet_log)
    saved = io.load_model(ckpt)
    assert saved["iteration"] == 20 and saved["digest"] == "d"
    assert not io.atomic_path(ckpt).exists()

    resumed, loss_fn = _problem(seed=123)  # other init: the checkpoint must overwrite it
    messages = []
    hist = train.optimize(resumed, loss_fn, STAGE, terms=TERMS, checkpoint=ckpt, digest="d",
                          log=messages.append)
    assert len(messages) == 1 and re.search(r"resumed from checkpoint .* at iteration 20",
                                            messages[0]), messages

    reference, loss_fn = _problem()
    ref_hist = train.optimize(reference, loss_fn, STAGE, terms=TERMS, log=quiet_log)
    assert_same_state(resumed.state_dict(), reference.state_dict())
    assert hist.keys() == ref_hist.keys() == set(TERMS)
    for term in TERMS:
        assert hist[term].shape == (30,)
        assert np.array_equal(hist[term], ref_hist[term]), term
    assert np.isfinite(hist["total"]).all()
    assert hist["total"][-1] < hist["total"][0]


def test_optimize_resume_logic_without_least_squares(tmp_path, quiet_log):
    """Same as above on a loss without a least-squares solve: isolates the checkpoint
    logic (module, Adam state, history) from the determinism of the SINDy fit."""
    ckpt = tmp_path / "plain.ckpt"
    net, loss_fn = _plain_problem()
    with pytest.raises(KeyboardInterrupt):
        train.optimize(net, Interrupt(loss_fn, 25), STAGE, terms=TERMS, checkpoint=ckpt,
                       log=quiet_log)
    resumed, loss_fn = _plain_problem()
    messages = []
    hist = train.optimize(resumed, loss_fn, STAGE, terms=TERMS, checkpoint=ckpt,
                          log=messages.append)
    assert any("at iteration 20" in m for m in messages), messages
    reference, loss_fn = _plain_problem()
    ref_hist = train.optimize(reference, loss_fn, STAGE, terms=TERMS, log=quiet_log)
    assert_same_state(resumed.state_dict(), reference.state_dict())
    for term in TERMS:
        assert np.array_equal(hist[term], ref_hist[term]), term


def test_optimize_ignores_checkpoint_of_other_settings(tmp_path, quiet_log):
    ckpt = tmp_path / "stage1.ckpt"
    ae, loss_fn = _problem()
    with pytest.raises(KeyboardInterrupt):
        train.optimize(ae, Interrupt(loss_fn, 15), STAGE, terms=TERMS, checkpoint=ckpt,
                       digest="old", log=quiet_log)
    fresh, loss_fn = _problem()
    messages = []
    hist = train.optimize(fresh, loss_fn, STAGE, terms=TERMS, checkpoint=ckpt, digest="new",
                          log=messages.append)
    assert any("ignoring checkpoint" in m and "other settings" in m for m in messages), messages
    reference, loss_fn = _problem()
    ref_hist = train.optimize(reference, loss_fn, STAGE, terms=TERMS, log=quiet_log)
    assert np.array_equal(hist["total"], ref_hist["total"])


def _plain_problem():
    """A loss without a least-squares solve: 3 terms of a small regression."""
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    x, y = torch.randn(10, 4), torch.randn(10, 2)

    def loss_fn():
        err = net(x) - y
        a, b = err[:, 0].pow(2).mean(), err[:, 1].pow(2).mean()
        return a + b, [a + b, a, b]

    return net, loss_fn


def nan_from(loss_fn, first):
    """Wraps a loss_fn so that every term is NaN from call number ``first`` (1-based) on."""
    calls = {"n": 0}

    def wrapped():
        calls["n"] += 1
        total, parts = loss_fn()
        if calls["n"] >= first:
            return total * float("nan"), [p * float("nan") for p in parts]
        return total, parts

    return wrapped


@pytest.mark.parametrize("log_every", [1, 5, 30])
def test_nan_loss_raises_naming_iteration_and_terms(log_every, quiet_log):
    net, loss_fn = _plain_problem()
    stage = StageSpec(iterations=30, lr=1e-3, checkpoint_every=10, log_every=log_every)
    with pytest.raises(TrainingDivergedError, match=r"not finite at iteration 7\b") as info:
        train.optimize(net, nan_from(loss_fn, 7), stage, terms=TERMS, desc="toy stage 1",
                       log=quiet_log)
    msg = str(info.value)
    assert msg.startswith("toy stage 1:")
    for term in TERMS:
        assert f"{term}=nan" in msg, msg


def test_divergence_never_checkpoints_nonfinite_parameters(tmp_path, quiet_log):
    """A checkpoint is a restart point: it must never hold the NaN parameters written by the
    Adam step of a NaN loss (here checkpoints every 2 iterations, checks every 10)."""
    ckpt = tmp_path / "run.ckpt"
    net, loss_fn = _plain_problem()
    stage = StageSpec(iterations=30, lr=1e-3, checkpoint_every=2, log_every=10)
    with pytest.raises(TrainingDivergedError, match=r"iteration 7\b"):
        train.optimize(net, nan_from(loss_fn, 7), stage, terms=TERMS, checkpoint=ckpt,
                       log=quiet_log)
    saved = io.load_model(ckpt)
    bad = [k for k, v in saved["module"].items() if not torch.isfinite(v).all()]
    assert not bad, (f"checkpoint of iteration {saved['iteration']} holds non-finite "
                     f"parameters {bad}")


def test_fit_stage1_nan_loss_raises_training_diverged(toy_fom, make_spec, monkeypatch,
                                                      quiet_log):
    """A NaN L_DI at iteration 7 of stage 1 (log_every = 5) must surface as
    TrainingDivergedError naming iteration 7 and every loss term, not as a LAPACK error
    from the least-squares solve of the next iteration on NaN latents."""
    calls = {"n": 0}

    class NaNSINDy(SINDy):
        def residual_loss(self):
            calls["n"] += 1
            loss = super().residual_loss()
            return loss * float("nan") if calls["n"] == 7 else loss

    monkeypatch.setattr(train, "SINDy", NaNSINDy)
    spec = make_spec((20,), log_every=5)
    with pytest.raises(TrainingDivergedError, match=r"iteration 7\b") as info:
        train.fit_stage1(toy_fom, spec, log=quiet_log)
    for term in ("total", "ae", "di", "coef"):
        assert f"{term}=" in str(info.value), str(info.value)


def test_nonfinite_secondary_term_is_caught(quiet_log):
    ae, loss_fn = _problem()
    calls = {"n": 0}

    def inf_di():
        calls["n"] += 1
        total, parts = loss_fn()
        if calls["n"] == 3:
            parts = [parts[0], parts[1], parts[2] * float("inf")]
        return total, parts

    with pytest.raises(TrainingDivergedError, match=r"iteration 3\b.*di=inf"):
        train.optimize(ae, inf_di, STAGE, terms=TERMS, log=quiet_log)


def test_fit_stage1_outputs(stage1_fit):
    fom, spec, state, latent, loss = stage1_fit
    io.validate(latent, "latent")
    io.validate(loss, "loss")
    assert latent["z"].shape == (2, fom.sizes[io.TIME], spec.latent)
    assert latent["xi"].shape == (2, 1 + spec.latent, spec.latent)
    assert latent[io.SPLIT].values.tolist() == ["train", "train"]
    assert list(latent[io.TERM].values) == ["1", "z0", "z1", "z2"]
    assert set(loss.data_vars) == {"loss", "loss_ae", "loss_di", "loss_coef"}
    assert loss.sizes[io.ITERATION] == spec.stage(1).iterations
    assert loss[io.ITERATION].values[0] == 1
    assert state["arch"] == "autoencoder" and state["stage"] == 1 and state["scale"] == 1.0
    assert state["kwargs"] == {"n_in": 64, "hidden": [16], "latent": 3}
    # the model file holds plain data only
    modules, scales = load_stages([state])
    assert scales == [1.0]
    # z_sindy starts at the encoder's z(0), and xi is the SINDy fit of z
    np.testing.assert_allclose(latent["z_sindy"].values[:, 0], latent["z"].values[:, 0],
                               rtol=1e-6)
    dt = float(fom[io.TIME][1] - fom[io.TIME][0])
    xi = SINDy("linear").fit(torch.tensor(latent["z"].values, dtype=torch.float64), dt).coef_
    np.testing.assert_allclose(latent["xi"].values, xi.numpy(), rtol=1e-3, atol=1e-5)


def test_fit_stage1_is_deterministic(toy_fom, make_spec, quiet_log):
    spec = make_spec((15,))
    s1, l1, h1 = train.fit_stage1(toy_fom, spec, seed=3, log=quiet_log)
    s2, l2, h2 = train.fit_stage1(toy_fom, spec, seed=3, log=quiet_log)
    assert_same_state(s1["state_dict"], s2["state_dict"])
    assert np.array_equal(l1["xi"].values, l2["xi"].values)
    assert np.array_equal(h1["loss"].values, h2["loss"].values)
    s3, _, _ = train.fit_stage1(toy_fom, spec, seed=4, log=quiet_log)
    assert not torch.equal(s1["state_dict"]["encoder.0.weight"],
                           s3["state_dict"]["encoder.0.weight"])


def test_fit_stage1_resumes_bit_for_bit(toy_fom, make_spec, tmp_path, monkeypatch, quiet_log):
    spec = make_spec((30,))
    config = {"toy": {"nx": 64}, "seed": 0}
    ckpt = tmp_path / "gplasdi.stage1.ckpt"

    calls = {"n": 0}

    class InterruptedSINDy(SINDy):
        def fit(self, z, dt):
            calls["n"] += 1
            if calls["n"] == 25:
                raise KeyboardInterrupt
            return super().fit(z, dt)

    monkeypatch.setattr(train, "SINDy", InterruptedSINDy)
    with pytest.raises(KeyboardInterrupt):
        train.fit_stage1(toy_fom, spec, checkpoint=ckpt, config=config, log=quiet_log)
    monkeypatch.undo()
    assert io.load_model(ckpt)["iteration"] == 20

    messages = []
    state, latent, loss = train.fit_stage1(toy_fom, spec, checkpoint=ckpt, config=config,
                                           log=messages.append)
    assert any(re.search(r"resumed .* at iteration 20", m) for m in messages), messages
    ref_state, ref_latent, ref_loss = train.fit_stage1(toy_fom, spec, config=config,
                                                       log=quiet_log)
    assert_same_state(state["state_dict"], ref_state["state_dict"])
    for name in ref_loss.data_vars:
        assert np.array_equal(loss[name].values, ref_loss[name].values), name
    for name in ("z", "xi"):
        assert np.array_equal(latent[name].values, ref_latent[name].values), name
    assert latent.attrs["config_digest"] == io.config_digest(config)


@pytest.fixture(scope="module")
def stage2_fit(stage1_fit):
    fom, spec, state, latent, _ = stage1_fit
    out = train.fit_stage(2, fom, latent, [state], spec, seed=0, config={"c": 2},
                          log=lambda *a: None)
    return stage1_fit, out


def test_fit_stage2_reduces_training_error(stage2_fit):
    (fom, spec, state1, latent, _), (state, res, loss) = stage2_fit
    io.validate(res, "residual")
    io.validate(loss, "loss")
    before = res["train_rel_error_before"].values
    after = res["train_rel_error"].values
    assert after.shape == (2,)
    assert (after <= before).all(), f"stage 2 made the fit worse: {before} -> {after}"
    assert float(res["eps"]) < float(res["eps_in"])
    assert loss.sizes[io.ITERATION] == spec.stage(2).iterations
    assert loss["loss"].values[-1] < loss["loss"].values[0]


def test_fit_stage2_scale_is_eps_in(stage2_fit):
    """Eq. (18): the stage-2 scale is eps_1 = std(U - U~_1) with U~_1 = D_1(Z^)."""
    (fom, _, state1, latent, _), (state, res, _) = stage2_fit
    assert state["scale"] == float(res["eps_in"])
    _, u, _, _ = train.training_data(fom)
    modules, scales = load_stages([state1])
    with torch.no_grad():
        u1 = compose([modules[0].decode(torch.tensor(latent["z_sindy"].values))], scales)[-1]
    assert state["scale"] == pytest.approx(float((u - u1).std()), rel=1e-6)
    assert state["arch"] == "sine_decoder" and state["stage"] == 2
    assert state["kwargs"]["kappa"] == spec_kappa(stage2_fit)
    assert float(res["kappa"]) != spec_kappa(stage2_fit)  # kappa is trained
    # the two model files compose
    modules, scales = load_stages([state1, state])
    assert scales == [1.0, state["scale"]]


def spec_kappa(stage2_fit):
    return stage2_fit[0][1].stage(2).kappa


def test_fit_stage_argument_errors(stage1_fit, quiet_log):
    fom, spec, state, latent, _ = stage1_fit
    with pytest.raises(ValueError, match="stage 1 needs the 0 earlier stages, got 1"):
        train.fit_stage(1, fom, latent, [state], spec, log=quiet_log)
    with pytest.raises(ValueError, match="stage 3 needs the 2 earlier stages, got 1"):
        train.fit_stage(3, fom, latent, [state], spec, log=quiet_log)
    bad = latent.copy(deep=True)
    bad["z_sindy"].values[0, 5:] = np.nan
    with pytest.raises(ValueError, match="stage 2: the stage-1 SINDy trajectories blow up"):
        train.fit_stage(2, fom, bad, [state], spec, log=quiet_log)
