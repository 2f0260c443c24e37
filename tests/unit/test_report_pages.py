"""Report pages: our numbers beside the papers' (romflow.report_pages)."""

from __future__ import annotations

import pandas as pd
import pytest

from romflow import paper_numbers, report_pages
from romflow.errors import ConfigError


def _errors_table():
    rows = []
    for model, stages, test, train in (("gplasdi", 1, 0.12, (0.05, 0.08)),
                                       ("mlasdi", 1, 0.10, (0.04, 0.06)),
                                       ("mlasdi", 2, 0.02, (0.01, 0.01)),
                                       ("mine", 1, float("inf"), (0.3, 0.2))):
        rows.append({"model": model, "stages": stages, "A": 1.2, "split": "test",
                     "max_rel_error": test})
        rows += [{"model": model, "stages": stages, "A": a, "split": "train",
                  "max_rel_error": e} for a, e in zip((1.0, 1.4), train)]
    return pd.DataFrame(rows)


def test_lasdi_comparison_sets_table1_beside_the_last_stage():
    """The mLaSDI paper's Table 1 (toy: GPLaSDI 4-20 %, mLaSDI 0.1-3 %) stands beside
    the last stage of the model of that name; ours is the range over parameters, %."""
    toy = paper_numbers.lookup("mlasdi", "table1", "toy")
    cmp = report_pages.lasdi_comparison(_errors_table(), toy).set_index(["model", "stages"])
    assert cmp.loc[("gplasdi", 1), "paper, Table 1 (%)"] == "4–20"
    assert cmp.loc[("gplasdi", 1), "ours, test (%)"] == "12"
    assert cmp.loc[("gplasdi", 1), "ours, train (%)"] == "5–8"
    assert cmp.loc[("mlasdi", 2), "paper, Table 1 (%)"] == "0.1–3"
    assert cmp.loc[("mlasdi", 2), "paper's model"] == "600-200-20-10, 2 x 10,000 it."
    assert cmp.loc[("mlasdi", 1), "paper, Table 1 (%)"] == ""   # stage 1 of a 2-stage model
    assert cmp.loc[("mine", 1), "paper, Table 1 (%)"] == ""     # no such model in the paper
    assert cmp.loc[("mine", 1), "ours, test (%)"] == "blow-up"
    assert cmp.loc[("mine", 1), "ours, train (%)"] == "20–30"


def test_hybrid_comparison_matches_grid_gamma_and_estimator():
    """The hybrid paper's Table 1: N = 64, γ = 0.05 has OLS 84 and TR 0.12; no number
    for mOLS, for a γ it did not run, or for a grid it did not use."""
    table = pd.DataFrame([
        {"grid": 64, "gamma": 0.05, "estimator": "ols", "rel_error_mean": 3.1,
         "blowups": 0, "rollouts": 10, "step": "1000"},
        {"grid": 64, "gamma": 0.05, "estimator": "tr", "rel_error_mean": float("inf"),
         "blowups": 10, "rollouts": 10, "step": "1000"},
        {"grid": 64, "gamma": 0.05, "estimator": "mols", "rel_error_mean": 0.5,
         "blowups": 0, "rollouts": 10, "step": "1000"},
        {"grid": 64, "gamma": 0.07, "estimator": "ols", "rel_error_mean": 0.5,
         "blowups": 0, "rollouts": 10, "step": "1000"},
        {"grid": 16, "gamma": 0.05, "estimator": "ols", "rel_error_mean": 0.5,
         "blowups": 1, "rollouts": 2, "step": "20"}])
    cmp = report_pages.hybrid_comparison(table, paper_numbers.lookup("hybrid", "table1"))
    assert list(cmp["paper (step 1000)"]) == ["84", "0.12", "", "", ""]
    assert list(cmp["ours"]) == ["3.1", "blow-up", "0.5", "0.5", "0.5"]
    assert list(cmp["blow-ups"])[-1] == "1/2"


def test_table_page_and_write_page(tmp_path):
    table = _errors_table()
    body = report_pages.table_page(table, title="toy <errors>", note="scale test",
                                   kind="lasdi_errors",
                                   published=paper_numbers.lookup("mlasdi", "table1", "toy"))
    assert "Ours beside the paper's" in body and "toy &lt;errors&gt;" in body
    assert body.count("<table") == 2 and "0.1–3" in body
    bare = report_pages.table_page(table, title="t", note="n", kind="lasdi_errors",
                                   published={})
    assert "publishes no number" in bare and bare.count("<table") == 1
    with pytest.raises(ConfigError, match="kind 'nope' is unknown; known: "):
        report_pages.table_page(table, title="t", note="n", kind="nope")
    page = report_pages.write_page(body, tmp_path / "sub" / "errors.html", title="toy")
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert list(page.parent.iterdir()) == [page]   # no temporary file left


def test_lasdi_comparison_uses_the_band_over_time_where_the_table_has_it():
    """Table 1's numbers are bands of the error over time (min to max, eq. (25) is the
    max): with ``min_rel_error_over_time`` ours is that band over the test parameters."""
    table = pd.DataFrame([
        {"model": "gplasdi", "stages": 1, "split": "test", "max_rel_error": 0.2,
         "min_rel_error_over_time": 0.04},
        {"model": "gplasdi", "stages": 1, "split": "test", "max_rel_error": 0.3,
         "min_rel_error_over_time": 0.05},
        {"model": "gplasdi", "stages": 1, "split": "train", "max_rel_error": 0.1,
         "min_rel_error_over_time": 0.01}])
    cmp = report_pages.lasdi_comparison(table, paper_numbers.lookup("mlasdi", "table1",
                                                                    "toy"))
    assert cmp.loc[0, "ours, test (%)"] == "4–30" and cmp.loc[0, "ours, train (%)"] == "1–10"


def test_table_page_shows_at_most_max_rows():
    table = pd.DataFrame({"a": range(12)})
    body = report_pages.table_page(table, title="t", note="n", max_rows=5)
    assert "Every row (12; the first 5 shown, the CSV has all)" in body
    assert body.count("<tr") == 1 + 5


def test_reduction_comparison_sets_section_4_3_beside_ours():
    """Section 4.3 of the mLaSDI paper: 2.54 / 3.24 / 5.91 for the max / mean / min."""
    table = pd.DataFrame([
        {"pair": "a vs b", "ratio_test_max": 2.0, "ratio_test_mean": 3.0,
         "ratio_test_min": 4.0},
        {"pair": "median", "ratio_test_max": 2.0, "ratio_test_mean": 3.0,
         "ratio_test_min": float("nan"), "of_medians_test_max": 1.5,
         "of_medians_test_mean": 2.5, "of_medians_test_min": 3.5}])
    paper = paper_numbers.lookup("mlasdi", "vlasov", "fig9_median_reduction")
    cmp = report_pages.reduction_comparison(table, paper).set_index(
        "statistic over the test parameters")
    assert list(cmp["paper"]) == ["2.54", "3.24", "5.91"]
    assert list(cmp["ours: median of the ratios"]) == ["2", "3", ""]
    assert cmp.loc["min", "ours: ratio of the medians"] == "3.5"
