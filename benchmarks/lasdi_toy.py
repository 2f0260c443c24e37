"""Benchmark mLaSDI on the toy problem at the quick (= paper) sizes.

Measures, in one run:
- seconds per training iteration of stage 1 (autoencoder + batched SINDy) and
  stage 2 (sine decoder), as (T(2n) - T(n)) / n so fixed costs cancel;
- the rollout of every parameter (latent ODE in closed form + decoding of every
  stage), with the GP mean only and with the configured GP samples, against
  the time to evaluate the FOM for the same parameters.
Writes ``results/benchmarks/lasdi_toy.csv`` (one row per measurement).

    python benchmarks/lasdi_toy.py [--iterations 200] [--device cpu]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import pandas as pd
import torch
from lasdi_timing import best_of, stage1_seconds_per_iteration, stage_seconds_per_iteration

from romflow import tables
from romflow.config import load_yaml, resolve
from romflow.device import resolve_device, set_threads
from romflow.fom import toy
from romflow.lasdi import interpolate, predict
from romflow.model_specs import model_spec

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/lasdi_toy.csv"))
    args = ap.parse_args()
    set_threads(args.threads)
    device = resolve_device(args.device)
    cfg = resolve(load_yaml(ROOT / "config.yaml"),
                  load_yaml(ROOT / "workflow/schemas/config.schema.yaml"))
    spec = model_spec("mlasdi", cfg["toy"], cfg["lasdi"])
    f = cfg["toy"]["fom"]
    fom_time, fom = best_of(lambda: toy.solve(f["train"]["A"], f["test"]["A"], nx=f["nx"],
                                              nt=f["nt"], x_min=f["x_min"], x_max=f["x_max"],
                                              t_end=f["t_end"]), args.repeats)
    n = args.iterations
    per1, (state1, _, latent, _) = stage1_seconds_per_iteration(fom, spec, n, device=device,
                                                                repeats=args.repeats)
    per2, (state2, *_) = stage_seconds_per_iteration(2, fom, latent, [state1], spec.stage(2),
                                                     n, device=device, repeats=args.repeats)
    states = [state1, state2]
    samples = cfg["lasdi"]["gp"]["samples"]
    coef = interpolate(fom, latent, samples=samples)
    mean_only = coef.isel(sample=slice(0, 0))
    r0, _ = best_of(lambda: predict(fom, mean_only, states, device=device), args.repeats)
    rs, _ = best_of(lambda: predict(fom, coef, states, device=device), args.repeats)
    n_param = fom.sizes["param"]
    rows = [
        ("stage1_seconds_per_iteration", per1, "s"),
        ("stage2_seconds_per_iteration", per2, "s"),
        ("fom_seconds_all_params", fom_time, "s"),
        ("rollout_seconds_all_params_mean", r0, "s"),
        (f"rollout_seconds_all_params_mean_and_{samples}_samples", rs, "s"),
        ("rollout_over_fom_ratio_mean", r0 / fom_time, "1"),
    ]
    table = pd.DataFrame([{"benchmark": name, "value": value, "unit": unit,
                           "problem": "toy", "model": spec.name, "params": n_param,
                           "iterations": n, "threads": args.threads, "device": str(device),
                           "torch": torch.__version__, "machine": platform.machine()}
                          for name, value, unit in rows])
    tables.write_csv(table, args.out)
    print(table[["benchmark", "value", "unit"]].to_string(index=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
