"""The hybrid experiment of one case, rule by rule: manifold, closure, rollout.

Hybrid-simulation paper, section 4 and its appendix: the trajectories of a case
(``pairs.nc``) are split at random into training and test trajectories (the
paper: 10 trajectories, 9 train / 1 test, 10 splits); a convolutional
autoencoder is trained on all states of the case (no split, as in the paper)
and its normals ∇F are stored once; each estimator's U-Net is trained on the
training trajectories of a split; the hybrid model is rolled out from the first
state of every test trajectory for its full length.

Each function returns xarray datasets that follow the NetCDF contract
(``romflow.io``) and plain state dicts for ``io.save_model``; the rule scripts
only read, call and write.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from romflow import io
from romflow.errors import ConfigError, DataError
from romflow.hybrid.closures import (ESTIMATORS, ClosureSpec, fit_closure, tr_coefficients,
                                     evaluate, tr_floor, tr_of_data)
from romflow.hybrid.manifold import Manifold, distance
from romflow.hybrid.networks import (CoarseLatentAutoencoder, ConvNet, SubgridSkip,
                                     subgrid_detail)
from romflow.hybrid.simulate import resolved_step, rollout

__all__ = ["split_trajectories", "training_steps", "surrogate", "fit_manifold", "load_manifold",
           "fit_estimator", "load_closure", "rollout_config", "simulate_split",
           "sweep_estimator", "parse_estimator"]

NET_SOLVER = "romflow.hybrid (ConvNet U-Net / autoencoder, torch)"
SWEEP_PREFIX = "tr_lam"


def sweep_estimator(lam: float) -> str:
    """The estimator name of TR at penalty ``lam`` in a λ sweep: ``tr_lam100``,
    ``tr_lam0.001``, ``tr_lam1e-05``: λ as ``'%g'`` writes it, or as ``repr`` where
    ``'%g'`` would round it, so that the name gives back λ exactly."""
    lam = float(lam)
    if not (np.isfinite(lam) and lam >= 0):
        raise ConfigError(f"TR penalty lam = {lam} is invalid; allowed: a finite number >= 0")
    text = f"{lam:g}"
    return SWEEP_PREFIX + (text if float(text) == lam else repr(lam))


def parse_estimator(name: str) -> tuple[str, float | None]:
    """``(estimator, lam)`` of an estimator name: ``'tr_lam100'`` -> ``('tr', 100.0)``,
    ``'ols'`` -> ``('ols', None)``; anything else stops with the names allowed."""
    if name in ESTIMATORS:
        return name, None
    if name.startswith(SWEEP_PREFIX):
        try:
            lam = float(name[len(SWEEP_PREFIX):])
        except ValueError:
            lam = float("nan")
        if np.isfinite(lam) and lam >= 0 and sweep_estimator(lam) == name:
            return "tr", lam
    raise ConfigError(f"estimator {name!r} is unknown; allowed: one of {list(ESTIMATORS)} or "
                      f"'{SWEEP_PREFIX}<lam>' with lam >= 0 written as sweep_estimator "
                      f"writes it (e.g. {sweep_estimator(100.0)!r})")


def split_trajectories(trajectories: int, splits: int, test: int, seed: int):
    """Random train/test splits: ``[(train_ids, test_ids), ...]``.

    One seeded permutation of the trajectories; split s tests on its entries
    ``s*test ... s*test + test - 1`` (cyclically), so with 10 trajectories, one
    test trajectory and 10 splits every trajectory is tested exactly once.
    """
    if not 1 <= test < trajectories:
        raise ConfigError(f"test trajectories per split = {test} is invalid with "
                          f"{trajectories} trajectories; allowed: 1 .. {trajectories - 1}")
    if splits < 1:
        raise ConfigError(f"splits = {splits} is invalid; allowed: >= 1")
    perm = np.random.default_rng(seed).permutation(trajectories)
    out = []
    for s in range(splits):
        test_ids = sorted(int(perm[(s * test + j) % trajectories]) for j in range(test))
        out.append(([t for t in range(trajectories) if t not in test_ids], test_ids))
    return out


def training_steps(pairs: xr.Dataset, every: int) -> np.ndarray:
    """Steps with a defined unresolved part (finite in every trajectory), every ``every``-th."""
    finite = np.isfinite(pairs["unresolved"].values).reshape(
        pairs.sizes[io.TRAJECTORY], pairs.sizes[io.STEP], -1).all(axis=(0, 2))
    steps = np.flatnonzero(finite)[::int(every)]
    if steps.size == 0:
        raise DataError("pairs: no step has a finite unresolved part")
    return steps


def _states(pairs, name, trajectories, steps) -> torch.Tensor:
    """Fields of ``name`` at every (trajectory, step), trajectory-major: ``(N, C, H, W)``,
    C = 1 for a field without a ``component`` dimension (the channel's pressure)."""
    var = pairs[name].isel({io.TRAJECTORY: list(trajectories), io.STEP: list(steps)})
    out = torch.from_numpy(np.ascontiguousarray(var.values)).flatten(0, 1).float()
    return out if "component" in var.dims else out.unsqueeze(1)


def _where(trajectories, steps):
    """(trajectory ids, step ids) of the samples of :func:`_states`, for the resolved step."""
    traj, st = np.meshgrid(np.asarray(list(trajectories)), np.asarray(list(steps)),
                           indexing="ij")
    return traj.reshape(-1), st.reshape(-1)


def _channels(pairs, name) -> int:
    return int(pairs[name].sizes.get("component", 1))


def _step(pairs):
    """The resolved step of the problem that made ``pairs`` (its ``problem`` attribute)."""
    return resolved_step(pairs.attrs.get("problem", ""), pairs)


def _net(pairs, widths, skips, batchnorm=False, in_scale=1.0, out_scale=1.0, out="u"):
    """A U-Net (``skips``) or plain conv net from the state to ``out`` (``"u"`` or
    ``"unresolved"``), padded as the problem's domain is (circular when periodic)."""
    grid = pairs["u"].shape[-2:]
    halvings = len(widths) - 1
    if any(n % 2**halvings for n in grid):
        raise ConfigError(f"network widths {list(widths)} halve the grid {halvings} times, but "
                          f"the grid {tuple(grid)} is not divisible by {2**halvings}; allowed: "
                          f"at most {_max_halvings(grid) + 1} widths")
    return ConvNet(_channels(pairs, "u"), _channels(pairs, out), widths, skips=skips,
                   periodic=_step(pairs).periodic, batchnorm=batchnorm, in_scale=in_scale,
                   out_scale=out_scale)


LATENTS = ("conv", "coarse")
SKIPS = ("none", "subgrid")


def _coarse_fine(pairs, key, value, plain):
    """``skip: subgrid`` needs the coarse–fine correction problem (its y is the
    sub-grid detail plus a remainder); ``latent: coarse`` only needs a fine grid
    that the 2 x 2 restriction can halve, so it serves both rd problems."""
    if pairs.attrs.get("unresolved") != "correction":
        raise ConfigError(f"{key} = {value!r} needs coarse-fine correction pairs (rd with "
                          f"unresolved: correction), but these pairs have unresolved = "
                          f"{pairs.attrs.get('unresolved')!r}; allowed here: {key} = {plain!r}")


def _autoencoder(pairs, widths, latent, batchnorm=False, u=None):
    """The manifold autoencoder: the U-Net without skips (``conv``) or the coarse-latent
    one (``coarse``); ``u`` (training states) sets the data scaling when given."""
    if latent not in LATENTS:
        raise ConfigError(f"manifold latent = {latent!r} is invalid; allowed: {list(LATENTS)}")
    if latent == "conv":
        scale = 1.0 if u is None else float(u.std())
        return _net(pairs, widths, skips=False, batchnorm=batchnorm, in_scale=scale,
                    out_scale=scale)
    su, sd = (1.0, 1.0) if u is None else (float(u.std()), float(subgrid_detail(u).std()))
    return CoarseLatentAutoencoder(_net(pairs, widths, skips=True, batchnorm=batchnorm,
                                        in_scale=su, out_scale=sd))


def surrogate(pairs, widths, skip, batchnorm=False, u=None, y=None):
    """The closure U-Net, with the sub-grid skip when ``skip == "subgrid"``; ``u, y``
    (training pairs) set the data scaling when given."""
    if skip not in SKIPS:
        raise ConfigError(f"closure skip = {skip!r} is invalid; allowed: {list(SKIPS)}")
    if skip == "none":
        su, sy = (1.0, 1.0) if u is None else (float(u.std()), float(y.std()))
        return _net(pairs, widths, skips=True, batchnorm=batchnorm, in_scale=su, out_scale=sy,
                    out="unresolved")
    _coarse_fine(pairs, "skip", skip, SKIPS[0])
    su, sr = (1.0, 1.0) if u is None else (float(u.std()), float((y - subgrid_detail(u)).std()))
    return SubgridSkip(_net(pairs, widths, skips=True, batchnorm=batchnorm, in_scale=su,
                            out_scale=sr, out="unresolved"))


def _max_halvings(grid) -> int:
    k = 0
    while all(n % 2 ** (k + 1) == 0 for n in grid):
        k += 1
    return k


def _checkpoint_digest(config: dict, section: str, seed: int) -> str:
    """The settings a training checkpoint must share to be resumed: all of ``config``
    and the seed but the epoch budget (a longer run may go on from a shorter one)
    and the checkpoint interval."""
    own = {k: v for k, v in config[section].items() if k not in ("epochs", "checkpoint_every")}
    return io.config_digest({**config, section: own, "seed": int(seed)})


def _loss_dataset(history: dict, problem: str, what: str, config, **extra) -> xr.Dataset:
    n = len(history["loss"])
    data = {key: io.variable((io.ITERATION,), np.asarray(val, dtype=np.float64), units="1",
                             long_name=f"{what}: {key} per epoch")
            for key, val in history.items()}
    return xr.Dataset(data, coords={io.ITERATION: np.arange(1, n + 1)},
                      attrs=io.provenance("loss", problem, equation="see pairs.nc",
                                          solver=NET_SOLVER, scheme=f"Adam, {what}",
                                          config=config, **extra))


def fit_manifold(pairs: xr.Dataset, cfg: dict, *, problem: str, seed: int = 0,
                 checkpoint=None, log=print, device="cpu"):
    """Autoencoder on all states of the case, then the normals at the training states.

    ``cfg``: ``widths, epochs, lr, batch, every, checkpoint_every``.  Training and
    the normals run on ``device``; the returned weights are on the CPU.  Returns
    ``(model_state, normals_ds, loss_ds)``; their config digest covers ``cfg`` and
    the pairs file's own digest (the FOM settings).
    """
    config = {"manifold": dict(cfg), "pairs": pairs.attrs.get("config_digest", "unrecorded")}
    steps = training_steps(pairs, cfg["every"])
    trajs = range(pairs.sizes[io.TRAJECTORY])
    states = _states(pairs, "u", trajs, range(0, pairs.sizes[io.STEP], int(cfg["every"])))
    torch.manual_seed(seed)
    bn = bool(cfg.get("batchnorm", False))
    latent = cfg.get("latent", "conv")
    ae = _autoencoder(pairs, cfg["widths"], latent, batchnorm=bn, u=states)
    man = Manifold(ae, epochs=cfg["epochs"], lr=cfg["lr"], batch=cfg["batch"], seed=seed,
                   device=device)
    man.fit(states, log=log, checkpoint=checkpoint,
            checkpoint_every=cfg.get("checkpoint_every", 0),
            digest=_checkpoint_digest(config, "manifold", seed))
    u = _states(pairs, "u", trajs, steps)
    n = man.normals(u)
    f = man.distance(u)
    rel = float((f / u.flatten(1).norm(dim=1)).mean())
    log(f"autoencoder: final loss {man.loss_[-1]:.3e}, mean F(u)/|u| = {rel:.3e} over "
        f"{u.shape[0]} training states")
    shape = (len(trajs), len(steps)) + tuple(u.shape[1:])
    dims = (io.TRAJECTORY, io.STEP) + pairs["u"].dims[2:]
    coords = {io.TRAJECTORY: pairs[io.TRAJECTORY].values, io.STEP: steps,
              **_space_coords(pairs)}
    ds = xr.Dataset(
        {"normal": io.variable(dims, n.reshape(shape).numpy(), units="1",
                               long_name="manifold normal grad F(u) at the training states"),
         "distance": io.variable(dims[:2], f.reshape(shape[:2]).numpy().astype(np.float64),
                                 units="1", long_name="F(u) = |u - D(E(u))|_2"),
         "ae_loss": io.variable((io.ITERATION,), np.asarray(man.loss_), units="1",
                                long_name="autoencoder mean squared reconstruction error")},
        coords={**coords, io.ITERATION: np.arange(1, len(man.loss_) + 1)},
        attrs=io.provenance("normals", problem, equation="F(u) = |u - D(E(u))|_2",
                            solver=NET_SOLVER,
                            scheme=f"convolutional autoencoder (latent: {latent}), autograd",
                            config=config, mean_relative_distance=rel))
    state = {"weights": ae.cpu().state_dict(), "widths": list(cfg["widths"]), "skips": False,
             "batchnorm": bn, "latent": latent, "config_digest": io.config_digest(config)}
    return state, ds, _loss_dataset({"loss": man.loss_}, problem, "autoencoder", config)


def load_manifold(state: dict, pairs: xr.Dataset) -> torch.nn.Module:
    ae = _autoencoder(pairs, state["widths"], state.get("latent", "conv"),
                      batchnorm=state.get("batchnorm", False))
    ae.load_state_dict(state["weights"])
    return ae.eval().requires_grad_(False)


def fit_estimator(pairs: xr.Dataset, normals_ds: xr.Dataset, train_ids, estimator: str,
                  cfg: dict, *, problem: str, seed: int = 0, checkpoint=None, log=print,
                  device="cpu"):
    """Train one estimator's U-Net on the training trajectories of a split.

    ``cfg``: ``widths, epochs, lr, batch, patience, checkpoint_every`` and the
    estimator's own setting (``weight_decay`` mOLS, ``noise`` aOLS, ``lam`` TR).
    The training steps are those of ``normals_ds``, so TR uses the precomputed
    normals.  aOLS's input noise is ``noise`` times the standard deviation of the
    states.  Returns ``(model_state, loss_ds)``; their config digest covers ``cfg``,
    the training trajectories, the seed and the normals file's digest.  Training
    runs on ``device`` (the TR coefficients are computed on the CPU first); the
    returned weights are on the CPU.
    """
    config = {"closure": dict(cfg), "train": [int(t) for t in train_ids], "seed": int(seed),
              "normals": normals_ds.attrs.get("config_digest", "unrecorded")}
    steps = normals_ds[io.STEP].values
    u = _states(pairs, "u", train_ids, steps)
    y = _states(pairs, "unresolved", train_ids, steps)
    su = float(u.std())
    own = {"weight_decay": cfg.get("weight_decay", 0.0), "noise": cfg.get("noise", 0.0) * su,
           "lam": cfg.get("lam", 0.0)}
    spec = ClosureSpec(estimator, epochs=cfg["epochs"], lr=cfg["lr"], batch=cfg["batch"],
                       patience=cfg["patience"], **own)
    tr, extra = None, {}
    if estimator == "tr":
        n = _states(normals_ds, "normal", train_ids, range(len(steps)))
        step = resolved_step(problem, pairs)
        drift = step.drift(u.double(), _where(train_ids, steps)).float()
        tr = tr_coefficients(n, drift, step.coupling_adjoint)
        extra["tr_of_data"] = tr_of_data(tr, y)
        extra["lam"] = float(spec.lam)
        extra["tr_floor"], extra["tr_floor_mse"] = tr_floor(tr, y, spec.lam)
        log(f"tr: the data's own y gives a TR term mean_i (n_i^T L(u_i, y_i))^2 = "
            f"{extra['tr_of_data']:.4e} (0 for normals exactly normal to the data's "
            f"velocity), a TR loss of lam times it; the best closure on these pairs "
            f"reaches a TR loss of {extra['tr_floor']:.4e} at an MSE of "
            f"{extra['tr_floor_mse']:.4e} (tr_floor, tr_floor_mse)")
    torch.manual_seed(seed)
    bn = bool(cfg.get("batchnorm", False))
    skip = cfg.get("skip", "none")
    net = surrogate(pairs, cfg["widths"], skip, batchnorm=bn, u=u, y=y)
    log(f"{estimator}: {u.shape[0]} training pairs from trajectories {list(train_ids)}")
    hist = fit_closure(net, u, y, spec, tr=tr, seed=seed, log=log, checkpoint=checkpoint,
                       checkpoint_every=cfg.get("checkpoint_every", 0),
                       digest=_checkpoint_digest(config, "closure", seed), device=device)
    final = evaluate(net, u, y, tr, spec.lam if tr is not None else 0.0, batch=spec.batch)
    net.cpu()
    extra.update({f"final_{key}": val for key, val in final.items()})
    msg = (f"{estimator}: trained closure (eval mode) on its pairs: loss {final['loss']:.4e} "
           f"(mse {final['mse']:.4e}, tr {final['tr']:.4e})")
    if tr is not None:
        msg += f", {final['loss'] / max(extra['tr_floor'], 1e-300):.3g} times the floor"
    log(msg)
    state = {"weights": net.state_dict(), "widths": list(cfg["widths"]), "skips": True,
             "batchnorm": bn, "estimator": estimator, "skip": skip,
             "config_digest": io.config_digest(config)}
    return state, _loss_dataset(hist, problem, f"closure {estimator}", config, **extra)


def load_closure(state: dict, pairs: xr.Dataset) -> torch.nn.Module:
    net = surrogate(pairs, state["widths"], state.get("skip", "none"),
                     batchnorm=state.get("batchnorm", False))
    net.load_state_dict(state["weights"])
    return net.eval().requires_grad_(False)


def rollout_config(rollout_cfg: dict, closure_state: dict, manifold_state: dict) -> dict:
    """What a rollout file's config digest covers: its own settings and the digests
    of the closure and autoencoder it runs, which cover their training settings and,
    through the normals and pairs, everything upstream.  Two Table 1 runs that
    differ only in λ thus carry different digests."""
    return {"rollout": dict(rollout_cfg),
            "closure": closure_state.get("config_digest", "unrecorded"),
            "manifold": manifold_state.get("config_digest", "unrecorded")}


def simulate_split(pairs: xr.Dataset, closure, autoencoder, test_ids, *, problem: str,
                   estimator: str, split: int, cap: float, snapshot_every: int,
                   config=None, log=print) -> xr.Dataset:
    """Hybrid rollouts from the first state of every test trajectory ('rollout' file).

    Per step: relative error ||û_k - u_k|| / ||u_k|| and distribution shift F(û_k);
    the blow-up step (-1: none; the error is +inf and the shift NaN from there
    on); states every ``snapshot_every`` steps (NaN after a blow-up).
    """
    step = resolved_step(problem, pairs)
    dist = lambda x: distance(autoencoder, x.float()).double()  # noqa: E731
    clos = lambda x: closure(x.float()).double()  # noqa: E731
    n_steps = pairs.sizes[io.STEP]
    snaps = np.arange(0, n_steps, int(snapshot_every))
    if snaps[-1] != n_steps - 1:
        snaps = np.append(snaps, n_steps - 1)
    err, shift, blow, states = [], [], [], []
    for t in test_ids:
        ref = torch.from_numpy(pairs["u"].isel({io.TRAJECTORY: t}).values).double()
        with torch.no_grad():
            out = rollout(step, clos, ref, trajectory=t, distance=dist, cap=cap)
        err.append(out["rel_error"].numpy())
        shift.append(out["shift"].numpy())
        blow.append(out["blowup_step"])
        snap = np.full((len(snaps),) + tuple(ref.shape[1:]), np.nan, dtype=np.float32)
        ok = snaps < out["states"].shape[0]
        snap[ok] = out["states"][snaps[ok]].numpy()
        states.append(snap)
        log(f"{estimator} split {split} trajectory {t}: error at the last step "
            f"{err[-1][-1]:.3e}, blow-up step {blow[-1]}")
    dims = pairs["u"].dims[2:]
    coords = {io.TRAJECTORY: np.asarray(test_ids), io.STEP: pairs[io.STEP].values,
              "snapshot": snaps, **_space_coords(pairs)}
    after = "after blowup_step (the rollout stopped there)"
    return xr.Dataset(
        {"rel_error": io.variable((io.TRAJECTORY, io.STEP), np.stack(err), units="1",
                                  long_name="relative error |u_hat - u| / |u|",
                                  nonfinite_means=f"+inf {after}"),
         "shift": io.variable((io.TRAJECTORY, io.STEP), np.stack(shift), units="1",
                              long_name="distribution shift F(u_hat)",
                              nonfinite_means=f"NaN {after}"),
         "blowup_step": io.variable((io.TRAJECTORY,), np.asarray(blow, dtype=np.int64),
                                    units="1", long_name="first step that blew up (-1: none)"),
         "states": io.variable((io.TRAJECTORY, "snapshot") + tuple(dims), np.stack(states),
                               units="1", long_name="hybrid rollout states at snapshots",
                               nonfinite_means=f"NaN {after}"),
         "reference": io.variable(
             (io.TRAJECTORY, "snapshot") + tuple(dims),
             pairs["u"].isel({io.TRAJECTORY: list(test_ids), io.STEP: snaps}).values,
             units="1", long_name="reference states at snapshots")},
        coords=coords,
        attrs=io.provenance("rollout", problem, equation=pairs.attrs.get("equation", ""),
                            solver="romflow.hybrid.simulate.rollout",
                            scheme=f"resolved step + learned {estimator} closure",
                            config=config, estimator=estimator, split=int(split),
                            cap=float(cap), **_case_attrs(pairs)))


def _space_coords(pairs) -> dict:
    """Coordinates of the per-state dimensions (component, y, x, ...) of a pairs file."""
    return {d: pairs[d].values for d in pairs["u"].dims[2:] if d in pairs.coords}


def _case_attrs(pairs) -> dict:
    """The sweep values a pairs file names (grid, gamma, ...), as plain Python values."""
    keys = ("grid", "gamma", "reynolds", "nx", "ny", "unresolved")
    return {k: np.asarray(pairs.attrs[k]).item() for k in keys if k in pairs.attrs}
