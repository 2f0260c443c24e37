"""Tests of romflow.config_checks: cross-key rules and empty mappings, through resolve.

Each case is a setting that the schema alone let through and a job then tripped
on (or got silently wrong); it must stop in ``resolve``, naming its key, the
value and what is allowed.
"""

from __future__ import annotations

import copy

import pytest

from romflow.config import deep_merge, resolve
from romflow.config_checks import CHECKS, problems
from romflow.errors import ConfigError


# check name -> (settings, texts the message must hold); a check may have several cases
CASES = {
    "x_range_not_empty": (
        {"toy": {"fom": {"x_min": 1.0, "x_max": 1.0}}},
        ["'toy.fom.x_max' = 1.0 is invalid", "> toy.fom.x_min = 1.0", "empty"]),
    "test_points_unseen": (
        {"toy": {"fom": {"test": {"A": [1.2, 1.4]}}}},
        ["'toy.fom.test.A' = [1.2, 1.4]", "toy.fom.train.A = [1.0, 1.4]", "[1.4]"]),
    "hybrid_splits_fit_trajectories/test": (   # the issue: named the value, not the key
        {"rd": {"hybrid": {"test": 10}}},
        ["'rd.hybrid.test' = 10 is invalid", "1 .. 9", "rd.fom.trajectories = 10"]),
    "hybrid_splits_fit_trajectories/channel": (
        {"channel": {"hybrid": {"test": 12}}},
        ["'channel.hybrid.test' = 12", "channel.fom.trajectories = 10"]),
    "hybrid_splits_fit_trajectories/splits": (
        {"rd": {"hybrid": {"splits": 11}}},
        ["'rd.hybrid.splits' = 11 is invalid", "1 .. 10", "repeat split 0"]),
    "hybrid_splits_fit_trajectories/pairs": (
        {"rd": {"hybrid": {"splits": 6, "test": 2}}}, ["'rd.hybrid.splits' = 6", "1 .. 5"]),
    "networks_fit_grids": (
        {"rd": {"hybrid": {"closure": {"widths": [2] * 8}}}},
        ["'rd.hybrid.closure.widths'", "at most 7 widths", "rd.fom.grids = [64]"]),
    "networks_fit_grids/channel": (
        {"channel": {"hybrid": {"manifold": {"widths": [2] * 7}}}},
        ["'channel.hybrid.manifold.widths'", "at most 6 widths", "[[128, 32]]"]),
    "subgrid_skip_needs_correction": (
        {"rd": {"fom": {"unresolved": "reaction"}}},
        ["'rd.hybrid.closure.skip' = 'subgrid'", "'none'", "rd.fom.unresolved = 'reaction'"]),
    "subgrid_skip_needs_correction/channel": (
        {"channel": {"hybrid": {"closure": {"skip": "subgrid"}}}},
        ["'channel.hybrid.closure.skip' = 'subgrid'", "no coarse-fine correction"]),
    "time_grid_whole": (
        {"vlasov": {"fom": {"dt": 0.003}}},
        ["'vlasov.fom.t_end' = 5.0 is invalid", "multiple of vlasov.fom.dt = 0.003"]),
    "time_grid_whole/save_every": (
        {"vlasov": {"fom": {"save_every": 3}}},
        ["'vlasov.fom.save_every' = 3", "divisor of the 1000 steps"]),
    "grid_leaves_test_points": (
        {"vlasov": {"fom": {"train_every": 1}}},
        ["'vlasov.fom.train_every' = 1", ">= 2", "no test point"]),
    "explicit_step_stable": (
        {"channel": {"fom": {"dt": 0.01}}},
        ["'channel.fom.dt' = 0.01 is invalid", "<= 0.004", "channel.fom.reynolds = 500"]),
    "reaction_only_options": (
        {"rd": {"hybrid": {"resolved_step": "explicit_half"}}},
        ["'rd.hybrid.resolved_step' = 'explicit_half' is invalid", "'crank_nicolson'",
         "rd.fom.unresolved: reaction"]),
    "reaction_only_options/keep_every": (
        {"rd": {"fom": {"keep_every": 2}}},
        ["'rd.fom.keep_every' = 2 is invalid", "1 here", "rd.fom.unresolved: reaction"]),
    "reaction_only_options/divisor": (
        {"rd": {"fom": {"unresolved": "reaction", "keep_every": 3},
                "hybrid": {"closure": {"skip": "none"}}}},
        ["'rd.fom.keep_every' = 3 is invalid", "divisor of rd.fom.steps = 1000"]),
    "lambda_sweep_has_tr": (
        {"rd": {"hybrid": {"lam_sweep": [1.0], "estimators": {"tr": {"base": "ols"}}}}},
        ["'rd.hybrid.lam_sweep' = [1.0]", "estimator entry 'tr' of base tr"]),
    "plotted_lambdas_computed": (
        {"linear": {"theory": {"fig6_lambdas": [1.0, 3.0]}}},
        ["'linear.theory.fig6_lambdas' = [1.0, 3.0]", "linear.theory.lambdas", "[3.0]"]),
    "figure_model_configured": (
        {"vlasov": {"figure8": "table2_mlasdi_h500_z5_25k_50k_typo"}},
        ["'vlasov.figure8' = 'table2_mlasdi_h500_z5_25k_50k_typo' is invalid",
         "one of the models", "table2_mlasdi_h50_z5_2k_2k"]),
}


@pytest.mark.parametrize("user, expected", CASES.values(), ids=CASES.keys())
def test_cross_key_rule_refuses_naming_the_key(refused, user, expected):
    msg = refused(user)
    assert all(text in msg for text in expected), msg


def test_every_check_has_a_case():
    assert {name.split("/")[0] for name in CASES} == {c.__name__ for c in CHECKS}


def test_checks_find_sections_by_shape(raw, schema):
    """A new hybrid problem laid out like rd is checked with no new line of code."""
    cfg = resolve(dict(copy.deepcopy(raw), scale="quick"), schema)
    cfg["rd2"] = copy.deepcopy(cfg["rd"])
    cfg["rd2"]["hybrid"]["test"] = cfg["rd2"]["fom"]["trajectories"]
    assert [(p.path, p.value) for p in problems(cfg)] == [(("rd2", "hybrid", "test"), 10)]


def test_several_problems_are_listed_at_once(refused):
    msg = refused({"toy": {"fom": {"x_max": -3.0}}, "rd": {"hybrid": {"test": 10}}})
    assert "'toy.fom.x_max'" in msg and "'rd.hybrid.test'" in msg, msg


def test_schema_errors_come_before_cross_key_rules(refused):
    """The rules read typed values: with a type error they do not run (nor crash)."""
    msg = refused({"rd": {"fom": {"trajectories": 10.0}, "hybrid": {"test": 10}}})
    assert "'rd.fom.trajectories' = 10.0" in msg and "'rd.hybrid.test'" not in msg, msg


# --- empty mappings: merged key by key, they change nothing -----------------------------

def test_empty_models_from_the_user_are_refused(refused):
    """``toy: {models: {}}`` was merged away: every base model still ran."""
    msg = refused({"toy": {"models": {}}})
    assert "'toy.models' = {} is invalid" in msg, msg
    assert "['gplasdi', 'gplasdi_deep', 'mlasdi'] would stay" in msg and "experiments" in msg


def test_empty_mapping_in_the_user_preset_is_refused(refused):
    """In a --configfile's ``scales`` part (Snakemake has merged it into the presets)."""
    msg = refused({"scales": {"test": {"toy": {"models": {}}}}}, scale="test")
    assert "'scales.test.toy.models' = {}" in msg, msg


def test_empty_mapping_in_config_yaml_preset_is_refused(raw, schema):
    config = copy.deepcopy(raw)
    config["scales"]["test"]["rd"]["hybrid"]["manifold"] = {}
    config["scale"] = "test"
    with pytest.raises(ConfigError, match=r"'scales.test.rd.hybrid.manifold' = \{\} is invalid"):
        resolve(config, schema)


def test_empty_mapping_over_an_empty_one_is_fine(raw, schema):
    """config.yaml's own ``paper: {}`` preset, and a user repeating it, change nothing
    because there is nothing to change."""
    config = deep_merge(raw, {"scales": {"paper": {}}})
    config["scale"] = "paper"
    assert resolve(config, schema, user={"scales": {"paper": {}}})["scale"] == "paper"
