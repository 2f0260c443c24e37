"""Training of one hybrid case, rule by rule: the manifold, then each closure.

Hybrid-simulation paper, section 4 and its appendix: a convolutional
autoencoder is trained on all states of the case (no split, as in the paper)
and its normals ∇F are stored once; each estimator's U-Net is trained on the
training trajectories of a split.  Each function returns xarray datasets that
follow the NetCDF contract (``romflow.io``) and plain state dicts for
``io.save_model``; the rule scripts only read, call and write.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from romflow import io
from romflow.checkpoint import binding
from romflow.hybrid import data, factory
from romflow.hybrid.closures import (Closure, TrainSettings, evaluate, tr_coefficients,
                                     tr_floor, tr_of_data)
from romflow.hybrid.estimators import EstimatorSpec
from romflow.hybrid.manifold import Manifold
from romflow.hybrid.simulate import resolved_step

__all__ = ["NET_SOLVER", "fit_manifold", "load_manifold", "fit_estimator", "load_closure"]

NET_SOLVER = "romflow.hybrid (ConvNet U-Net / autoencoder, torch)"
# settings that do not change what a training computes: a longer run may go on from
# a shorter one's checkpoint, and the checkpoint interval is bookkeeping
_NOT_BOUND = ("epochs", "checkpoint_every")


def _bound(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in _NOT_BOUND}


def _loss_dataset(history: dict, problem: str, what: str, config, **extra) -> xr.Dataset:
    n = len(next(iter(history.values())))
    vars_ = {key: io.variable((io.ITERATION,), np.asarray(val, dtype=np.float64), units="1",
                              long_name=f"{what}: {key} per epoch")
             for key, val in history.items()}
    return xr.Dataset(vars_, coords={io.ITERATION: np.arange(1, n + 1)},
                      attrs=io.provenance("loss", problem, equation="see pairs.nc",
                                          solver=NET_SOLVER, scheme=f"Adam, {what}",
                                          config=config, **extra))


def fit_manifold(pairs: xr.Dataset, cfg: dict, *, problem: str, seed: int = 0,
                 checkpoint=None, log=print, device="cpu", protocol: str = ""):
    """Autoencoder on all states of the case, then the normals and distances at the
    training states.

    ``cfg``: ``widths, epochs, lr, batch, every, latent, batchnorm,
    checkpoint_every``.  Returns ``(model_state, normals_ds, loss_ds)``; their
    config digest covers ``cfg`` and the pairs file's own digest.
    """
    config = {"manifold": dict(cfg), "pairs": pairs.attrs.get("config_digest", "unrecorded")}
    steps = data.training_steps(pairs, cfg["every"])
    trajs = range(pairs.sizes[io.TRAJECTORY])
    states = data.states(pairs, "u", trajs, range(0, pairs.sizes[io.STEP], int(cfg["every"])))
    torch.manual_seed(seed)
    bn = bool(cfg.get("batchnorm", False))
    latent = cfg.get("latent", "conv")
    ae = factory.autoencoder(pairs, cfg["widths"], latent, batchnorm=bn, u=states)
    man = Manifold(ae, epochs=cfg["epochs"], lr=cfg["lr"], batch=cfg["batch"], seed=seed,
                   device=device)
    man.fit(states, log=log, checkpoint=checkpoint,
            checkpoint_every=cfg.get("checkpoint_every", 0),
            digest=binding({**config, "manifold": _bound(cfg), "seed": int(seed)}, pairs),
            divergence=cfg.get("divergence", 1e4))
    u = data.states(pairs, "u", trajs, steps)
    n = man.normals(u)
    f = man.distance(u)
    rel = float((f / u.flatten(1).norm(dim=1)).mean())
    log(f"autoencoder: final loss {man.loss_[-1]:.3e}, mean F(u)/|u| = {rel:.3e} over "
        f"{u.shape[0]} training states")
    shape = (len(trajs), len(steps)) + tuple(u.shape[1:])
    dims = (io.TRAJECTORY, io.STEP) + pairs["u"].dims[2:]
    coords = {io.TRAJECTORY: pairs[io.TRAJECTORY].values, io.STEP: steps,
              **data.space_coords(pairs)}
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
                            config=config, mean_relative_distance=rel, protocol=protocol))
    state = {"weights": ae.cpu().state_dict(), "widths": list(cfg["widths"]), "skips": False,
             "batchnorm": bn, "latent": latent, "config_digest": io.config_digest(config)}
    return state, ds, _loss_dataset({"loss": man.loss_}, problem, "autoencoder", config,
                                    protocol=protocol)


def load_manifold(state: dict, pairs: xr.Dataset) -> torch.nn.Module:
    ae = factory.autoencoder(pairs, state["widths"], state.get("latent", "conv"),
                             batchnorm=state.get("batchnorm", False))
    ae.load_state_dict(state["weights"])
    return ae.eval().requires_grad_(False)


def fit_estimator(pairs: xr.Dataset, normals_ds: xr.Dataset, train_ids, spec: EstimatorSpec,
                  cfg: dict, *, problem: str, resolved: str = "crank_nicolson",
                  protocol: str = "", seed: int = 0, checkpoint=None, log=print,
                  device="cpu"):
    """Train one estimator's U-Net on the training trajectories of a split.

    ``spec``: the estimator entry; ``cfg``: the closure's training settings
    (``widths, skip, batchnorm, epochs, lr, batch, patience, checkpoint_every``);
    ``resolved``: the resolved step (``hybrid.resolved_step``).  The training steps
    are those of ``normals_ds``, so TR uses the precomputed normals.  aOLS's input
    noise is ``spec.noise`` times the standard deviation of the states.  Returns
    ``(model_state, loss_ds)``; their config digest covers the estimator, ``cfg``,
    the training trajectories, the seed and the normals file's digest, and the
    loss file records λ, the units, the protocol and, for TR, the loss floor.
    """
    config = {"estimator": spec.settings(), "closure": dict(cfg), "resolved_step": resolved,
              "train": [int(t) for t in train_ids], "seed": int(seed),
              "normals": normals_ds.attrs.get("config_digest", "unrecorded")}
    steps = normals_ds[io.STEP].values
    u = data.states(pairs, "u", train_ids, steps)
    y = data.states(pairs, "unresolved", train_ids, steps)
    step = resolved_step(problem, pairs, resolved)
    ids = [list(normals_ds[io.TRAJECTORY].values).index(t) for t in train_ids]
    tr = None
    if spec.base == "tr":
        n = data.states(normals_ds, "normal", ids, range(len(steps)))
        drift = step.drift(u.double(), data.where(train_ids, steps)).float()
        tr = tr_coefficients(n, drift, step.coupling_adjoint)
    torch.manual_seed(seed)
    probe = Closure(spec, torch.nn.Identity(), step.increment_scale)
    targets, tr_units = probe.targets(y, tr)
    net = factory.surrogate(pairs, cfg["widths"], cfg.get("skip", "none"),
                            batchnorm=bool(cfg.get("batchnorm", False)), u=u, y=targets,
                            scale=probe.scale)
    closure = Closure(spec, net, step.increment_scale)
    penalty = None
    extra = {"estimator": spec.name, "base": spec.base, "lam": float(spec.lam),
             "units": spec.units, "protocol": protocol, "resolved_step": resolved,
             "increment_scale": float(closure.scale)}
    if tr is not None:
        dist = torch.from_numpy(normals_ds["distance"].isel(
            {io.TRAJECTORY: ids}).values.reshape(-1)).float()
        penalty = closure.penalty(tr_units, normals=data.states(
            normals_ds, "normal", ids, range(len(steps))), distances=dist)
        extra.update(penalty=spec.penalty, reduce=spec.reduce,
                     tr_of_data=tr_of_data((penalty.c, penalty.m), targets))
        extra["tr_floor"], extra["tr_floor_mse"] = tr_floor((penalty.c, penalty.m), targets,
                                                             spec.lam)
        log(f"{spec.name}: in {spec.units} units the data's own targets give a TR term "
            f"{extra['tr_of_data']:.4e}; the best closure on these pairs reaches a TR loss "
            f"of {extra['tr_floor']:.4e} at an MSE of {extra['tr_floor_mse']:.4e} "
            f"(tr_floor, tr_floor_mse; per-sample form)")
    log(f"{spec.name}: {u.shape[0]} training pairs from trajectories {list(train_ids)}")
    settings = TrainSettings.from_config(cfg)
    closure.fit(u, targets, settings, penalty=penalty, noise_std=spec.noise * float(u.std()),
                seed=seed, checkpoint=checkpoint, checkpoint_every=cfg.get("checkpoint_every", 0),
                digest=binding({**config, "closure": _bound(cfg)}, pairs, normals_ds), log=log,
                device=device)
    final = evaluate(net, u, targets, penalty, batch=settings.batch)
    net.cpu()
    extra.update({f"final_{key}": val for key, val in final.items()})
    msg = (f"{spec.name}: trained closure (eval mode) on its pairs: loss {final['loss']:.4e} "
           f"(mse {final['mse']:.4e}, tr {final['tr']:.4e})")
    if tr is not None:
        ratio = final["loss"] / max(extra["tr_floor"], 1e-300)
        extra["final_over_floor"] = ratio
        msg += f", {ratio:.3g} times the floor"
    log(msg)
    state = {**closure.save(), "widths": list(cfg["widths"]), "skip": cfg.get("skip", "none"),
             "batchnorm": bool(cfg.get("batchnorm", False)), "resolved_step": resolved,
             "protocol": protocol, "config_digest": io.config_digest(config)}
    return state, _loss_dataset(closure.history_, problem, f"closure {spec.name}", config,
                                **extra)


def load_closure(state: dict, pairs: xr.Dataset) -> Closure:
    """The :class:`~romflow.hybrid.closures.Closure` saved by :func:`fit_estimator`."""
    net = factory.surrogate(pairs, state["widths"], state.get("skip", "none"),
                            batchnorm=state.get("batchnorm", False),
                            scale=float(state.get("scale", 1.0)))
    return Closure.load(state, net)
