"""Estimators and protocols of the hybrid problems as configuration data (no torch).

An *estimator* is a config entry ``name: {base: ols | mols | aols | tr, ...}``
under ``<problem>.hybrid.estimators``; its settings are those of its base:

- ``mols``: ``weight_decay`` (Adam weight decay);
- ``aols``: ``noise`` (input noise std, relative to the state std);
- ``tr``: ``lam`` (λ), ``units``, ``penalty``, ``reduce`` (below).

The λ sweep (``hybrid.lam_sweep``) adds one TR entry ``tr_lam<λ>`` per λ, a
copy of the ``tr`` entry with that λ: the name is a label only, the λ is read
from the entry, never parsed back from the name.

TR's settings, and what λ means under each (Δt the time step):

``units``
    ``rate`` (default): the closure learns the unresolved part as a rate
    (the coarse–fine correction divided by Δt: what the authors' later code
    stores), so the fit ‖φ − y/Δt‖² and the penalty (nᵀL)² are both in
    velocity units²; λ weighs one against the other as eq. (23) reads.
    ``literal``: eq. (21) read literally on our pairs: the fit on the
    increment y, the penalty on the velocity L = (u_{k+1} − u_k)/Δt, so the
    penalty is 1/Δt² stiffer: λ_literal = Δt² λ_rate (λ = 10 literal at
    Δt = 0.01 is λ = 1e5 in rate units).  Reaction and pressure pairs are
    already rates: both readings coincide there.
``penalty``
    ``velocity`` (default, eq. 21): the normal component of the hybrid
    velocity, n_iᵀ L(u_i, φ(u_i)); ``output``: of the network's own output,
    n_iᵀ φ(u_i) (the code that made the paper's Table 1).
``reduce``
    ``sample`` (default, eq. 21): λ · mean_i (n_iᵀ ·)²; ``batch``: the
    Table 1 code's form, λ · (Σ_i g_iᵀ · / ‖g‖)² with g_i = F(u_i) n_i the
    gradient of the batch reconstruction error and ‖g‖ one norm over the
    batch (a single squared sum per batch).

A *protocol* is a named set of overrides of a problem's ``fom`` and
``hybrid`` sections (``<problem>.protocol_settings``); ``<problem>.protocols``
lists those that run.  Each protocol's results live under
``results/<problem>/<protocol>/`` and form a row group of the tables.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from romflow.config import deep_merge
from romflow.errors import ConfigError

__all__ = ["BASES", "UNITS", "PENALTIES", "REDUCTIONS", "EstimatorSpec", "estimator_table",
           "sweep_name", "protocol_section", "split_trajectories", "evaluation_split"]

BASES = ("ols", "mols", "aols", "tr")
UNITS = ("rate", "literal")
PENALTIES = ("velocity", "output")
REDUCTIONS = ("sample", "batch")
_OWN = {"ols": (), "mols": ("weight_decay",), "aols": ("noise",),
        "tr": ("lam", "units", "penalty", "reduce")}


@dataclass(frozen=True)
class EstimatorSpec:
    """One estimator entry: its name, base and the settings its base uses."""

    name: str
    base: str
    weight_decay: float = 0.0
    noise: float = 0.0
    lam: float = 0.0
    units: str = "rate"
    penalty: str = "velocity"
    reduce: str = "sample"

    def __post_init__(self):
        where = f"estimator {self.name!r}"
        if self.base not in BASES:
            raise ConfigError(f"{where}: base = {self.base!r} is invalid; allowed: {list(BASES)}")
        for key, allowed in (("units", UNITS), ("penalty", PENALTIES), ("reduce", REDUCTIONS)):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{where}: {key} = {getattr(self, key)!r} is invalid; "
                                  f"allowed: {list(allowed)}")
        for key in ("weight_decay", "noise", "lam"):
            value = getattr(self, key)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ConfigError(f"{where}: {key} = {value!r} is invalid; allowed: a finite "
                                  "number >= 0")

    @classmethod
    def from_entry(cls, name: str, entry: dict) -> "EstimatorSpec":
        """The spec of config entry ``name: entry``; keys its base does not use are refused."""
        if not isinstance(entry, dict) or "base" not in entry:
            raise ConfigError(f"estimator {name!r} = {entry!r} is invalid; allowed: a mapping "
                              f"with base (one of {list(BASES)}) and that base's settings")
        base = entry["base"]
        extra = sorted(set(entry) - {"base", *_OWN.get(base, ())})
        if extra:
            raise ConfigError(f"estimator {name!r} (base {base!r}) sets {extra}; allowed for "
                              f"this base: {sorted(_OWN.get(base, ()))}")
        return cls(name=name, **entry)

    def settings(self) -> dict:
        """The entry as config data: base and the settings it uses (what a closure
        file's digest and attributes record)."""
        return {"base": self.base, **{k: asdict(self)[k] for k in _OWN[self.base]}}


def sweep_name(lam: float) -> str:
    """The label of the λ sweep's TR entry at ``lam``: ``tr_lam100``, ``tr_lam0.001``."""
    text = f"{float(lam):g}"
    return "tr_lam" + (text if float(text) == float(lam) else repr(float(lam)))


def estimator_table(hybrid: dict, sweep: bool = True) -> dict[str, EstimatorSpec]:
    """``{name: EstimatorSpec}`` of a ``hybrid`` section, the λ sweep's TR entries last
    (with ``sweep``); a sweep λ equal to the ``tr`` entry's is that entry's row.

    ``hybrid.run`` is ``all`` (the default) or a list of the entries that run, kept
    in entry order (a scale preset or protocol may run fewer than it defines).
    """
    entries = {name: EstimatorSpec.from_entry(name, dict(entry))
               for name, entry in hybrid["estimators"].items()}
    run = hybrid.get("run", "all")
    if run == "all":
        table = dict(entries)
    else:
        unknown = [name for name in run if name not in entries]
        if isinstance(run, str) or unknown or not run:
            raise ConfigError(f"hybrid.run = {run!r} is invalid; allowed: all or a non-empty "
                              f"list of estimator entries, of {list(entries)}")
        table = {name: spec for name, spec in entries.items() if name in run}
    if sweep and hybrid.get("lam_sweep"):
        if "tr" not in entries:
            raise ConfigError("hybrid.lam_sweep needs an estimator entry named 'tr' (the sweep "
                              "copies its settings at each λ); allowed: lam_sweep: [] without it")
        tr = entries["tr"]
        for lam in hybrid["lam_sweep"]:
            if float(lam) != tr.lam:
                name = sweep_name(lam)
                table[name] = EstimatorSpec(**{**asdict(tr), "name": name, "lam": float(lam)})
    return table


def protocol_section(section: dict, name: str) -> dict:
    """A problem section (``fom``, ``hybrid``, ...) with protocol ``name``'s overrides
    merged over its ``fom`` and ``hybrid``."""
    settings = section.get("protocol_settings") or {}
    if name not in settings:
        raise ConfigError(f"protocol {name!r} is not defined; defined: {sorted(settings)}")
    return deep_merge(section, dict(settings[name] or {}))


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


def evaluation_split(section: dict, split: int, seed: int):
    """``(train_ids, rollout_ids)`` of split ``split`` of a (protocol-merged) problem
    section.  ``hybrid.evaluate: train`` (the Table 1 code: one trajectory, rolled
    out from its own start) trains and rolls out on every trajectory, one split."""
    h, n = section["hybrid"], int(section["fom"]["trajectories"])
    if h.get("evaluate", "test") == "train":
        if int(split) != 0:
            raise ConfigError(f"split {split} is not configured: evaluate = 'train' has one "
                              "split (0)")
        return list(range(n)), list(range(n))
    splits = split_trajectories(n, int(h["splits"]), int(h["test"]), int(seed))
    if not 0 <= int(split) < len(splits):
        raise ConfigError(f"split {split} is not configured; configured: 0 .. {len(splits) - 1}")
    return splits[int(split)]
