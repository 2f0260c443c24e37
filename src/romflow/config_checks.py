"""Cross-key rules of the configuration: what one key allows given another.

The JSON schema (``workflow/schemas/config.schema.yaml``) says what each key
allows on its own.  What a key allows given another key (``x_max`` above
``x_min``, fewer test trajectories than trajectories, network widths that the
grid can halve) is a named check here.  A check reads the effective
configuration (preset and user settings merged in, the schema already
satisfied) and yields one :class:`Problem` per bad key; :func:`problems` runs
every check in :data:`CHECKS`, and :func:`romflow.config.validate_config` turns
what they find into one :class:`~romflow.errors.ConfigError` naming each key,
its value and what is allowed.  Checks find their sections by shape (every
section with a ``hybrid`` part, every ``fom`` with ``x_min`` and ``x_max``),
so a new problem laid out like the existing ones is checked without a new line.

Each rule mirrors what a job would otherwise trip on (or, for the plotted
penalties and the test points, silently get wrong), so a bad combination
stops before any job starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Problem", "CHECKS", "problems", "empty_overrides"]


@dataclass(frozen=True)
class Problem:
    """A bad key: its ``path`` (keys and list indices), its value, what is allowed, why."""

    path: tuple
    value: object
    allowed: str
    why: str = ""


def _sections(cfg, *parts):
    """``(name, section)`` for every top-level section holding mappings ``parts``."""
    for name, section in cfg.items():
        if isinstance(section, dict) and all(isinstance(section.get(p), dict) for p in parts):
            yield name, section


def x_range_not_empty(cfg):
    """``fom.x_min < fom.x_max``: the toy samples ``linspace(x_min, x_max, nx)``."""
    for name, s in _sections(cfg, "fom"):
        fom = s["fom"]
        if {"x_min", "x_max"} <= set(fom) and not fom["x_min"] < fom["x_max"]:
            yield Problem((name, "fom", "x_max"), fom["x_max"],
                          f"a number > {name}.fom.x_min = {fom['x_min']!r}",
                          "the x range [x_min, x_max] is empty")


def test_points_unseen(cfg):
    """No parameter value in both ``fom.train`` and ``fom.test``: the test error at a
    training point measures no generalization, and the FOM would repeat the point."""
    for name, s in _sections(cfg, "fom"):
        train, test = s["fom"].get("train"), s["fom"].get("test")
        if not (isinstance(train, dict) and isinstance(test, dict)):
            continue
        for key, values in test.items():
            seen = [v for v in values if v in train.get(key, ())]
            if seen:
                yield Problem((name, "fom", "test", key), values,
                              f"values not in {name}.fom.train.{key} = {train[key]!r}",
                              f"{seen} are training points too")


def hybrid_splits_fit_trajectories(cfg):
    """``hybrid.test`` leaves a training trajectory, and ``hybrid.splits`` are distinct.

    Split s tests trajectories ``s*test .. s*test + test - 1`` of one permutation,
    cyclically (:func:`romflow.hybrid.estimators.split_trajectories`), so there are
    ``trajectories / gcd(trajectories, test)`` distinct splits.
    """
    for name, s in _sections(cfg, "hybrid", "fom"):
        n, test, splits = s["fom"]["trajectories"], s["hybrid"]["test"], s["hybrid"]["splits"]
        if s["hybrid"].get("evaluate") == "train":
            if splits != 1:
                yield Problem((name, "hybrid", "splits"), splits, "1",
                              f"{name}.hybrid.evaluate = 'train' trains and rolls out on "
                              "every trajectory: every split would be the same")
            continue
        if test >= n:
            yield Problem((name, "hybrid", "test"), test,
                          f"1 .. {n - 1} (below {name}.fom.trajectories = {n})",
                          "a split needs at least one training trajectory")
            continue
        distinct = n // math.gcd(n, test)
        if splits > distinct:
            yield Problem((name, "hybrid", "splits"), splits, f"1 .. {distinct}",
                          f"with {name}.fom.trajectories = {n} and {name}.hybrid.test = "
                          f"{test}, split {distinct} would repeat split 0's test trajectories")


def _halvings(n: int) -> int:
    """How often ``n`` halves to an integer (its power of two)."""
    return (n & -n).bit_length() - 1


def networks_fit_grids(cfg):
    """``len(widths) - 1`` halvings of every grid in ``fom.grids`` (a U-Net level each)."""
    for name, s in _sections(cfg, "hybrid", "fom"):
        grids = s["fom"].get("grids", [])
        dims = [d for g in grids for d in (g if isinstance(g, list) else [g, g])]
        if not dims:
            continue
        most = min(_halvings(d) for d in dims)
        for part in ("manifold", "closure"):
            widths = s["hybrid"].get(part, {}).get("widths")
            if widths is not None and len(widths) - 1 > most:
                yield Problem((name, "hybrid", part, "widths"), widths,
                              f"at most {most + 1} widths",
                              f"{len(widths)} widths halve the grid {len(widths) - 1} times, "
                              f"but {name}.fom.grids = {grids} halve only {most} times")


def subgrid_skip_needs_correction(cfg):
    """``closure.skip: subgrid`` adds the sub-grid detail of the coarse-fine correction."""
    for name, s in _sections(cfg, "hybrid", "fom"):
        skip, unresolved = s["hybrid"].get("closure", {}).get("skip"), s["fom"].get("unresolved")
        if skip == "subgrid" and unresolved != "correction":
            what = (f"{name}.fom.unresolved = {unresolved!r}" if unresolved is not None
                    else f"{name} learns no coarse-fine correction")
            yield Problem((name, "hybrid", "closure", "skip"), skip, "'none' here",
                          f"the sub-grid skip needs {name}.fom.unresolved: correction; {what}")


def reaction_only_options(cfg):
    """``resolved_step: explicit_half`` and ``fom.keep_every > 1`` need reaction pairs
    (a coarse-fine correction is tied to one fine step); ``keep_every`` divides
    ``fom.steps``."""
    for name, s in _sections(cfg, "hybrid", "fom"):
        fom, h = s["fom"], s["hybrid"]
        unresolved = fom.get("unresolved")
        if h.get("resolved_step") == "explicit_half" and unresolved != "reaction":
            yield Problem((name, "hybrid", "resolved_step"), "explicit_half",
                          "'crank_nicolson' here",
                          f"the explicit half step needs {name}.fom.unresolved: reaction")
        keep = fom.get("keep_every", 1)
        if keep > 1 and unresolved != "reaction":
            yield Problem((name, "fom", "keep_every"), keep, "1 here",
                          f"keeping every n-th state needs {name}.fom.unresolved: reaction")
        elif keep > 1 and fom["steps"] % keep:
            yield Problem((name, "fom", "keep_every"), keep,
                          f"a divisor of {name}.fom.steps = {fom['steps']}")


def lambda_sweep_has_tr(cfg):
    """``hybrid.lam_sweep`` copies the estimator entry named ``tr`` at each λ."""
    for name, s in _sections(cfg, "hybrid"):
        h = s["hybrid"]
        est = h.get("estimators", {})
        if h.get("lam_sweep") and (not isinstance(est, dict) or est.get("tr", {}).get("base")
                                   != "tr"):
            yield Problem((name, "hybrid", "lam_sweep"), h["lam_sweep"],
                          "[] without an estimator entry 'tr' of base tr",
                          "the sweep copies the 'tr' entry at each lambda")


def time_grid_whole(cfg):
    """``t_end = n dt`` with an integer n, and ``save_every`` divides n (the Vlasov RK4)."""
    for name, s in _sections(cfg, "fom"):
        fom = s["fom"]
        if not {"t_end", "dt", "save_every"} <= set(fom):
            continue
        n = round(fom["t_end"] / fom["dt"])
        if n < 1 or abs(n * fom["dt"] - fom["t_end"]) > 1e-9 * fom["t_end"]:
            yield Problem((name, "fom", "t_end"), fom["t_end"],
                          f"a whole multiple of {name}.fom.dt = {fom['dt']!r}")
        elif n % fom["save_every"]:
            yield Problem((name, "fom", "save_every"), fom["save_every"],
                          f"a divisor of the {n} steps {name}.fom.t_end / {name}.fom.dt")


def grid_leaves_test_points(cfg):
    """``train_every >= 2``: every ``train_every``-th grid point trains, the rest test."""
    for name, s in _sections(cfg, "fom"):
        fom = s["fom"]
        if {"points", "train_every"} <= set(fom) and fom["train_every"] < 2:
            yield Problem((name, "fom", "train_every"), fom["train_every"], "an integer >= 2",
                          "1 trains on every grid point and leaves no test point")


def explicit_step_stable(cfg):
    """``dt <= 2 / Re`` for every Reynolds number: forward Euler's viscous bound
    ``2 nu / |u|^2`` with ``|u| = 1`` (the channel FOM refuses a larger step)."""
    for name, s in _sections(cfg, "fom"):
        fom = s["fom"]
        if {"dt", "reynolds"} <= set(fom) and fom["dt"] > 2.0 / max(fom["reynolds"]):
            yield Problem((name, "fom", "dt"), fom["dt"],
                          f"a number <= {2.0 / max(fom['reynolds']):.3g}",
                          f"forward Euler's stability bound 2/Re at {name}.fom.reynolds "
                          f"= {max(fom['reynolds'])!r}")


def plotted_lambdas_computed(cfg):
    """Every ``theory.fig6_lambdas`` value is in ``theory.lambdas`` (Fig. 6 would
    otherwise show the nearest computed penalty under the asked one's label)."""
    for name, s in _sections(cfg, "theory"):
        th = s["theory"]
        missing = [lam for lam in th.get("fig6_lambdas", []) if lam not in th.get("lambdas", [])]
        if missing:
            yield Problem((name, "theory", "fig6_lambdas"), th["fig6_lambdas"],
                          f"values of {name}.theory.lambdas", f"{missing} are not computed")


def figure_model_configured(cfg):
    """``figure8`` names one of the problem's models (a ``models`` entry or a model a
    sweep expands to); otherwise the figure's rule would fail after every training."""
    from romflow.model_specs import model_specs

    for name, s in _sections(cfg, "models"):
        wanted = s.get("figure8")
        if not wanted:
            continue
        try:
            names = sorted(model_specs(s, cfg.get("lasdi", {})))
        except Exception:  # the models' own errors are reported where they are built
            continue
        if wanted not in names:
            shown = names if len(names) <= 12 else names[:12] + [f"... ({len(names)} in all)"]
            yield Problem((name, "figure8"), wanted, f"one of the models {shown}",
                          "Fig. 8 plots that model")


#: Every cross-key rule, run in this order by :func:`problems`.
CHECKS = (x_range_not_empty, test_points_unseen, hybrid_splits_fit_trajectories,
          networks_fit_grids, subgrid_skip_needs_correction, reaction_only_options,
          lambda_sweep_has_tr, time_grid_whole,
          grid_leaves_test_points, explicit_step_stable, plotted_lambdas_computed,
          figure_model_configured)


def problems(cfg) -> list[Problem]:
    """What every check in :data:`CHECKS` finds in a schema-valid configuration."""
    return [p for check in CHECKS for p in check(cfg)]


def empty_overrides(override, base, where=()) -> list[Problem]:
    """Empty mappings in ``override`` where ``base`` has a non-empty one.

    Mappings merge key by key (:func:`romflow.config.deep_merge`), so ``models: {}``
    over config.yaml's models removes nothing: every base model would still run.
    Whatever the user meant (no models, or only those named elsewhere), the merge
    cannot do it, so it is refused instead of silently ignored.
    """
    out = []
    for key, value in override.items():
        below = base.get(key) if isinstance(base, dict) else None
        if not isinstance(value, dict) or not isinstance(below, dict):
            continue
        if not value and below:
            out.append(Problem((*where, key), value, "a mapping of the keys to change",
                               f"an empty mapping merges into config.yaml's key by key and "
                               f"removes nothing: {sorted(below)} would stay; to build fewer "
                               f"experiments set 'experiments'"))
        out += empty_overrides(value, below, (*where, key))
    return out
