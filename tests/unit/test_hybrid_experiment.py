"""The hybrid experiment of one case: splits, estimator entries, manifold + normals,
closures, rollouts, Table 1."""

import numpy as np
import pandas as pd
import pytest
import torch

from romflow import io, tables
from romflow.errors import ConfigError
from romflow.fom import channel
from romflow.fom import reaction_diffusion as rd
from romflow.hybrid import data, estimators, rollouts, train
from romflow.hybrid.estimators import EstimatorSpec
from romflow.hybrid.manifold import distance
from romflow.hybrid.networks import subgrid_detail
from romflow.hybrid.simulate import resolved_step

MANIFOLD = {"widths": [2, 4], "epochs": 2, "lr": 1e-3, "batch": 8, "every": 2,
            "checkpoint_every": 1}
CLOSURE = {"widths": [2, 4], "epochs": 3, "lr": 1e-3, "batch": 8, "patience": 10,
           "checkpoint_every": 1}
TR = EstimatorSpec("tr", "tr", lam=10.0)
OLS = EstimatorSpec("ols", "ols")
QUIET = {"log": lambda *_: None}


@pytest.fixture(scope="module")
def pairs():
    return rd.solve(0.1, 8, trajectories=3, steps=12, warmup=2, dt=0.01, seed=1)


def test_splits_test_every_trajectory_once_and_are_seeded():
    splits = estimators.split_trajectories(10, 10, 1, seed=4)
    assert sorted(t for _, test in splits for t in test) == list(range(10))
    for train, test in splits:
        assert len(train) == 9 and not set(train) & set(test)
    assert splits == estimators.split_trajectories(10, 10, 1, seed=4)
    assert splits != estimators.split_trajectories(10, 10, 1, seed=5)
    with pytest.raises(ConfigError, match="allowed: 1 .. 9"):
        estimators.split_trajectories(10, 2, 10, seed=0)


def test_training_steps_skip_the_undefined_last_correction(pairs):
    steps = data.training_steps(pairs, 1)
    assert steps[-1] == pairs.sizes["step"] - 2          # y at the last step is NaN
    assert list(data.training_steps(pairs, 5)) == [0, 5, 10]


def test_manifold_normals_file_and_unit_gradient(pairs):
    state, normals, loss = train.fit_manifold(pairs, MANIFOLD, problem="rd", **QUIET)
    io.validate(normals, "normals")
    io.validate(loss, "loss")
    n = normals["normal"].values
    assert n.shape == (3, 6, 2, 8, 8)                   # every 2nd of the 11 defined steps
    # ∇F of a Euclidean distance has unit norm wherever F > 0 and the AE is smooth
    norms = np.linalg.norm(n.reshape(18, -1), axis=1)
    assert np.all(norms > 0) and np.all(norms < 1 + 1e-4)
    ae = train.load_manifold(state, pairs)
    u0 = torch.from_numpy(pairs["u"].values[0, :1]).float()
    assert np.isclose(float(distance(ae, u0)[0]), normals["distance"].values[0, 0],
                      rtol=1e-5)


def test_bad_widths_name_the_grid(pairs):
    with pytest.raises(ConfigError, match="not divisible by 16"):
        train.fit_manifold(pairs, {**MANIFOLD, "widths": [2, 2, 2, 2, 2]}, problem="rd", **QUIET)


def test_closure_resumes_to_the_same_weights(pairs, tmp_path):
    _, normals, _ = train.fit_manifold(pairs, MANIFOLD, problem="rd", **QUIET)
    full, _ = train.fit_estimator(pairs, normals, [0, 1], TR, CLOSURE, problem="rd", **QUIET)
    ckpt = tmp_path / "closure.ckpt"
    train.fit_estimator(pairs, normals, [0, 1], TR, {**CLOSURE, "epochs": 2}, problem="rd",
                     checkpoint=ckpt, **QUIET)
    assert ckpt.is_file()
    resumed, loss = train.fit_estimator(pairs, normals, [0, 1], TR, CLOSURE, problem="rd",
                                     checkpoint=ckpt, **QUIET)
    for key, val in full["weights"].items():
        assert torch.equal(val, resumed["weights"][key]), key
    assert loss.sizes["iteration"] == 3 and np.all(loss["tr"].values > 0)
    # no closure goes below the pointwise minimum of the TR loss (tr_floor)
    assert 0 < loss.attrs["tr_floor"] <= loss.attrs["final_loss"]
    assert loss.attrs["tr_floor"] < loss.attrs["lam"] * loss.attrs["tr_of_data"]


def test_a_checkpoint_of_other_settings_is_ignored_not_resumed(pairs, tmp_path):
    """A run killed with λ = 1 leaves a checkpoint; rerunning with λ = 10 must train
    from the start (the weights of a fresh λ = 10 run), not continue the λ = 1 one;
    so must a run with a smaller budget than the checkpoint's epoch."""
    _, normals, _ = train.fit_manifold(pairs, MANIFOLD, problem="rd", **QUIET)
    fresh, _ = train.fit_estimator(pairs, normals, [0, 1], TR, CLOSURE, problem="rd", **QUIET)
    ckpt = tmp_path / "closure.ckpt"
    train.fit_estimator(pairs, normals, [0, 1], EstimatorSpec("tr", "tr", lam=1.0),
                        {**CLOSURE, "epochs": 2},
                     problem="rd", checkpoint=ckpt, **QUIET)
    logged = []
    rerun, loss = train.fit_estimator(pairs, normals, [0, 1], TR, CLOSURE, problem="rd",
                                   checkpoint=ckpt, log=logged.append)
    assert any("discarding checkpoint" in line for line in logged)
    for key, val in fresh["weights"].items():
        assert torch.equal(val, rerun["weights"][key]), key
    assert loss.sizes["iteration"] == 3
    short = {**CLOSURE, "epochs": 1}           # the checkpoint (epoch 3) is past this budget
    alone, _ = train.fit_estimator(pairs, normals, [0, 1], TR, short, problem="rd", **QUIET)
    cut, loss = train.fit_estimator(pairs, normals, [0, 1], TR, short, problem="rd",
                                 checkpoint=ckpt, **QUIET)
    assert loss.sizes["iteration"] == 1
    for key, val in alone["weights"].items():
        assert torch.equal(val, cut["weights"][key]), key


def test_rollout_digest_follows_the_closure_and_manifold_settings(pairs):
    """Table 1 rows made with λ = 1 and λ = 10 must not carry the same config digest."""
    m_state, normals, m_loss = train.fit_manifold(pairs, MANIFOLD, problem="rd", **QUIET)
    assert m_state["config_digest"] == normals.attrs["config_digest"] == m_loss.attrs[
        "config_digest"]
    rollout_cfg = {"cap": 1e3, "snapshot_every": 5}
    digests = set()
    for lam in (1.0, 10.0):
        c_state, c_loss = train.fit_estimator(pairs, normals, [0, 1],
                                              EstimatorSpec("tr", "tr", lam=lam), CLOSURE,
                                              problem="rd", **QUIET)
        assert c_state["config_digest"] == c_loss.attrs["config_digest"]
        digests.add(io.config_digest(rollouts.rollout_config(rollout_cfg, c_state, m_state)))
    assert len(digests) == 2
    other, _, _ = train.fit_manifold(pairs, {**MANIFOLD, "lr": 2e-3}, problem="rd", **QUIET)
    assert other["config_digest"] != m_state["config_digest"]


def test_rollout_file_and_table_treat_blowups_explicitly(pairs):
    state, normals, _ = train.fit_manifold(pairs, MANIFOLD, problem="rd", **QUIET)
    ae = train.load_manifold(state, pairs)
    step = resolved_step("rd", pairs.attrs)
    exact = rollouts.simulate_split(pairs, step.exact, ae, [2], problem="rd", estimator="tr", split=0,
                              cap=1e3, snapshot_every=5, **QUIET)
    io.validate(exact, "rollout")
    assert float(exact["rel_error"].max()) < 1e-5       # float32 closure: round-off only
    assert list(exact["snapshot"].values) == [0, 5, 10, 12]

    def wild(u):
        return 1e3 * torch.ones_like(u)

    blown = rollouts.simulate_split(pairs, wild, ae, [2], problem="rd", estimator="ols", split=0,
                              cap=10.0, snapshot_every=5, **QUIET)
    b = int(blown["blowup_step"].values[0])
    assert 0 < b <= 12 and np.isinf(blown["rel_error"].values[0, b:]).all()
    table = tables.hybrid_table([exact, blown], "test")
    ols = table[table.estimator == "ols"].iloc[0]
    assert ols.blowups == 1 and np.isinf(ols.rel_error_mean)
    assert not table[["rel_error_mean", "rel_error_std"]].isna().any().any()
    assert table[table.estimator == "tr"].iloc[0].blowups == 0
    # a λ sweep's rows: after the four estimators, by λ, with a lam column
    sweep = [exact.assign_attrs(estimator=e, base=b, lam=lam)
             for e, b, lam in (("tr_lam1000", "tr", 1000.0), ("tr_lam1", "tr", 1.0),
                               ("tr", "tr", 10.0), ("ols", "ols", 0.0))]
    table = tables.hybrid_table(sweep, "test", lams={})
    assert list(table.estimator) == ["ols", "tr", "tr_lam1", "tr_lam1000"]
    assert np.isnan(table.lam[0]) and list(table.lam[1:]) == [10.0, 1.0, 1000.0]


def test_estimator_entries_are_config_data_and_the_sweep_copies_tr():
    """Estimators are config entries: a base and its settings; the λ sweep adds copies of
    the tr entry whose λ is read from the entry, never parsed back from the name."""
    hybrid = {"estimators": {"ols": {"base": "ols"}, "mine": {"base": "mols",
                                                              "weight_decay": 0.5},
                             "tr": {"base": "tr", "lam": 10.0, "units": "rate"}},
              "lam_sweep": [1.0, 10.0, 0.1234567]}
    table = estimators.estimator_table(hybrid)
    assert list(table) == ["ols", "mine", "tr", "tr_lam1", "tr_lam0.1234567"]
    assert table["mine"].weight_decay == 0.5 and table["tr_lam0.1234567"].lam == 0.1234567
    assert table["tr_lam1"].settings() == {"base": "tr", "lam": 1.0, "units": "rate",
                                           "penalty": "velocity", "reduce": "sample"}
    assert table["ols"].settings() == {"base": "ols"}
    with pytest.raises(ConfigError, match=r"estimator 'x' \(base 'ols'\) sets \['lam'\]"):
        EstimatorSpec.from_entry("x", {"base": "ols", "lam": 1.0})
    with pytest.raises(ConfigError, match="base = 'ridge' is invalid"):
        EstimatorSpec.from_entry("x", {"base": "ridge"})
    with pytest.raises(ConfigError, match="units = 'si' is invalid"):
        EstimatorSpec.from_entry("x", {"base": "tr", "units": "si"})
    with pytest.raises(ConfigError, match="needs an estimator entry named 'tr'"):
        estimators.estimator_table({"estimators": {"ols": {"base": "ols"}}, "lam_sweep": [1.0]})


def test_evaluate_train_rolls_out_the_training_trajectories():
    """The Table 1 code's protocol: one split that trains and rolls out on every
    trajectory; the paper's: random splits with unseen rollout trajectories."""
    sec = {"fom": {"trajectories": 1}, "hybrid": {"evaluate": "train", "splits": 1, "test": 1}}
    assert estimators.evaluation_split(sec, 0, seed=0) == ([0], [0])
    with pytest.raises(ConfigError, match="one split"):
        estimators.evaluation_split(sec, 1, seed=0)
    sec = {"fom": {"trajectories": 4}, "hybrid": {"evaluate": "test", "splits": 2, "test": 1}}
    train_ids, test_ids = estimators.evaluation_split(sec, 1, seed=0)
    assert len(test_ids) == 1 and not set(train_ids) & set(test_ids)


def test_latex_table_shows_a_spread_only_over_two_or_more_finite_rollouts(tmp_path):
    row = {"grid": 64, "gamma": 0.05, "estimator": "ols", "splits": 1, "rel_error_mean": 0.25,
           "rel_error_std": 0.0, "blowups": 0, "rollouts": 1}
    two = {**row, "estimator": "tr", "splits": 2, "rollouts": 2, "rel_error_std": 0.01}
    text = tables.hybrid_latex(pd.DataFrame([row, two]), tmp_path / "t.tex",
                               caption="c").read_text()
    ols = next(line for line in text.splitlines() if "& OLS &" in line)
    tr = next(line for line in text.splitlines() if "& TR &" in line)
    assert "0.25 (84)" in ols and "pm" not in ols       # one rollout: no spread to show
    assert "0.25 $\\pm$ 0.01 (0.12)" in tr


def test_manifold_resumes_to_the_same_weights(pairs, tmp_path):
    cfg = {**MANIFOLD, "batchnorm": True, "epochs": 3}
    full, _, _ = train.fit_manifold(pairs, cfg, problem="rd", **QUIET)
    ckpt = tmp_path / "manifold.ckpt"
    train.fit_manifold(pairs, {**cfg, "epochs": 2}, problem="rd", checkpoint=ckpt, **QUIET)
    resumed, normals, _ = train.fit_manifold(pairs, cfg, problem="rd", checkpoint=ckpt, **QUIET)
    for key, val in full["weights"].items():      # batch-norm running stats included
        assert torch.equal(val, resumed["weights"][key]), key
    assert normals["ae_loss"].sizes["iteration"] == 3


def test_subgrid_remainder_of_the_correction_is_first_order_in_dt():
    """y - (1 - I R) u = Δt (L_fine(u) - I L_coarse(R u)) + O(Δt²): the consistency of
    Crank-Nicolson on both grids (one-step expansion u_{k+1} = u_k + Δt u_t + O(Δt²)),
    measured as rate = log2(e(Δt) / e(Δt/2)) -> 1."""
    u = rd.solve(0.05, 16, trajectories=1, steps=1, warmup=20, dt=0.01, seed=3)
    u = torch.from_numpy(u["u"].values[0, :1]).double()
    errs = []
    for dt in (4e-3, 2e-3, 1e-3):
        y = rd.cn_step(u, dt, 0.05) - rd.coarse_step(u, dt, 0.05)
        errs.append(float((y - subgrid_detail(u)).norm()))
    rates = [np.log2(a / b) for a, b in zip(errs, errs[1:])]
    assert all(abs(r - 1) < 0.05 for r in rates), f"expected rate 1, got {rates} ({errs})"
    detail = subgrid_detail(u)
    assert float(rd.restrict(detail).abs().max()) < 1e-14        # zero mean on every block


def test_coarse_latent_autoencoder_and_subgrid_closure_round_trip(pairs):
    cfg = {**MANIFOLD, "latent": "coarse"}
    state, normals, _ = train.fit_manifold(pairs, cfg, problem="rd", **QUIET)
    ae = train.load_manifold(state, pairs)
    u = torch.from_numpy(pairs["u"].values[1, :4]).float()
    with torch.no_grad():
        rec = ae(u)
    # E = R: the coarse part of every state is reconstructed exactly
    assert torch.allclose(rd.restrict(rec), rd.restrict(u), atol=1e-6)
    assert np.isclose(float(distance(ae, u[:1])[0]), normals["distance"].values[1, 0],
                      rtol=1e-5)
    clos, _ = train.fit_estimator(pairs, normals, [0, 1], TR, {**CLOSURE, "skip": "subgrid"},
                               problem="rd", **QUIET)
    closure = train.load_closure(clos, pairs)
    dt = pairs.attrs["dt"]                  # the closure learned the rate y / Δt
    with torch.no_grad():
        r = closure.module(u) - subgrid_detail(u)
        zero = dt * closure.net.net(u)
    assert torch.allclose(r, zero, atol=1e-6)                  # output = detail + the U-Net


def test_the_subgrid_skip_needs_correction_pairs_the_coarse_latent_does_not():
    react = rd.solve(0.1, 8, trajectories=2, steps=4, warmup=1, dt=0.01, seed=1,
                     unresolved="reaction")
    state, normals, _ = train.fit_manifold(react, {**MANIFOLD, "latent": "coarse"},
                                        problem="rd", **QUIET)
    assert state["latent"] == "coarse" and np.isfinite(normals["normal"].values).all()
    u = torch.from_numpy(react["u"].values[0, :2]).float()
    ae = train.load_manifold(state, react)
    # its code is the coarse field: D(E(u)) keeps every 2 x 2 block mean of u
    assert torch.allclose(rd.restrict(ae(u)), rd.restrict(u), atol=1e-5)
    with pytest.raises(ConfigError, match="allowed: \\['conv', 'coarse'\\]"):
        train.fit_manifold(react, {**MANIFOLD, "latent": "pca"}, problem="rd", **QUIET)
    _, normals, _ = train.fit_manifold(react, MANIFOLD, problem="rd", **QUIET)
    with pytest.raises(ConfigError, match="skip = 'subgrid' needs coarse-fine correction"):
        train.fit_estimator(react, normals, [0], OLS, {**CLOSURE, "skip": "subgrid"},
                         problem="rd", **QUIET)


def test_channel_case_runs_through_the_same_functions():
    """The channel follows with its pairs and resolved step only: the manifold, TR
    closure (pressure, one channel, zero padding: the channel is not periodic) and
    rollout of the rd experiment run on its packed MAC state unchanged."""
    ds = channel.solve(300.0, 32, 8, trajectories=3, steps=12, warmup=5)
    m_state, normals, _ = train.fit_manifold(ds, MANIFOLD, problem="channel", **QUIET)
    assert normals["normal"].shape == (3, 7, 2, 32, 8)
    c_state, loss = train.fit_estimator(ds, normals, [0, 1], TR, CLOSURE, problem="channel",
                                     **QUIET)
    assert np.isfinite(loss.attrs["tr_of_data"]) and np.isfinite(loss["loss"].values).all()
    net, ae = train.load_closure(c_state, ds).module, train.load_manifold(m_state, ds)
    pads = {m.padding_mode for m in [*net.modules(), *ae.modules()]
            if isinstance(m, torch.nn.Conv2d)}
    assert pads == {"zeros"}
    assert net(torch.zeros(1, 2, 32, 8)).shape == (1, 1, 32, 8)
    ro = rollouts.simulate_split(ds, net, ae, [2], problem="channel", estimator="tr", split=0,
                           cap=1e3, snapshot_every=5, **QUIET)
    io.validate(ro, "rollout")
    assert ro["states"].shape == (1, 4, 2, 32, 8) and float(ro["rel_error"][0, 0]) == 0.0
    assert ro.attrs["reynolds"] == 300.0 and ro.attrs["unresolved"] == "pressure"


def test_run_lists_the_estimator_entries_that_run():
    """``hybrid.run`` picks entries (a quick preset runs OLS and TR of the four it
    defines); the λ sweep still copies the ``tr`` entry; a name that is not an entry
    is refused with the entries allowed."""
    hybrid = {"estimators": {"ols": {"base": "ols"}, "mols": {"base": "mols"},
                             "tr": {"base": "tr", "lam": 10.0}},
              "run": ["tr", "ols"], "lam_sweep": [1.0]}
    assert list(estimators.estimator_table(hybrid)) == ["ols", "tr", "tr_lam1"]
    assert list(estimators.estimator_table({**hybrid, "run": ["mols"]})) == ["mols", "tr_lam1"]
    with pytest.raises(ConfigError, match=r"hybrid.run = \['ridge'\] is invalid; allowed: all "
                                          r"or a non-empty list of estimator entries, of "
                                          r"\['ols', 'mols', 'tr'\]"):
        estimators.estimator_table({**hybrid, "run": ["ridge"]})
    assert list(estimators.estimator_table({**hybrid, "run": "all"})) == ["ols", "mols", "tr",
                                                                          "tr_lam1"]
