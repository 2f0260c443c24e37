"""Tests of romflow.lasdi.train: the GPLaSDI stage-1 loss, stages 1 and k, resumes,
segments and checkpoints bound to their inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from romflow import io
from romflow.errors import TrainingDivergedError
from romflow.lasdi import train
from romflow.lasdi.sindy import SINDy
from romflow.lasdi.stages import compose, load_stages
from romflow.model_specs import Monitor, StageSpec


def quiet(*_args, **_kwargs):
    """Drops log messages."""


def same_weights(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"parameter {key} differs"


def gplasdi_loss_by_hand(z, u, u_hat, dt, beta1, beta2, norm):
    """GPLaSDI's loss, written out from its code (LLNL/GPLaSDI src/lasdi/gplasdi.py,
    latent_dynamics/sindy.py, fd.py; numpy, float64):

        loss = MSE(X, X_pred) + ld_weight * sum_i MSE(dZdt_i, Z_i coefs_i) / n_train
                              + coef_weight * sum_i ||coefs_i||_p / n_train

    with dZdt_i = D Z_i / dt, D the SBP 1-2 operator (central inside, (z1 - z0) and
    (zn - zn-1) at the ends), Z_i = [1, z_i], coefs_i the least-squares solution and
    ||.||_p torch.norm(coefs, p): p = 'fro' (its examples) or 1 (its default)."""
    n_train, nt, _ = z.shape
    D = np.zeros((nt, nt))
    for j in range(1, nt - 1):
        D[j, j - 1], D[j, j + 1] = -0.5, 0.5
    D[0, :2], D[-1, -2:] = [-1.0, 1.0], [-1.0, 1.0]
    ld, coef = 0.0, 0.0
    for i in range(n_train):
        dzdt = D @ z[i] / dt
        theta = np.hstack([np.ones((nt, 1)), z[i]])
        c = np.linalg.lstsq(theta, dzdt, rcond=None)[0]
        ld += np.mean((dzdt - theta @ c) ** 2)
        coef += np.sqrt(np.sum(c**2)) if norm == "fro" else np.sum(np.abs(c))
    return np.mean((u - u_hat) ** 2) + beta1 * ld / n_train + beta2 * coef / n_train


@pytest.mark.parametrize("norm", ["fro", "l1"])
def test_the_norm_penalty_reproduces_gplasdis_loss_value(norm):
    rng = np.random.default_rng(7)
    z = rng.standard_normal((3, 9, 2))
    u, u_hat = rng.standard_normal((3, 9, 5)), rng.standard_normal((3, 9, 5))
    dt, beta1, beta2 = 0.25, 0.1, 1e-3
    sindy = SINDy("linear", "sbp12").fit(torch.tensor(z), dt)
    ours = (float(torch.mean((torch.tensor(u) - torch.tensor(u_hat)) ** 2))
            + beta1 * float(sindy.residual_loss())
            + beta2 * float(sindy.coef_penalty("norm", norm)))
    expected = gplasdi_loss_by_hand(z, u, u_hat, dt, beta1, beta2, norm)
    assert ours == pytest.approx(expected, rel=1e-12)


def test_the_squared_penalty_is_eq_14_as_written():
    """mLaSDI paper eq. (14): beta2 ||Xi||^2, the squared norm of all coefficients."""
    z = torch.tensor(np.random.default_rng(1).standard_normal((2, 7, 3)))
    sindy = SINDy("linear").fit(z, 0.1)
    assert float(sindy.coef_penalty("squared")) == pytest.approx(
        float((sindy.coef_ ** 2).sum()), rel=1e-14)
    with pytest.raises(Exception, match="coefficient penalty 'cube' is invalid"):
        sindy.coef_penalty("cube")


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
    assert state["arch"] == "autoencoder" and state["stage"] == 1 and state["scale"] == 1.0
    assert state["kwargs"] == {"n_in": 64, "hidden": [16], "latent": 3,
                               "init": "xavier_uniform"}
    # keep = best: the model is the lowest-loss iterate
    best = int(np.argmin(loss["loss"].values)) + 1
    assert state["kept_iteration"] == best == loss.attrs["kept_iteration"]
    _, scales = load_stages([state])
    assert scales == [1.0]
    np.testing.assert_allclose(latent["z_sindy"].values[:, 0], latent["z"].values[:, 0],
                               rtol=1e-6)
    dt = float(fom[io.TIME][1] - fom[io.TIME][0])
    xi = SINDy("linear", "sbp12").fit(torch.tensor(latent["z"].values, dtype=torch.float64),
                                      dt).coef_
    np.testing.assert_allclose(latent["xi"].values, xi.numpy(), rtol=1e-3, atol=1e-5)
    # the files' digests cover the FOM they were computed from
    assert latent.attrs["config_digest"] == io.upstream_digest(
        {"settings": spec.stage_settings(1), "iterations": 30, "seed": 0}, fom)


def test_fit_stage1_is_deterministic(toy_fom, make_spec):
    spec = make_spec((15,))
    s1, _, l1, h1 = train.fit_stage1(toy_fom, spec, seed=3, log=quiet)
    s2, _, l2, h2 = train.fit_stage1(toy_fom, spec, seed=3, log=quiet)
    same_weights(s1["state_dict"], s2["state_dict"])
    assert np.array_equal(l1["xi"].values, l2["xi"].values)
    assert np.array_equal(h1["loss"].values, h2["loss"].values)
    s3, *_ = train.fit_stage1(toy_fom, spec, seed=4, log=quiet)
    assert not torch.equal(s1["state_dict"]["encoder.0.weight"],
                           s3["state_dict"]["encoder.0.weight"])


class InterruptedSINDy(SINDy):
    """Raises KeyboardInterrupt on fit call number ``at`` (a killed job)."""

    calls, at = 0, 25

    def fit(self, z, dt):
        type(self).calls += 1
        if type(self).calls == type(self).at:
            raise KeyboardInterrupt
        return super().fit(z, dt)


def kill_during(monkeypatch, at, fn):
    InterruptedSINDy.calls, InterruptedSINDy.at = 0, at
    monkeypatch.setattr(train, "SINDy", InterruptedSINDy)
    with pytest.raises(KeyboardInterrupt):
        fn()
    monkeypatch.undo()


def test_fit_stage1_resumes_bit_for_bit(toy_fom, make_spec, tmp_path, monkeypatch):
    spec = make_spec((30,))
    ckpt = tmp_path / "model.ckpt"
    monitor = Monitor(checkpoint_every=10, log_every=5)
    kill_during(monkeypatch, 25, lambda: train.fit_stage1(toy_fom, spec, checkpoint=ckpt,
                                                          monitor=monitor, log=quiet))
    assert io.load_model(ckpt)["iteration"] == 20
    messages = []
    state, _, latent, loss = train.fit_stage1(toy_fom, spec, checkpoint=ckpt, monitor=monitor,
                                              log=messages.append)
    assert any("resumed from checkpoint" in m and "step 20" in m for m in messages), messages
    assert not ckpt.exists()
    ref_state, _, ref_latent, ref_loss = train.fit_stage1(toy_fom, spec, log=quiet)
    same_weights(state["state_dict"], ref_state["state_dict"])
    for name in ref_loss.data_vars:
        assert np.array_equal(loss[name].values, ref_loss[name].values), name
    for name in ("z", "xi"):
        assert np.array_equal(latent[name].values, ref_latent[name].values), name


def test_a_checkpoint_left_before_the_data_changed_is_not_resumed(make_spec, tmp_path,
                                                                  monkeypatch):
    """Issue: kill train_stage1 after its first checkpoint, change toy.fom.train.A, rerun:
    it resumed and the result differed from a clean run by up to 1.61."""
    from romflow.fom import toy

    old = toy.solve([1.0, 1.4], [1.2], nx=64, nt=21, config={"A": [1.0, 1.4]})
    new = toy.solve([1.0, 1.3], [1.2], nx=64, nt=21, config={"A": [1.0, 1.3]})
    spec, ckpt = make_spec((30,)), tmp_path / "model.ckpt"
    monitor = Monitor(checkpoint_every=10, log_every=5)
    kill_during(monkeypatch, 25, lambda: train.fit_stage1(old, spec, checkpoint=ckpt,
                                                          monitor=monitor, log=quiet))
    messages = []
    state, _, latent, _ = train.fit_stage1(new, spec, checkpoint=ckpt, monitor=monitor,
                                           log=messages.append)
    assert any("discarding checkpoint" in m and "other settings or inputs" in m
               for m in messages), messages
    clean, _, clean_latent, _ = train.fit_stage1(new, spec, log=quiet)
    same_weights(state["state_dict"], clean["state_dict"])
    assert np.array_equal(latent["z"].values, clean_latent["z"].values)
    assert latent.attrs["config_digest"] != train.fit_stage1(old, spec, log=quiet)[2].attrs[
        "config_digest"]


def test_segments_of_one_run_equal_the_uninterrupted_run(toy_fom, make_spec):
    """Iteration counts are checkpoints of one run (mLaSDI Table 2): training to 20 and
    continuing to 40 from the 20-iteration state gives the 40-iteration run."""
    first = train.fit_stage1(toy_fom, make_spec((20,)), log=quiet)
    later = train.fit_stage1(toy_fom, make_spec((40,)), resume=first[1], log=quiet)
    whole = train.fit_stage1(toy_fom, make_spec((40,)), log=quiet)
    same_weights(later[0]["state_dict"], whole[0]["state_dict"])
    assert np.array_equal(later[3]["loss"].values, whole[3]["loss"].values)
    assert later[3].sizes[io.ITERATION] == 40
    assert later[3].attrs["total_seconds"] >= later[3].attrs["train_seconds"]


def test_fit_stage1_nan_loss_names_the_step_and_every_term(toy_fom, make_spec, monkeypatch):
    calls = {"n": 0}

    class NaNSINDy(SINDy):
        def residual_loss(self):
            calls["n"] += 1
            loss = super().residual_loss()
            return loss * float("nan") if calls["n"] == 7 else loss

    monkeypatch.setattr(train, "SINDy", NaNSINDy)
    with pytest.raises(TrainingDivergedError, match=r"step 7\b") as info:
        train.fit_stage1(toy_fom, make_spec((20,)), log=quiet)
    for term in ("total", "ae", "di", "coef"):
        assert f"{term}=" in str(info.value), str(info.value)


@pytest.fixture(scope="module")
def stage2_fit(stage1_fit):
    fom, spec, state, latent, _ = stage1_fit
    out = train.fit_stage(2, fom, latent, [state], spec.stage(2), seed=0, log=quiet)
    return stage1_fit, out


def test_fit_stage2_reduces_training_error(stage2_fit):
    (fom, spec, state1, latent, _), (state, _, res, loss) = stage2_fit
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
    (fom, spec, state1, latent, _), (state, _, res, _) = stage2_fit
    assert state["scale"] == float(res["eps_in"])
    _, u, _, _ = train.training_data(fom)
    modules, scales = load_stages([state1])
    with torch.no_grad():
        u1 = compose([modules[0].decode(torch.tensor(latent["z_sindy"].values))], scales)[-1]
    assert state["scale"] == pytest.approx(float((u - u1).std()), rel=1e-6)
    assert state["arch"] == "sine_decoder" and state["stage"] == 2
    assert state["kwargs"]["kappa"] == spec.stage(2).kappa
    assert float(res["kappa"]) != spec.stage(2).kappa  # kappa is trained
    _, scales = load_stages([state1, state])
    assert scales == [1.0, state["scale"]]


def test_a_fixed_kappa_stays_fixed(stage1_fit):
    """Appendix A, Fig. A.10: kappa as a fixed parameter."""
    fom, _, state1, latent, _ = stage1_fit
    stage = StageSpec(iterations=20, lr=1e-3, kappa=3.0, train_kappa=False)
    state, _, res, _ = train.fit_stage(2, fom, latent, [state1], stage, log=quiet)
    assert float(res["kappa"]) == 3.0
    assert "first.kappa" in state["state_dict"]
    load_stages([state1, state])


def test_fit_stage_argument_errors(stage1_fit):
    fom, spec, state, latent, _ = stage1_fit
    with pytest.raises(ValueError, match="stage 1 needs the 0 earlier stages, got 1"):
        train.fit_stage(1, fom, latent, [state], spec.stage(2), log=quiet)
    with pytest.raises(ValueError, match="stage 3 needs the 2 earlier stages, got 1"):
        train.fit_stage(3, fom, latent, [state], spec.stage(2), log=quiet)
    bad = latent.copy(deep=True)
    bad["z_sindy"].values[0, 5:] = np.nan
    with pytest.raises(ValueError, match="stage 2: the stage-1 SINDy trajectories blow up"):
        train.fit_stage(2, fom, bad, [state], spec.stage(2), log=quiet)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_stages_train_on_cuda_like_on_the_cpu(toy_fom, make_spec):
    """The same stage-1 and stage-2 fits on a GPU (TF32 off) agree with the CPU's to
    float32 round-off amplified by 20 Adam steps."""
    torch.backends.cuda.matmul.allow_tf32 = False
    spec = make_spec((20, 20))
    cpu = train.fit_stage1(toy_fom, spec, log=quiet)
    gpu = train.fit_stage1(toy_fom, spec, device="cuda", log=quiet)
    np.testing.assert_allclose(gpu[2]["z"].values, cpu[2]["z"].values, rtol=1e-3, atol=1e-4)
    s_cpu = train.fit_stage(2, toy_fom, cpu[2], [cpu[0]], spec.stage(2), log=quiet)
    s_gpu = train.fit_stage(2, toy_fom, gpu[2], [gpu[0]], spec.stage(2), device="cuda",
                            log=quiet)
    np.testing.assert_allclose(s_gpu[2]["train_rel_error"].values,
                               s_cpu[2]["train_rel_error"].values, rtol=1e-2)
