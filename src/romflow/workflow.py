"""Glue between Snakemake rule scripts and the package.

A rule script does ``with rule_context(snakemake) as ctx:`` and calls one
package function.  The context sends stdout/stderr (progress bars too) to the
rule's log, sets torch's thread count to the rule's ``threads``, seeds every
generator, resolves the device, has every file written inside record the rule
(:func:`romflow.io.written_by`), and on failure writes the error to the log so
that ``--show-failed-logs`` shows a readable message.  When the failure is a
corrupt input (a :class:`~romflow.errors.DataError` naming one of the rule's
inputs), Snakemake counts that file as finished and a plain rerun fails the same
way, so the log ends with the rerun that remakes it (:func:`rerun_hint`).
"""

from __future__ import annotations

import contextlib
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from romflow import io
from romflow.device import resolve_device, seed_everything, set_threads
from romflow.errors import DataError

__all__ = ["RuleContext", "rule_context", "checkpoint_path", "rerun_hint"]


@dataclass
class RuleContext:
    """What a rule script needs besides its inputs: device, seed and a logger."""

    device: object
    seed: int
    rule: str

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {self.rule}: {message}", flush=True)


def checkpoint_path(output) -> Path:
    """Where a training rule keeps its resumable checkpoint (not a declared output)."""
    output = Path(output)
    return output.with_name(output.stem + ".ckpt")


def rerun_hint(exc: BaseException, inputs) -> str | None:
    """The way out of a corrupt input: ``None`` unless ``exc`` is a ``DataError``
    about one of ``inputs`` (the failing rule's declared input files).

    ``--forcerun FILE`` remakes that file with the rule that made it, and the
    targets' jobs downstream of it; it takes several names, so it goes last."""
    if not isinstance(exc, DataError) or exc.path is None:
        return None
    bad = Path(exc.path).resolve()
    if bad not in {Path(p).resolve() for p in inputs}:
        return None
    made = (f" (rule '{exc.rule}' made it; --forcerun {exc.rule} would remake every file "
            f"of that rule)" if exc.rule else "")
    return (f"{exc.path} is an input that Snakemake counts as finished, so the same command "
            f"fails again. Remake it, and what your targets make from it, by adding "
            f"--forcerun {exc.path} at the end of your snakemake command{made}.")


@contextlib.contextmanager
def rule_context(smk):
    """Context for a rule script run by Snakemake's ``script:`` directive."""
    log_path = Path(smk.log[0]) if len(smk.log) else None
    stream = open(log_path, "a", buffering=1) if log_path else None
    old = sys.stdout, sys.stderr
    if stream is not None:
        sys.stdout = sys.stderr = stream
    ctx = None
    try:
        set_threads(smk.threads)
        seed = int(smk.config.get("seed", 0))
        seed_everything(seed)
        ctx = RuleContext(device=resolve_device(smk.config.get("device", "auto")), seed=seed,
                          rule=smk.rule)
        ctx.log(f"start (threads={smk.threads}, device={ctx.device}, seed={seed})")
        t0 = time.perf_counter()
        with io.written_by(smk.rule):
            yield ctx
        ctx.log(f"done in {time.perf_counter() - t0:.1f} s")
    except BaseException as exc:
        print(f"ERROR in rule {smk.rule}: {exc}", flush=True)
        traceback.print_exc()
        hint = rerun_hint(exc, smk.input)
        if hint:
            print(f"HOW TO FIX: {hint}", flush=True)
        raise
    finally:
        sys.stdout, sys.stderr = old
        if stream is not None:
            stream.close()
