"""Training of mLaSDI stages: stage 1 (GPLaSDI) and the residual stages k >= 2.

Stage 1 minimizes the GPLaSDI loss

    L = L_AE + beta1 L_DI + beta2 P(Xi)

with Xi refitted by batched least squares (eq. 10) at every iteration and
P(Xi) the coefficient penalty of ``spec.coef_penalty``: ``norm``, the mean over
training parameters of the unsquared norm ||Xi_i|| (what GPLaSDI's code
computes), or ``squared``, ||Xi||^2 summed over parameters (eq. 14 as written).
Stage k >= 2 trains a sine decoder on the stage-1 SINDy latent trajectories
Z^ to fit the normalized residual of the earlier stages (eq. 18).  Both use
full-batch Adam in :class:`romflow.training.TrainingLoop` (NaN and divergence
stops, checkpoints, the kept iterate) and may continue a previous segment of
the same run (``resume``: its training state), so iteration counts are
checkpoints of one run.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import xarray as xr

from romflow import io
from romflow.checkpoint import Checkpoint, binding
from romflow.lasdi.autoencoder import Autoencoder, SineDecoder
from romflow.lasdi.rollout import integrate
from romflow.lasdi.sindy import SINDy, term_names
from romflow.lasdi.stages import compose, load_stages, residual
from romflow.metrics import max_relative_error
from romflow.model_specs import ModelSpec, Monitor, StageSpec
from romflow.training import TrainingLoop

__all__ = ["fit_stage1", "fit_stage", "training_data", "train_loop"]


def training_data(fom: xr.Dataset, device="cpu"):
    """Training snapshots ``u : (param, time, N_u)`` (float32), times and dt."""
    train = fom.sel({io.PARAM: fom[io.SPLIT] == "train"})
    u = torch.as_tensor(train["u"].values.reshape(train.sizes[io.PARAM], train.sizes[io.TIME], -1),
                        dtype=torch.float32, device=device)
    t = torch.tensor(fom[io.TIME].values, dtype=torch.float64)
    return train, u, t, float(t[1] - t[0])


def train_loop(loop: TrainingLoop, step, n: int, *, resume=None, checkpoint=None,
               digest: str = "", monitor: Monitor | None = None, log=print) -> float:
    """Continue ``resume`` (a training state) if given, then run ``loop`` to ``n``
    steps, checkpointing under ``checkpoint`` (a path) with binding ``digest``.
    Returns the seconds this call trained."""
    monitor = monitor or Monitor()
    if resume is not None:
        loop.restore(resume)
        log(f"{loop.desc}: continuing the run from step {loop.iteration}")
    t0 = time.perf_counter()
    if checkpoint is None:
        loop.run(step, n, log_every=monitor.log_every)
    else:
        with Checkpoint(checkpoint, digest, log=log) as ckpt:
            loop.run(step, n, checkpoint=ckpt, checkpoint_every=monitor.checkpoint_every,
                     log_every=monitor.log_every)
            ckpt.discard()
    return time.perf_counter() - t0


def _seconds(resume) -> float:
    return float(resume.get("total_seconds", 0.0)) if resume is not None else 0.0


def _train_state(loop: TrainingLoop, digest: str, total_seconds: float) -> dict:
    return {**loop.state(), "digest": digest, "created": io.now(),
            "total_seconds": total_seconds}


def _loss_dataset(history: dict, problem: str, stage: int, config, inputs, *, seconds: float,
                  total_seconds: float, best: int) -> xr.Dataset:
    names = {"total": "total loss", "ae": "reconstruction loss L_AE, eq. (7) (mean)",
             "di": "latent dynamics loss L_DI, eq. (13) (mean over parameters)",
             "coef": "coefficient penalty P(Xi) (coef_penalty)",
             "mse": "MSE of the normalized residual, eq. (18)"}
    n = len(next(iter(history.values())))
    data = {("loss" if key in ("total", "mse") else f"loss_{key}"):
            io.variable((io.ITERATION,), val, units="1", long_name=names[key])
            for key, val in history.items()}
    return xr.Dataset(data, coords={io.ITERATION: np.arange(1, n + 1)},
                      attrs=io.provenance("loss", problem, equation=f"mLaSDI stage {stage}",
                                          solver="torch Adam", scheme="full batch",
                                          config=config, inputs=inputs, stage=stage,
                                          train_seconds=seconds, total_seconds=total_seconds,
                                          kept_iteration=best))


def fit_stage1(fom: xr.Dataset, spec: ModelSpec, *, iterations: int | None = None,
               resume=None, device="cpu", seed: int = 0, checkpoint=None,
               monitor: Monitor | None = None, config=None, log=print):
    """Train the stage-1 autoencoder and latent dynamics (GPLaSDI).

    ``iterations`` (default ``spec.stage(1).iterations``) is where training
    stops; ``resume`` is the training state of an earlier segment of the same
    run to continue from.  ``config`` is what the files' ``config_digest``
    covers besides the FOM (default: the spec's stage-1 settings and the
    iteration count).  Returns ``(model_state, train_state, latent, loss)``:
    the model file contents (the kept iterate, ``spec.keep``), what a later
    segment continues from, a 'latent' dataset (encoder latents ``z``, SINDy
    trajectories ``z_sindy``, coefficients ``xi`` of the training parameters)
    and a 'loss' dataset of every iteration so far.
    """
    n = int(iterations if iterations is not None else spec.stage(1).iterations)
    if config is None:
        config = {"settings": spec.stage_settings(1), "iterations": n, "seed": seed}
    digest = io.upstream_digest(config, fom)
    torch.manual_seed(seed)
    train, u, t, dt = training_data(fom, device)
    kwargs = {"n_in": u.shape[-1], "hidden": list(spec.hidden), "latent": spec.latent,
              "init": spec.init}
    ae = Autoencoder(**kwargs).to(device)
    sindy = SINDy(spec.library, spec.derivative)
    loop = TrainingLoop(ae, torch.optim.Adam(ae.parameters(), lr=spec.stage(1).lr),
                        ["total", "ae", "di", "coef"], keep=spec.keep,
                        divergence=(monitor or Monitor()).divergence,
                        desc=f"{spec.name} stage 1", log=log)

    def step(_loop, _i):
        z = ae.encode(u)
        l_ae = torch.mean((ae.decode(z) - u) ** 2)
        sindy.fit(z, dt)
        l_di, l_coef = sindy.residual_loss(), sindy.coef_penalty(spec.coef_penalty,
                                                                  spec.coef_norm)
        total = l_ae + spec.beta1 * l_di + spec.beta2 * l_coef
        return total, l_ae, l_di, l_coef

    seconds = train_loop(loop, step, n, resume=resume, checkpoint=checkpoint,
                         digest=binding(config, fom, *([resume] if resume else [])),
                         monitor=monitor, log=log)
    total_seconds = _seconds(resume) + seconds
    train_state = _train_state(loop, digest, total_seconds)
    ae.load_state_dict(loop.kept_state())
    best = loop.best_iteration if spec.keep == "best" else n
    with torch.no_grad():
        z = ae.encode(u).double()
        xi = SINDy(spec.library, spec.derivative).fit(z, dt).coef_
        z_sindy, blowup = integrate(xi, z[:, 0], t.to(z.device), spec.library)
    if (blowup >= 0).any():
        log(f"{spec.name} stage 1: SINDy trajectories blow up for training parameters "
            f"{np.flatnonzero(blowup.cpu().numpy() >= 0).tolist()}")
    state = {"arch": "autoencoder", "kwargs": kwargs, "state_dict": loop.kept_state(),
             "scale": 1.0, "stage": 1, "library": spec.library, "digest": digest,
             "created": io.now(), "iteration": n, "kept_iteration": best}
    dims = (io.PARAM, io.TIME, io.LATENT)
    coords = {c: train[c] for c in train[io.PARAM].coords}
    coords.update({io.TIME: fom[io.TIME], io.TERM: term_names(spec.latent, spec.library)})
    latent = xr.Dataset(
        {"z": io.variable(dims, z.float().cpu().numpy(), units="1",
                          long_name="encoder latent trajectory Z, eq. (3)"),
         "z_sindy": io.variable(dims, z_sindy.float().cpu().numpy(), units="1",
                                long_name="SINDy latent trajectory Z^, integrated from z(0)",
                                nonfinite_means="NaN after a blow-up of the latent ODE"),
         "xi": io.variable((io.PARAM, io.TERM, io.LATENT), xi.cpu().numpy(), units="1",
                           long_name="SINDy coefficients Xi, eq. (10)")},
        coords=coords,
        attrs=io.provenance("latent", fom.attrs["problem"], equation="dz/dt = Theta(z) Xi",
                            solver="batched least squares", scheme=f"{spec.library} library, "
                            f"{spec.derivative} finite differences", config=config,
                            inputs=(fom,), parameters=fom.attrs["parameters"],
                            kept_iteration=best, iterations=n))
    loss = _loss_dataset(loop.history_dict(), fom.attrs["problem"], 1, config, (fom,),
                         seconds=seconds, total_seconds=total_seconds, best=best)
    return state, train_state, latent, loss


def fit_stage(k: int, fom: xr.Dataset, latent: xr.Dataset, previous, stage: StageSpec, *,
              resume=None, device="cpu", seed: int = 0, checkpoint=None,
              monitor: Monitor | None = None, config=None, log=print):
    """Train the stage-``k`` sine decoder on Z^ -> R_{k-1} / eps_{k-1} (eq. 18).

    ``previous`` holds the model-file contents of stages 1..k-1, ``stage`` the
    stage's settings (``stage.iterations`` is where training stops), ``resume``
    an earlier segment's training state.  Returns ``(model_state, train_state,
    residual, loss)``.
    """
    if k < 2 or len(previous) != k - 1:
        raise ValueError(f"stage {k} needs the {k - 1} earlier stages, got {len(previous)}")
    if config is None:
        config = {"settings": {"lr": stage.lr, "kappa": stage.kappa,
                               "train_kappa": stage.train_kappa,
                               "sine_init": stage.sine_init},
                  "iterations": stage.iterations, "seed": seed}
    inputs = (fom, latent, *previous)
    digest = io.upstream_digest(config, *inputs)
    torch.manual_seed(seed + k)
    train, u, t, _ = training_data(fom, device)
    z_hat = torch.as_tensor(latent["z_sindy"].values, dtype=torch.float32, device=device)
    if not torch.isfinite(z_hat).all():
        raise ValueError(f"stage {k}: the stage-1 SINDy trajectories blow up; a residual "
                         "stage cannot be trained on them")
    modules, scales = load_stages(previous, device)
    with torch.no_grad():
        before = compose([m.decode(z_hat) for m in modules], scales)[-1]
    r, eps_in = residual(u, before)
    target = r / eps_in
    first = previous[0]["kwargs"]
    kwargs = {"n_in": u.shape[-1], "hidden": list(first["hidden"]), "latent": first["latent"],
              "kappa": stage.kappa, "train_kappa": stage.train_kappa,
              "init": stage.sine_init}
    decoder = SineDecoder(**kwargs).to(device)
    loop = TrainingLoop(decoder, torch.optim.Adam(decoder.parameters(), lr=stage.lr), ["mse"],
                        divergence=(monitor or Monitor()).divergence, desc=f"stage {k}",
                        log=log)

    def step(_loop, _i):
        return (torch.mean((decoder(z_hat) - target) ** 2),)

    seconds = train_loop(loop, step, stage.iterations, resume=resume, checkpoint=checkpoint,
                         digest=binding(config, *inputs, *([resume] if resume else [])),
                         monitor=monitor, log=log)
    total_seconds = _seconds(resume) + seconds
    train_state = _train_state(loop, digest, total_seconds)
    with torch.no_grad():
        after = before + eps_in * decoder(z_hat)
    _, eps_out = residual(u, after)
    state = {"arch": "sine_decoder", "kwargs": kwargs, "state_dict": loop.kept_state(),
             "scale": eps_in, "stage": k, "library": previous[0]["library"],
             "digest": digest, "created": io.now(), "iteration": stage.iterations}
    err_before = max_relative_error(u.cpu().numpy(), before.cpu().numpy())
    err_after = max_relative_error(u.cpu().numpy(), after.cpu().numpy())
    coords = {c: train[c] for c in train[io.PARAM].coords}
    residual_ds = xr.Dataset(
        {"eps": io.variable((), eps_out, units="1",
                            long_name=f"eps_{k} = std(R_{k}), residual after stage {k}"),
         "eps_in": io.variable((), eps_in, units="1",
                               long_name=f"eps_{k - 1} = std(R_{k - 1}), scale of stage {k}"),
         "kappa": io.variable((), float(decoder.first.kappa.detach()), units="1",
                              long_name="kappa of the sine layer after training"),
         "train_rel_error": io.variable((io.PARAM,), err_after, units="1",
                                        long_name=f"max-in-time relative error of the SINDy "
                                        f"reconstruction through stage {k}, eq. (25)"),
         "train_rel_error_before": io.variable((io.PARAM,), err_before, units="1",
                                               long_name=f"same, through stage {k - 1}")},
        coords=coords,
        attrs=io.provenance("residual", fom.attrs["problem"], equation="eqs. (17)-(19)",
                            solver="torch Adam", scheme="full batch", config=config,
                            inputs=inputs, stage=k, iterations=stage.iterations))
    log(f"stage {k}: eps_{k - 1} = {eps_in:.4g}, eps_{k} = {eps_out:.4g}, "
        f"train max rel. error {err_before.max():.4g} -> {err_after.max():.4g}")
    loss = _loss_dataset(loop.history_dict(), fom.attrs["problem"], k, config, inputs,
                         seconds=seconds, total_seconds=total_seconds, best=stage.iterations)
    return state, train_state, residual_ds, loss
