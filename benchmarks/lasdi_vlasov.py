"""Benchmark mLaSDI on the Vlasov two-stream problem at the paper's sizes.

Measures, in one run (mLaSDI paper section 4.3; the issue's performance bar):
- the FOM: seconds per parameter, batched over the 5 x 5 training grid and for one
  parameter alone (64 x 64 nodes, WENO5 + RK4, dt = 0.005 to t = 5, 251 snapshots);
- seconds per training iteration of stage 1 and stage 2 at ``--hidden``/``--latent``
  (default 4096-500-5, Fig. 8), as (T(2n) - T(n)) / n so fixed costs cancel;
- the prediction of every test parameter (416 of the 21 x 21 grid): GP mean of the
  coefficients, closed-form latent rollout, decoding through both stages, per
  parameter, and the ratio FOM time / prediction time (GPLaSDI reports 47x on its
  Burgers example);
Writes ``results/benchmarks/lasdi_vlasov.csv``.

    python benchmarks/lasdi_vlasov.py [--device cuda] [--iterations 3] [--hidden 500]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from lasdi_timing import best_of, stage1_seconds_per_iteration, stage_seconds_per_iteration

from romflow import tables
from romflow.config import load_yaml, resolve
from romflow.device import resolve_device, set_threads
from romflow.fom import vlasov
from romflow.lasdi import CoefficientGP, compose, integrate, load_stages
from romflow.model_specs import StageSpec, model_specs

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[500])
    ap.add_argument("--latent", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--scale", default="paper", choices=["test", "quick", "paper"])
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/lasdi_vlasov.csv"))
    args = ap.parse_args()
    set_threads(args.threads)
    device = resolve_device(args.device)
    raw = {**load_yaml(ROOT / "config.yaml"), "scale": args.scale}
    cfg = resolve(raw, load_yaml(ROOT / "workflow/schemas/config.schema.yaml"))
    f = cfg["vlasov"]["fom"]
    TT, KK, split = vlasov.parameter_grid(f["T"], f["k"], f["points"], f["train_every"])
    train = split == "train"
    solve = dict(nx=f["nx"], nv=f["nv"], t_end=f["t_end"], dt=f["dt"],
                 save_every=f["save_every"], weno=f["weno"], device=device)
    batched, fom = best_of(lambda: vlasov.solve(TT[train], KK[train], **solve), args.repeats)
    single, _ = best_of(lambda: vlasov.solve(TT[:1], KK[:1], **solve), args.repeats)
    fom_per_param = {"batched": batched / int(train.sum()), "single": single}

    spec = next(iter(model_specs(cfg["vlasov"], cfg["lasdi"]).values()))
    spec = type(spec)(**{**spec.__dict__, "name": "benchmark", "hidden": tuple(args.hidden),
                         "latent": args.latent, "group": {},
                         "stages": (StageSpec(1, 1e-3), StageSpec(1, 1e-3))})
    n = args.iterations
    per1, (state1, _, latent, _) = stage1_seconds_per_iteration(fom, spec, n, device=device,
                                                                repeats=args.repeats)
    per2, (state2, *_) = stage_seconds_per_iteration(2, fom, latent, [state1], spec.stage(2),
                                                     n, device=device, repeats=args.repeats)

    # Prediction of every test parameter: GP mean, latent rollout, both stages decoded.
    gp = CoefficientGP().fit(np.stack([TT[train], KK[train]], 1), latent["xi"].values)
    test = ~train
    modules, scales = load_stages([state1, state2], device)
    t = torch.tensor(fom["time"].values, dtype=torch.float64, device=device)

    def predict_all():
        mean, _ = gp.predict(np.stack([TT[test], KK[test]], 1))
        u0 = vlasov.two_stream(TT[test], KK[test], vlasov.PhaseGrid(f["nx"], f["nv"]), device)
        with torch.no_grad():
            z0 = modules[0].encode(u0.float().reshape(int(test.sum()), -1)).double()
            z, _ = integrate(torch.as_tensor(mean, device=device), z0, t)
            for part in torch.split(z.float(), 32):
                compose([m.decode(part) for m in modules], scales)
        return mean

    predict_all()                               # warm-up (GP first call, allocator)
    t0 = time.perf_counter()
    best_of(predict_all, max(1, args.repeats))
    rom = (time.perf_counter() - t0) / max(1, args.repeats) / int(test.sum())
    arch = "-".join(map(str, (f["nx"] * f["nv"], *args.hidden, args.latent)))
    rows = [("fom_seconds_per_param_batched", fom_per_param["batched"], "s"),
            ("fom_seconds_per_param_single", fom_per_param["single"], "s"),
            ("stage1_seconds_per_iteration", per1, "s"),
            ("stage2_seconds_per_iteration", per2, "s"),
            ("prediction_seconds_per_param", rom, "s"),
            ("fom_over_prediction_single", fom_per_param["single"] / rom, "1"),
            ("fom_over_prediction_batched", fom_per_param["batched"] / rom, "1")]
    table = pd.DataFrame([{"benchmark": name, "value": value, "unit": unit,
                           "problem": "vlasov", "architecture": arch,
                           "snapshots": fom.sizes["time"], "train_params": int(train.sum()),
                           "test_params": int(test.sum()), "iterations": n,
                           "threads": args.threads, "device": str(device),
                           "torch": torch.__version__, "machine": platform.machine()}
                          for name, value, unit in rows])
    tables.write_csv(table, args.out)
    print(table[["benchmark", "value", "unit"]].to_string(index=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
