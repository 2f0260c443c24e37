"""Training of mLaSDI stages: stage 1 (GPLaSDI) and the residual stages k >= 2.

Stage 1 minimizes eq. (14),  L = L_AE + beta1 L_DI + beta2 ||Xi||^2,  with Xi
refitted by batched least squares (eq. 10) at every iteration.  Stage k >= 2
trains a sine decoder on the stage-1 SINDy latent trajectories Z^ to fit the
normalized residual of the earlier stages (eq. 18).  Both use full-batch Adam
for a fixed number of iterations, check every loss for NaN/Inf, show progress
with tqdm, and write a checkpoint every ``checkpoint_every`` iterations from
which an interrupted run resumes bit for bit.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
import xarray as xr
from tqdm import tqdm

from romflow import io
from romflow.config import ModelSpec, StageSpec
from romflow.errors import TrainingDivergedError
from romflow.lasdi.autoencoder import Autoencoder, SineDecoder
from romflow.lasdi.rollout import integrate
from romflow.lasdi.sindy import SINDy, term_names
from romflow.lasdi.stages import compose, load_stages, residual
from romflow.metrics import max_relative_error

__all__ = ["optimize", "fit_stage1", "fit_stage", "training_data"]


def optimize(module: torch.nn.Module, loss_fn, stage: StageSpec, *, terms, checkpoint=None,
             digest: str = "", desc: str = "training", log=print) -> dict:
    """Full-batch Adam on ``loss_fn() -> (total, [term, ...])`` for ``stage.iterations``.

    Returns the loss history ``{term: array (iteration,)}``.  Raises
    :class:`TrainingDivergedError` naming the first iteration whose loss is not
    finite and the value of every term there.
    """
    opt = torch.optim.Adam(module.parameters(), lr=stage.lr)
    n = stage.iterations
    history = torch.full((n, len(terms)), float("nan"), dtype=torch.float64)
    start = 0
    if checkpoint is not None and checkpoint.is_file():
        saved = io.load_model(checkpoint)
        if saved.get("digest") == digest and saved["iteration"] <= n:
            module.load_state_dict(saved["module"])
            opt.load_state_dict(saved["optimizer"])
            start = int(saved["iteration"])
            history[:start] = saved["history"][:start]
            log(f"{desc}: resumed from checkpoint {checkpoint} at iteration {start}")
        else:
            log(f"{desc}: ignoring checkpoint {checkpoint} made with other settings")
    bar = tqdm(total=n, initial=start, desc=desc, file=sys.stderr, mininterval=5,
               disable=False)
    block_start = start
    for it in range(start, n):
        opt.zero_grad(set_to_none=True)
        total, parts = loss_fn()
        history[it] = torch.stack([p.detach() for p in parts]).to("cpu", torch.float64)
        if not torch.isfinite(history[it]).all():
            # Checked before the step, so no parameter (or checkpoint) turns NaN.
            values = ", ".join(f"{t}={v:.4g}" for t, v in zip(terms, history[it].tolist()))
            bar.close()
            raise TrainingDivergedError(f"{desc}: loss is not finite at iteration "
                                        f"{it + 1}: {values}")
        total.backward()
        opt.step()
        done = it + 1
        if done % stage.log_every == 0 or done == n:
            bar.update(done - block_start)
            bar.set_postfix({terms[0]: f"{float(history[done - 1, 0]):.3e}"}, refresh=False)
            block_start = done
        if checkpoint is not None and done % stage.checkpoint_every == 0 and done < n:
            io.save_model({"digest": digest, "iteration": done, "module": module.state_dict(),
                           "optimizer": opt.state_dict(), "history": history[:done].clone()},
                          checkpoint)
    bar.close()
    return {t: history[:, j].numpy() for j, t in enumerate(terms)}


def training_data(fom: xr.Dataset, device="cpu"):
    """Training snapshots ``u : (param, time, N_u)`` (float32), times and dt."""
    train = fom.sel({io.PARAM: fom[io.SPLIT] == "train"})
    u = torch.as_tensor(train["u"].values.reshape(train.sizes[io.PARAM], train.sizes[io.TIME], -1),
                        dtype=torch.float32, device=device)
    t = torch.tensor(fom[io.TIME].values, dtype=torch.float64)
    return train, u, t, float(t[1] - t[0])


def _loss_dataset(history: dict, problem: str, model: str, stage: int, config) -> xr.Dataset:
    names = {"total": "total loss", "ae": "reconstruction loss L_AE, eq. (7)",
             "di": "latent dynamics loss L_DI, eq. (13)", "coef": "||Xi||^2, eq. (14)",
             "mse": "MSE of the normalized residual, eq. (18)"}
    n = len(next(iter(history.values())))
    data = {("loss" if key in ("total", "mse") else f"loss_{key}"):
            io.variable((io.ITERATION,), val, units="1", long_name=names[key])
            for key, val in history.items()}
    return xr.Dataset(data, coords={io.ITERATION: np.arange(1, n + 1)},
                      attrs=io.provenance("loss", problem, equation=f"mLaSDI stage {stage}",
                                          solver="torch Adam", scheme="full batch",
                                          config=config, model=model, stage=stage))


def fit_stage1(fom: xr.Dataset, spec: ModelSpec, *, device="cpu", seed: int = 0,
               checkpoint=None, config=None, log=print):
    """Train the stage-1 autoencoder and latent dynamics (GPLaSDI, eq. 14).

    Returns ``(model_state, latent, loss)``: the model file contents, a
    'latent' dataset (encoder latents ``z``, SINDy trajectories ``z_sindy``,
    coefficients ``xi`` of the training parameters) and a 'loss' dataset.
    """
    torch.manual_seed(seed)
    train, u, t, dt = training_data(fom, device)
    kwargs = {"n_in": u.shape[-1], "hidden": list(spec.hidden), "latent": spec.latent}
    ae = Autoencoder(**kwargs).to(device)
    sindy = SINDy(spec.library)

    def loss_fn():
        z = ae.encode(u)
        l_ae = torch.mean((ae.decode(z) - u) ** 2)
        sindy.fit(z, dt)
        l_di, l_coef = sindy.residual_loss(), sindy.coef_norm2()
        total = l_ae + spec.beta1 * l_di + spec.beta2 * l_coef
        return total, [total, l_ae, l_di, l_coef]

    history = optimize(ae, loss_fn, spec.stage(1), terms=["total", "ae", "di", "coef"],
                       checkpoint=checkpoint, digest=io.config_digest(config),
                       desc=f"{spec.name} stage 1", log=log)
    with torch.no_grad():
        z = ae.encode(u).double()
        xi = SINDy(spec.library).fit(z, dt).coef_
        z_sindy, blowup = integrate(xi, z[:, 0], t.to(z.device), spec.library)
    if (blowup >= 0).any():
        log(f"{spec.name} stage 1: SINDy trajectories blow up for training parameters "
            f"{np.flatnonzero(blowup.cpu().numpy() >= 0).tolist()}")
    state = {"arch": "autoencoder", "kwargs": kwargs, "state_dict": ae.state_dict(),
             "scale": 1.0, "stage": 1, "library": spec.library,
             "digest": io.config_digest(config)}
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
                            "2nd-order finite differences", config=config, model=spec.name,
                            parameters=fom.attrs["parameters"]))
    return state, latent, _loss_dataset(history, fom.attrs["problem"], spec.name, 1, config)


def fit_stage(k: int, fom: xr.Dataset, latent: xr.Dataset, previous, spec: ModelSpec, *,
              device="cpu", seed: int = 0, checkpoint=None, config=None, log=print):
    """Train the stage-``k`` sine decoder on Z^ -> R_{k-1} / eps_{k-1} (eq. 18).

    ``previous`` holds the model-file contents of stages 1..k-1.  Returns
    ``(model_state, residual, loss)``.
    """
    if k < 2 or len(previous) != k - 1:
        raise ValueError(f"stage {k} needs the {k - 1} earlier stages, got {len(previous)}")
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
    stage = spec.stage(k)
    kwargs = {"n_in": u.shape[-1], "hidden": list(spec.hidden), "latent": spec.latent,
              "kappa": stage.kappa}
    decoder = SineDecoder(**kwargs).to(device)

    def loss_fn():
        mse = torch.mean((decoder(z_hat) - target) ** 2)
        return mse, [mse]

    history = optimize(decoder, loss_fn, stage, terms=["mse"], checkpoint=checkpoint,
                       digest=io.config_digest(config), desc=f"{spec.name} stage {k}", log=log)
    with torch.no_grad():
        after = before + eps_in * decoder(z_hat)
    _, eps_out = residual(u, after)
    state = {"arch": "sine_decoder", "kwargs": kwargs, "state_dict": decoder.state_dict(),
             "scale": eps_in, "stage": k, "library": spec.library,
             "digest": io.config_digest(config)}
    err_before = max_relative_error(u.cpu().numpy(), before.cpu().numpy())
    err_after = max_relative_error(u.cpu().numpy(), after.cpu().numpy())
    coords = {c: train[c] for c in train[io.PARAM].coords}
    residual_ds = xr.Dataset(
        {"eps": io.variable((), eps_out, units="1",
                            long_name=f"eps_{k} = std(R_{k}), residual after stage {k}"),
         "eps_in": io.variable((), eps_in, units="1",
                               long_name=f"eps_{k - 1} = std(R_{k - 1}), scale of stage {k}"),
         "kappa": io.variable((), float(decoder.first.kappa.detach()), units="1",
                              long_name="trained kappa of the sine layer"),
         "train_rel_error": io.variable((io.PARAM,), err_after, units="1",
                                        long_name=f"max-in-time relative error of the SINDy "
                                        f"reconstruction through stage {k}, eq. (25)"),
         "train_rel_error_before": io.variable((io.PARAM,), err_before, units="1",
                                               long_name=f"same, through stage {k - 1}")},
        coords=coords,
        attrs=io.provenance("residual", fom.attrs["problem"], equation="eqs. (17)-(19)",
                            solver="torch Adam", scheme="full batch", config=config,
                            model=spec.name, stage=k))
    log(f"{spec.name} stage {k}: eps_{k - 1} = {eps_in:.4g}, eps_{k} = {eps_out:.4g}, "
        f"train max rel. error {err_before.max():.4g} -> {err_after.max():.4g}")
    return state, residual_ds, _loss_dataset(history, fom.attrs["problem"], spec.name, k, config)
