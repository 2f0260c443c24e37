"""Tests of romflow.model_specs: model entries, sweeps as config data, shared segments."""

from __future__ import annotations

import copy

import pytest

from romflow.config import load_yaml, resolve
from romflow.errors import ConfigError
from romflow.model_specs import StageSpec, model_spec, model_specs, segments


@pytest.fixture(scope="module")
def cfg(repo_root):
    def resolved(scale):
        raw = load_yaml(repo_root / "config.yaml")
        raw["scale"] = scale
        return resolve(raw, load_yaml(repo_root / "workflow/schemas/config.schema.yaml"))
    return {s: resolved(s) for s in ("test", "quick", "paper")}


def test_model_spec_fills_the_gplasdi_defaults(cfg):
    spec = model_spec("mlasdi", cfg["quick"]["toy"], cfg["quick"]["lasdi"])
    assert spec.hidden == (200, 20) and spec.latent == 10
    assert (spec.library, spec.beta1, spec.beta2) == ("linear", 0.1, 1e-3)
    assert (spec.coef_penalty, spec.coef_norm, spec.derivative, spec.init, spec.keep) == (
        "norm", "fro", "sbp12", "xavier_uniform", "best")
    assert spec.stages == (StageSpec(iterations=10000, lr=1e-3, kappa=1.0),) * 2
    assert spec.stage(2) is spec.stages[1]


def test_a_model_entry_overrides_the_defaults(cfg):
    toy = copy.deepcopy(cfg["test"]["toy"])
    toy["models"]["mlasdi"].update(library="quadratic", coef_penalty="squared")
    toy["models"]["mlasdi"]["stages"][1]["lr"] = 5e-4
    spec = model_spec("mlasdi", toy, cfg["test"]["lasdi"])
    assert spec.library == "quadratic" and spec.coef_penalty == "squared"
    assert spec.stage(2).lr == 5e-4 and spec.stage(1).lr == 1e-3


def test_model_spec_errors(cfg):
    spec = model_spec("gplasdi", cfg["quick"]["toy"], cfg["quick"]["lasdi"])
    for k in (0, 2):
        with pytest.raises(ConfigError, match=f"'gplasdi' has 1 stages; stage {k} does not exist"):
            spec.stage(k)
    with pytest.raises(ConfigError, match=r"model 'nope' is not configured.*'gplasdi'"):
        model_spec("nope", cfg["quick"]["toy"], cfg["quick"]["lasdi"])


def test_the_table2_sweep_expands_into_the_papers_model_entries(cfg):
    """mLaSDI paper, Table 2: 5 hidden-layer choices x 4 latent sizes x (4 GPLaSDI
    checkpoints + 4 mLaSDI iteration pairs); GPLaSDI's widths are 1.5 x mLaSDI's."""
    specs = model_specs(cfg["paper"]["vlasov"], cfg["paper"]["lasdi"])
    table2 = {n: s for n, s in specs.items() if s.sweep == "table2"}
    assert len(table2) == 5 * 4 * (4 + 4)
    g = table2["table2_gplasdi_h1500x750x75_z7_100k"]
    assert g.hidden == (1500, 750, 75) and g.latent == 7 and len(g.stages) == 1
    m = table2["table2_mlasdi_h1000x500x50_z7_75k_25k"]
    assert m.hidden == (1000, 500, 50)
    assert [s.iterations for s in m.stages] == [75000, 25000]
    assert m.group == {"hidden": [1000, 500, 50], "latent": 7, "total_iterations": 100000}
    quad = specs["appendix_b_quadratic_h500_z5_50k"]
    assert quad.library == "quadratic" and quad.hidden == (500,)
    assert cfg["paper"]["vlasov"]["figure8"] in specs


def test_a_sweep_costs_its_longest_runs(cfg):
    """Iteration counts are checkpoints of one run: GPLaSDI's 25k..100k are four
    segments of one 100k run, mLaSDI's stage-1 25k/50k/75k are segments of one 75k run
    (shared with appendix B's linear models, which extend it to 100k), and the stage-2
    runs from the 25k state share their 25k segment."""
    specs = model_specs(cfg["paper"]["vlasov"], cfg["paper"]["lasdi"])
    segs = segments(specs, seed=0)
    arch = [n for n in specs if "_h500_z5_" in n or "_gplasdi_h750_z5_" in n]
    unique = {s.path: s for n in arch for s in segs[n]}
    trained = sum(s.iterations - s.previous for s in unique.values())
    asked = sum(st.iterations for n in arch for st in specs[n].stages)
    # GPLaSDI 100k, mLaSDI/appendix-B linear stage 1 100k, quadratic 100k, stage 2:
    # 50k from the 25k state, 50k from 50k, 25k from 75k
    assert trained == 100_000 * 3 + 50_000 + 50_000 + 25_000
    assert asked > 2 * trained
    g25, g50 = (segs[f"table2_gplasdi_h750_z5_{n}"][0] for n in ("25k", "50k"))
    assert g25.chain == g50.chain and g50.previous == 25000 and g25.previous == 0
    m = segs["table2_mlasdi_h500_z5_25k_50k"]
    assert m[1].previous == 25000 and m[1].parent == m[0] and m[0].iterations == 25000
    lin = segs["appendix_b_linear_h500_z5_100k"][0]
    assert lin.chain == m[0].chain and lin.previous == 75000


def test_segments_differ_when_any_stage_setting_differs(cfg):
    specs = model_specs(cfg["quick"]["toy"], cfg["quick"]["lasdi"])
    segs = segments(specs, seed=0)
    # mlasdi's stage 1 is gplasdi's run at 10k iterations
    assert segs["mlasdi"][0].chain == segs["gplasdi"][0].chain
    assert segs["gplasdi"][0].previous == 10000
    assert segs["gplasdi_deep"][0].chain != segs["gplasdi"][0].chain
    # the kappa sweep shares stage 1 and trains its own stage 2 per fixed kappa
    kappas = [n for n in specs if specs[n].sweep == "kappa"]
    assert len(kappas) == 5
    assert {segs[n][0].path for n in kappas} == {segs["mlasdi"][0].path}
    assert len({segs[n][1].chain for n in [*kappas, "mlasdi"]}) == 6
    assert segments(specs, seed=1)["mlasdi"][0].chain != segs["mlasdi"][0].chain


def test_kappa_sweep_needs_a_two_stage_base(cfg):
    toy = copy.deepcopy(cfg["test"]["toy"])
    toy["sweeps"]["kappa"]["base"] = "gplasdi"
    with pytest.raises(ConfigError, match="base model 'gplasdi' has one stage"):
        model_specs(toy, cfg["test"]["lasdi"])
    toy["sweeps"]["kappa"]["base"] = "missing"
    with pytest.raises(ConfigError, match="base model 'missing' is not configured"):
        model_specs(toy, cfg["test"]["lasdi"])
