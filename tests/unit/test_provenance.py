"""The index of what made each result file (romflow.provenance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from romflow import provenance
from romflow.provenance import Record


def _results(tmp_path):
    res = tmp_path / "results" / "toy"
    (res / "figures").mkdir(parents=True)
    (res / "tables").mkdir()
    xr.Dataset({"u": ("x", np.zeros(3))}, attrs={"config_digest": "aaaa"}).to_netcdf(
        res / "fom.nc")
    xr.Dataset({"e": ("x", np.zeros(3))}, attrs={"config_digest": "bbbb"}).to_netcdf(
        res / "errors.nc")
    pd.DataFrame({"model": ["a", "b"], "config_digest": ["cccc", "dddd,cccc"]}).to_csv(
        res / "tables" / "errors.csv", index=False)
    (res / "figures" / "fig4.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (res / "stage1.pt").write_bytes(b"not read")
    (res / "stray.txt").write_text("made by hand")
    files = ["results/toy/fom.nc", "results/toy/errors.nc", "results/toy/tables/errors.csv",
             "results/toy/figures/fig4.png", "results/toy/stage1.pt", "results/toy/stray.txt"]
    records = {
        "results/toy/fom.nc": Record("fom"),
        "results/toy/stage1.pt": Record("train_stage1", ("results/toy/fom.nc",)),
        "results/toy/errors.nc": Record("evaluate", ("results/toy/stage1.pt",)),
        "results/toy/tables/errors.csv": Record("report_lasdi", ("results/toy/errors.nc",)),
        # a figure made from an errors file and a model file: the digests of both
        "results/toy/figures/fig4.png": Record("report_lasdi", ("results/toy/errors.nc",
                                                                "results/toy/stage1.pt")),
    }
    return files, records


def test_own_digests(tmp_path):
    files, _ = _results(tmp_path)
    digests = [provenance.own_digests(tmp_path / f) for f in files]
    assert digests == [["aaaa"], ["bbbb"], ["cccc", "dddd"], [], [], []]
    (tmp_path / "broken.nc").write_bytes(b"CDF\x01 truncated")
    assert provenance.own_digests(tmp_path / "broken.nc") == []


def test_index_follows_inputs_to_a_digest(tmp_path):
    files, records = _results(tmp_path)
    table = provenance.index(files, records, root=tmp_path).set_index("file")
    assert table.loc["results/toy/fom.nc", "config_digest"] == "aaaa"
    assert table.loc["results/toy/fom.nc", "own"]
    # model file: none of its own, its input's
    assert table.loc["results/toy/stage1.pt", "config_digest"] == "aaaa"
    assert not table.loc["results/toy/stage1.pt", "own"]
    assert table.loc["results/toy/figures/fig4.png", "config_digest"] == "aaaa, bbbb"
    assert table.loc["results/toy/figures/fig4.png", "rule"] == "report_lasdi"
    assert table.loc["results/toy/stray.txt", "rule"] == "(no job record)"
    assert table.loc["results/toy/stray.txt", "config_digest"] == ""


def test_index_survives_a_record_cycle(tmp_path):
    files, records = _results(tmp_path)
    records["results/toy/stage1.pt"] = Record("x", ("results/toy/figures/fig4.png",))
    records["results/toy/figures/fig4.png"] = Record("y", ("results/toy/stage1.pt",))
    table = provenance.index(files, records, root=tmp_path).set_index("file")
    assert table.loc["results/toy/stage1.pt", "config_digest"] == ""


def test_markdown_groups_by_folder(tmp_path):
    files, records = _results(tmp_path)
    text = provenance.markdown(provenance.index(files, records, root=tmp_path),
                               scale="test", config_digest="ffff")
    assert text.startswith("# What made each file in results/")
    assert "Scale `test`; digest of the whole effective config `ffff`." in text
    assert "## results/toy/figures/" in text and "## results/toy/tables/" in text
    assert "| fig4.png | report_lasdi | aaaa, bbbb (of its inputs) |" in text
    assert "| fom.nc | fom | aaaa |" in text and "| stray.txt | (no job record) | – |" in text
