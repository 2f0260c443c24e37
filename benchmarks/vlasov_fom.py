"""Benchmark the Vlasov two-stream FOM (romflow.fom.vlasov) at the paper's size.

Measures, in one run:
- the full dataset: ``--params`` points of the 21 x 21 (T, k) grid (spacing
  0.01) x ``--steps`` RK4 steps on 64 x 64, solved together by ``solve()``
  (the RK4 step fused by torch.compile; its one-off compile is timed apart in a
  warm-up of ``save_every`` steps on the same batch);
- the same ``solve()`` one parameter at a time on ``--single`` points, both with
  its default for a single point (eager) and compiled, extrapolated to seconds
  per parameter, and the batched / one-at-a-time per-parameter time ratios.
Writes ``results/benchmarks/vlasov_fom.csv`` (one row per measurement).

    python benchmarks/vlasov_fom.py [--params 441] [--steps 1000] [--device cpu]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from romflow import tables
from romflow.device import resolve_device, set_threads
from romflow.fom import vlasov

ROOT = Path(__file__).resolve().parents[1]
DT, SAVE_EVERY = 0.005, 4


def paper_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """First ``n`` points of the 21 x 21 grid of (T, k) in [0.9, 1.1] x [1.0, 1.2]."""
    T, k = np.meshgrid(np.round(0.9 + 0.01 * np.arange(21), 2),
                       np.round(1.0 + 0.01 * np.arange(21), 2), indexing="ij")
    return T.ravel()[:n], k.ravel()[:n]


def timed(fn, *args, **kwargs):
    """``(seconds, fn(*args, **kwargs))``."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", type=int, default=441)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--single", type=int, default=4,
                    help="parameters solved one at a time for the ratio")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/vlasov_fom.csv"))
    args = ap.parse_args()
    if not 1 <= args.params <= 441 or args.steps % SAVE_EVERY:
        ap.error(f"--params in 1..441 and --steps a multiple of {SAVE_EVERY}")
    set_threads(args.threads)
    device = resolve_device(args.device)
    T, k = paper_grid(args.params)
    t_end = args.steps * DT
    run = dict(dt=DT, save_every=SAVE_EVERY, device=device)

    warm, _ = timed(vlasov.solve, T, k, t_end=SAVE_EVERY * DT, compile=True, **run)
    full, ds = timed(vlasov.solve, T, k, t_end=t_end, compile=True, **run)
    assert ds.sizes["time"] == args.steps // SAVE_EVERY + 1
    single = {}
    for mode, flag in (("default", None), ("compiled", True)):
        vlasov.solve(T[:1], k[:1], t_end=SAVE_EVERY * DT, compile=flag, **run)  # warm-up
        seconds = [timed(vlasov.solve, T[p:p + 1], k[p:p + 1], t_end=t_end, compile=flag,
                         **run)[0] for p in range(min(args.single, args.params))]
        single[mode] = float(np.mean(seconds))
    per_param = full / args.params
    rows = [
        ("compile_warmup_seconds", warm, "s"),
        ("solve_seconds_all_params", full, "s"),
        ("solve_seconds_per_param_batched", per_param, "s"),
        ("solve_seconds_per_param_one_at_a_time_default", single["default"], "s"),
        ("solve_seconds_per_param_one_at_a_time_compiled", single["compiled"], "s"),
        ("batched_over_one_at_a_time_ratio_default", per_param / single["default"], "1"),
        ("batched_over_one_at_a_time_ratio_compiled", per_param / single["compiled"], "1"),
        ("max_cfl", float(ds.attrs["cfl_max"]), "1"),
    ]
    table = pd.DataFrame([{"benchmark": name, "value": value, "unit": unit,
                           "params": args.params, "steps": args.steps,
                           "threads": args.threads, "device": str(device),
                           "torch": torch.__version__} for name, value, unit in rows])
    tables.write_csv(table, args.out)
    print(table[["benchmark", "value", "unit"]].to_string(index=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
