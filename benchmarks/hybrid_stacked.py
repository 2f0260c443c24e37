"""Benchmark: K closure U-Nets trained at once (stacked, torch.func.vmap) against one at a time.

A hybrid Table 1 trains many small closures (estimators × γ × splits) of the same
architecture on pairs of the same shape.  One such U-Net at N = 64 leaves a GPU
mostly idle, so K of them can share one forward and backward pass: their weights
are stacked along a leading axis (``torch.func.stack_module_state``), the forward
is ``vmap`` of ``functional_call`` over that axis, and one Adam steps all of them
(Adam acts elementwise, so it is K independent Adams).  Each model has its own
initialization and its own shuffled mini-batches, as K closures of one case would.

Batch normalization runs on batch statistics only in the stacked pass
(``torch.func.replace_all_batch_norm_modules_``: running statistics cannot be
updated in place under ``vmap``); the single models keep them.  The cost of that
bookkeeping is negligible, so the comparison is of throughput, which is what this
measures.  The pipeline's ``closure`` rule trains one closure per job; this is the
measurement that decides whether a stacked rule pays.

Output: ``results/benchmarks/hybrid_stacked.csv`` with seconds per epoch of one
model alone, of K stacked, and ``speedup`` = K × (one alone) / (K stacked), all
measured in one run.

    python benchmarks/hybrid_stacked.py [--stack 4 8] [--samples 256] [--device cuda]
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import pandas as pd
import torch
from torch.func import functional_call, replace_all_batch_norm_modules_, stack_module_state

from romflow import tables
from romflow.device import resolve_device, set_threads
from romflow.fom import reaction_diffusion as rd
from romflow.hybrid.factory import surrogate

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = (4, 8, 16, 16, 32)  # config.yaml rd.hybrid.closure (the paper's appendix)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def one_at_a_time(make, u, y, epochs, batch, device):
    """Seconds per epoch of one closure trained alone (the closure rule's loop)."""
    net = make(0).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    u, y = u.to(device), y.to(device)
    gen = torch.Generator().manual_seed(0)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(u), generator=gen).split(batch):
            idx = idx.to(device)
            opt.zero_grad(set_to_none=True)
            loss = torch.mean((net(u[idx]) - y[idx]) ** 2)
            loss.backward()
            opt.step()
    _sync(device)
    return (time.perf_counter() - t0) / epochs


def stacked(make, k, u, y, epochs, batch, device):
    """Seconds per epoch of ``k`` closures trained together in one vmapped pass."""
    nets = [make(i) for i in range(k)]
    for net in nets:
        replace_all_batch_norm_modules_(net)
    params, buffers = stack_module_state(nets)
    params = {n: p.detach().to(device).requires_grad_() for n, p in params.items()}
    buffers = {n: b.to(device) for n, b in buffers.items()}
    base = copy.deepcopy(nets[0]).to("meta")
    opt = torch.optim.Adam(list(params.values()), lr=1e-4)
    u, y = u.to(device), y.to(device)

    def forward(p, b, x):
        return functional_call(base, (p, b), (x,))

    batched = torch.vmap(forward, in_dims=(0, 0, 0))
    with torch.no_grad():  # the stacked pass computes what each model computes alone
        x = u[:batch].expand(k, *u[:batch].shape)
        alone = torch.stack([net.to(device)(x[0]) for net in nets])
        err = float((batched(params, buffers, x) - alone).abs().max() / alone.abs().max())
        if not err < 1e-4:
            raise AssertionError(f"stacked forward differs from the models alone by {err:.2e}")
    gen = torch.Generator().manual_seed(0)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(epochs):
        # each model its own shuffle of the same pairs
        order = torch.stack([torch.randperm(len(u), generator=gen) for _ in range(k)])
        for start in range(0, len(u), batch):
            idx = order[:, start:start + batch].to(device)         # (k, b)
            opt.zero_grad(set_to_none=True)
            pred = batched(params, buffers, u[idx])                 # (k, b, ...)
            loss = torch.mean((pred - y[idx]) ** 2, dim=tuple(range(1, pred.dim()))).sum()
            loss.backward()
            opt.step()
    _sync(device)
    return (time.perf_counter() - t0) / epochs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--stack", type=int, nargs="+", default=[4])
    ap.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="auto | cpu | cuda")
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/hybrid_stacked.csv"))
    args = ap.parse_args()
    set_threads(args.threads)
    device = resolve_device(args.device)
    ds = rd.solve(0.05, args.grid, trajectories=1, steps=args.samples, warmup=20)
    u = torch.as_tensor(ds["u"].values[0, :-1])
    y = torch.as_tensor(ds["unresolved"].values[0, :-1])

    def make(seed):
        torch.manual_seed(seed)
        return surrogate(ds, tuple(args.widths), "subgrid", batchnorm=True, u=u, y=y)

    one_at_a_time(make, u[:args.batch], y[:args.batch], 1, args.batch, device)  # warm-up
    single = min(one_at_a_time(make, u, y, args.epochs, args.batch, device) for _ in range(2))
    rows = [{"benchmark": "one_seconds_per_epoch", "stack": 1, "value": single, "unit": "s"}]
    for k in args.stack:
        stacked(make, k, u[:args.batch], y[:args.batch], 1, args.batch, device)  # warm-up
        t = min(stacked(make, k, u, y, args.epochs, args.batch, device) for _ in range(2))
        rows += [{"benchmark": "stacked_seconds_per_epoch", "stack": k, "value": t, "unit": "s"},
                 {"benchmark": "speedup", "stack": k, "value": k * single / t, "unit": "1"}]
    table = pd.DataFrame(rows).assign(grid=args.grid, samples=args.samples, batch=args.batch,
                                      threads=args.threads, device=str(device),
                                      torch=torch.__version__)
    tables.write_csv(table, args.out)
    print(table[["benchmark", "stack", "value", "unit"]].to_string(index=False))


if __name__ == "__main__":
    main()
