"""Tests of romflow.config: presets, schema validation, error messages and typed views."""

from __future__ import annotations

import copy
import json
import re

import pytest

from romflow.config import SCALES, deep_merge, differences, load_yaml, ordered_like, resolve
from romflow.errors import ConfigError
from romflow.model_specs import model_specs


def with_scale(config, scale):
    out = copy.deepcopy(config)
    out["scale"] = scale
    return out


def config_error(config, schema) -> str:
    with pytest.raises(ConfigError) as info:
        resolve(config, schema)
    return str(info.value)


@pytest.mark.parametrize("scale", SCALES)
def test_default_config_resolves_for_every_scale(raw, schema, scale):
    cfg = resolve(with_scale(raw, scale), schema)
    assert cfg["scale"] == scale
    assert "scales" not in cfg
    for problem in ("toy", "wake", "vlasov"):
        specs = model_specs(cfg[problem], cfg["lasdi"])
        assert specs and all(len(spec.stages) >= 1 for spec in specs.values())


def test_test_preset_is_merged(raw, schema):
    cfg = resolve(with_scale(raw, "test"), schema)
    assert cfg["toy"]["fom"]["nx"] == 120 and cfg["toy"]["fom"]["nt"] == 41
    # untouched base values survive the merge
    assert cfg["toy"]["fom"]["x_min"] == raw["toy"]["fom"]["x_min"]
    assert cfg["lasdi"]["stage"]["lr"] == raw["lasdi"]["stage"]["lr"]
    assert cfg["lasdi"]["monitor"]["checkpoint_every"] == 20
    # lists replace: the preset's single stage replaces the base's
    assert cfg["toy"]["models"]["gplasdi"]["stages"] == [{"iterations": 40}]
    assert cfg["toy"]["sweeps"]["kappa"]["base"] == raw["toy"]["sweeps"]["kappa"]["base"]


def test_key_order_follows_config_yaml_whoever_set_a_value(raw, schema):
    """Snakemake's merged config lists a --configfile's keys first and tells rule
    params apart by their text: with config.yaml as template the effective config
    has one key order, so the same settings never rerun a rule."""
    user = {"channel": {"fom": {"trajectories": 10, "reynolds": [100.0]}}}
    plain = deep_merge(with_scale(raw, "quick"), user)
    user_first = ordered_like(plain, user)          # as Snakemake hands it over
    assert list(user_first["channel"]["fom"])[:2] == ["trajectories", "reynolds"]
    a = resolve(user_first, schema, user=user, template=raw)
    b = resolve(plain, schema, user=user, template=raw)
    assert json.dumps(a) == json.dumps(b)
    assert list(a["channel"]["fom"]) == list(raw["channel"]["fom"])
    assert list(a)[:3] == [k for k in raw if k in a][:3]
    # without the template the order is the caller's
    assert list(resolve(user_first, schema, user=user)["channel"]["fom"])[:2] == [
        "trajectories", "reynolds"]
    assert ordered_like([3, 1], [1, 3]) == [3, 1]      # lists keep their order


def test_user_settings_win_over_the_preset(raw, schema):
    """What --config / --configfile set beats the preset: the quick preset's
    rd.hybrid.splits = 1 used to silently replace a user's splits = 3, and a user's
    rd.hybrid.manifold.epochs = 3000 (config.yaml's own value) its epochs = 15."""
    user = {"rd": {"hybrid": {"splits": 3, "estimators": {"tr": {"lam": 1.0}},
                              "manifold": {"epochs": raw["rd"]["hybrid"]["manifold"]["epochs"]}}}}
    given = deep_merge(with_scale(raw, "quick"), user)
    cfg = resolve(given, schema, user=user)
    assert cfg["rd"]["hybrid"]["splits"] == 3 and cfg["rd"]["hybrid"]["estimators"]["tr"]["lam"] == 1.0
    assert cfg["rd"]["hybrid"]["manifold"]["epochs"] == 3000
    assert raw["scales"]["quick"]["rd"]["hybrid"]["manifold"]["epochs"] == 15
    # what the user left alone still comes from the preset, then the base
    assert cfg["rd"]["hybrid"]["every"] == raw["scales"]["quick"]["rd"]["hybrid"]["every"]
    assert cfg["rd"]["hybrid"]["manifold"]["lr"] == raw["scales"]["quick"]["rd"]["hybrid"][
        "manifold"]["lr"]
    assert cfg["rd"]["hybrid"]["closure"]["patience"] == raw["rd"]["hybrid"]["closure"]["patience"]
    # without the user's part, the preset wins
    assert resolve(given, schema)["rd"]["hybrid"]["splits"] == 1
    # a bad user value is still named with what is allowed
    bad = {"rd": {"hybrid": {"splits": "3"}}}
    with pytest.raises(ConfigError, match=r"'rd.hybrid.splits' = '3' is invalid; allowed: "
                                          r"a value of type integer"):
        resolve(deep_merge(with_scale(raw, "quick"), bad), schema, user=bad)


def test_resolve_does_not_modify_its_input(raw, schema):
    before = copy.deepcopy(raw)
    resolve(with_scale(raw, "test"), schema)
    assert raw == before


def test_device_gpu_is_rejected(raw, schema):
    cfg = with_scale(raw, "quick")
    cfg["device"] = "gpu"
    msg = config_error(cfg, schema)
    assert "device" in msg and "'gpu'" in msg and "auto" in msg and "cuda" in msg, msg


def test_unknown_scale(raw, schema):
    msg = config_error(with_scale(raw, "huge"), schema)
    assert "scale" in msg and "'huge'" in msg, msg
    assert all(s in msg for s in SCALES), msg


def test_negative_beta1(raw, schema):
    cfg = with_scale(raw, "quick")
    cfg["lasdi"]["beta1"] = -1
    msg = config_error(cfg, schema)
    assert "'lasdi.beta1' = -1 is invalid" in msg and ">= 0" in msg, msg


def test_typo_key_reports_missing_and_unknown(raw, schema):
    cfg = with_scale(raw, "quick")
    model = cfg["toy"]["models"]["mlasdi"]
    model["stage"] = model.pop("stages")
    msg = config_error(cfg, schema)
    assert "'toy.models.mlasdi.stages' is missing" in msg, msg
    assert "'toy.models.mlasdi.stage' is not known" in msg, msg
    assert "stages" in msg.split("is not known", 1)[1], msg  # lists the allowed keys


def test_zero_iterations(raw, schema):
    cfg = with_scale(raw, "quick")
    cfg["toy"]["models"]["mlasdi"]["stages"][1]["iterations"] = 0
    msg = config_error(cfg, schema)
    assert "'toy.models.mlasdi.stages[1].iterations' = 0 is invalid" in msg, msg
    assert ">= 1" in msg, msg


def test_empty_parameter_list(raw, schema):
    cfg = with_scale(raw, "quick")
    cfg["toy"]["fom"]["train"]["A"] = []
    msg = config_error(cfg, schema)
    assert "'toy.fom.train.A' = [] is invalid" in msg and "at least 1" in msg, msg


def test_error_in_preset_is_caught(raw, schema):
    cfg = with_scale(raw, "test")
    cfg["scales"]["test"]["toy"]["fom"]["nx"] = 2
    msg = config_error(cfg, schema)
    assert "'toy.fom.nx' = 2 is invalid" in msg and ">= 8" in msg, msg


def test_all_problems_are_listed_at_once(raw, schema):
    cfg = with_scale(raw, "quick")
    cfg["device"] = "gpu"
    cfg["seed"] = -3
    msg = config_error(cfg, schema)
    assert "'device'" in msg and "'seed' = -3" in msg, msg


def test_load_yaml_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match=re.escape(f"{bad}: cannot be read as YAML")):
        load_yaml(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping at the top level, got list"):
        load_yaml(listing)
    with pytest.raises(ConfigError, match="cannot be read as YAML"):
        load_yaml(tmp_path / "missing.yaml")


def test_deep_merge_semantics():
    base = {"a": {"x": 1, "y": [1, 2, 3]}, "b": 2, "c": {"d": {"e": 1}}}
    over = {"a": {"y": [9]}, "c": {"d": {"f": 2}}, "b": {"new": 1}}
    out = deep_merge(base, over)
    assert out == {"a": {"x": 1, "y": [9]}, "b": {"new": 1}, "c": {"d": {"e": 1, "f": 2}}}
    # inputs untouched, output shares no mutable state with them
    assert base == {"a": {"x": 1, "y": [1, 2, 3]}, "b": 2, "c": {"d": {"e": 1}}}
    out["a"]["y"].append(10)
    assert over["a"]["y"] == [9]
    # a mapping over a scalar replaces; a scalar over a mapping replaces
    assert deep_merge({"a": {"x": 1}}, {"a": 3}) == {"a": 3}


def test_differences_name_every_leaf_the_scale_changed(raw, schema):
    quick = resolve(with_scale(raw, "quick"), schema)
    paper = resolve(with_scale(raw, "paper"), schema)
    lines = differences(quick["vlasov"], paper["vlasov"])
    assert "fom.points: 9 (paper: 21)" in lines
    assert any(line.startswith("sweeps.table2.latent: [4, 5]") for line in lines)
    assert differences(paper["toy"], paper["toy"]) == []


def _deref(node, schema):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target = schema
        for part in ref[2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _missing_defaults(node, value, schema, where):
    """Keys the schema defines (``properties``) but ``value`` does not show."""
    node = _deref(node, schema)
    missing = []
    for key, sub in node.get("properties", {}).items():
        if not isinstance(value, dict) or key not in value:
            missing.append(f"{where}.{key}" if where else key)
        else:
            missing += _missing_defaults(sub, value[key], schema,
                                         f"{where}.{key}" if where else key)
    return missing


def test_schema_and_default_config_in_sync(raw, schema):
    """Every key of the base and of every preset is known to the schema (resolve rejects
    unknown keys), and every key the schema defines for the top level, lasdi and toy is
    written in config.yaml's base, so users see every default."""
    for scale in SCALES:
        resolve(with_scale(raw, scale), schema)
        assert scale in raw["scales"], f"preset {scale!r} missing from config.yaml"
    assert set(raw["scales"]) == set(SCALES)
    base = {k: v for k, v in raw.items() if k != "scales"}
    missing = _missing_defaults(schema, base, schema, "")
    assert not missing, f"schema keys without a default in config.yaml: {missing}"
    # every preset only uses keys the base shows too
    for scale in SCALES:
        extra = _extra_keys(raw["scales"][scale] or {}, base, "")
        assert not extra, f"preset {scale!r} sets keys absent from the base: {extra}"


def _extra_keys(preset, base, where, section=None):
    """Keys of ``preset`` absent from ``base``; under ``protocol_settings.<name>`` a key
    is compared with its problem's section (a protocol overrides that section)."""
    extra = []
    for key, value in preset.items():
        name = f"{where}.{key}" if where else key
        if where.endswith(".protocol_settings") and isinstance(value, dict):
            extra += _extra_keys(value, section, name, section)
            continue
        if not isinstance(base, dict) or key not in base:
            extra.append(name)
        elif isinstance(value, dict):
            extra += _extra_keys(value, base[key], name,
                                 base if section is None and "protocol_settings" in base
                                 else section)
    return extra


# --- values the schema's own types let through and jobs then tripped on (issue 19) ------

NAN, INF = float("nan"), float("inf")


def two_stages(**first):
    return {"toy": {"models": {"mlasdi": {"stages": [{"iterations": 40, **first},
                                                     {"iterations": 40}]}}}}


SCHEMA_CASES = {
    # JSON Schema Draft 2020-12 counts 40.0 as an integer; torch's optimizer loop did not
    "integer-valued float (iterations: 40.0)": (
        two_stages(iterations=40.0),
        ["'toy.models.mlasdi.stages[0].iterations' = 40.0 is invalid", "type integer",
         "40.0 is a float"]),
    # --config seed=1e3 arrives as 1000.0 and crashed numpy while building the DAG
    "integer-valued float (--config seed=1e3)": (
        {"seed": 1e3}, ["'seed' = 1000.0 is invalid", "type integer"]),
    "integer-valued float in a list": (
        {"rd": {"fom": {"grids": [64.0]}}}, ["'rd.fom.grids[0]' = 64.0", "type integer"]),
    "nan (beta1: .nan)": ({"lasdi": {"beta1": NAN}}, ["'lasdi.beta1' = nan is invalid",
                                                      "finite"]),
    "nan (lr: .nan)": ({"lasdi": {"stage": {"lr": NAN}}}, ["'lasdi.stage.lr' = nan", "finite"]),
    "nan (a stage's own lr)": (two_stages(lr=NAN),
                               ["'toy.models.mlasdi.stages[0].lr' = nan", "finite"]),
    "inf in a parameter list (A: [1, .inf])": (
        {"toy": {"fom": {"train": {"A": [1, INF]}}}}, ["'toy.fom.train.A[1]' = inf", "finite"]),
    "inf (t_end: .inf)": ({"toy": {"fom": {"t_end": INF}}}, ["'toy.fom.t_end' = inf", "finite"]),
    "-inf (x_min: -.inf)": ({"toy": {"fom": {"x_min": -INF}}}, ["'toy.fom.x_min' = -inf"]),
    "inf (rollout cap)": ({"rd": {"hybrid": {"rollout": {"cap": INF}}}},
                          ["'rd.hybrid.rollout.cap' = inf", "finite"]),
    "seed out of numpy's range (seed: 1.0e+20)": (
        {"seed": 1e20}, ["'seed' = 1e+20 is invalid", "type integer", "2**32"]),
    "seed out of numpy's range (2**32)": (
        {"seed": 2**32}, ["'seed' = 4294967296 is invalid", "<= 2147483647"]),
    "empty hidden widths (hidden: [])": (
        {"toy": {"models": {"mlasdi": {"hidden": []}}}},
        ["'toy.models.mlasdi.hidden' = [] is invalid", "at least 1"]),
    "no experiments (experiments: [])": ({"experiments": []},
                                         ["'experiments' = [] is invalid", "at least 1"]),
    "repeated training parameter": ({"toy": {"fom": {"train": {"A": [1.0, 1.0]}}}},
                                    ["'toy.fom.train.A' = [1.0, 1.0]", "without repeated"]),
    "repeated viscosity": ({"wake": {"fom": {"test": {"nu": [0.0004, 0.0004]}}}},
                           ["'wake.fom.test.nu'", "without repeated"]),
    "repeated gamma": ({"rd": {"fom": {"gammas": [0.1, 0.1]}}},
                       ["'rd.fom.gammas' = [0.1, 0.1]", "without repeated"]),
    "repeated Reynolds number": ({"channel": {"fom": {"reynolds": [100, 100.0]}}},
                                 ["'channel.fom.reynolds'", "without repeated"]),
    "repeated grid": ({"channel": {"fom": {"grids": [[16, 4], [16, 4]]}}},
                      ["'channel.fom.grids'", "without repeated"]),
    "repeated penalty": ({"linear": {"theory": {"lambdas": [1.0, 1.0]}}},
                         ["'linear.theory.lambdas'", "without repeated"]),
    "empty range (T: [1.0, 1.0])": ({"vlasov": {"fom": {"T": [1.0, 1.0]}}},
                                    ["'vlasov.fom.T' = [1.0, 1.0]", "strictly increasing"]),
    "reversed range (k: [1.2, 1.0])": ({"vlasov": {"fom": {"k": [1.2, 1.0]}}},
                                       ["'vlasov.fom.k' = [1.2, 1.0]", "strictly increasing"]),
    "range outside the Vlasov domain": ({"vlasov": {"fom": {"T": [0.8, 1.0]}}},
                                        ["'vlasov.fom.T[0]' = 0.8", ">= 0.9"]),
    # --config 'rd={hybrid: {splits: 3}}': Snakemake reads nested values as text
    "number as text (nested --config)": ({"rd": {"hybrid": {"splits": "3"}}},
                                         ["'rd.hybrid.splits' = '3'", "--configfile"]),
}


@pytest.mark.parametrize("user, expected", SCHEMA_CASES.values(), ids=SCHEMA_CASES.keys())
def test_bad_value_is_refused_naming_its_key(refused, user, expected):
    msg = refused(user)
    assert all(text in msg for text in expected), msg


def test_a_mistyped_value_is_named_once(refused):
    """seed: 1.0e+20 is named for its type, not also for its range."""
    msg = refused({"seed": 1e20})
    assert msg.count("'seed'") == 1, msg


def test_values_at_the_limits_are_accepted(raw, schema):
    user = {"seed": 2**31 - 1, "toy": {"fom": {"x_min": -1, "train": {"A": [1, 1.4]}}},
            "vlasov": {"fom": {"T": [0.9, 0.91]}}, "rd": {"hybrid": {"test": 9, "splits": 10}}}
    cfg = resolve(deep_merge(with_scale(raw, "quick"), user), schema, user=user)
    assert cfg["seed"] == 2**31 - 1 and cfg["rd"]["hybrid"]["splits"] == 10
