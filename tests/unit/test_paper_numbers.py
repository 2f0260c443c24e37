"""The published numbers file: every entry the tables and captions rely on is there and
matches the papers' text (mLaSDI Table 1 and section 4.3; hybrid paper Tables 1-2)."""

from romflow import paper_numbers


def test_mlasdi_table1_holds_the_papers_ranges():
    toy = paper_numbers.lookup("mlasdi", "table1", "toy")
    assert toy["gplasdi"]["rel_error_percent"] == [4, 20]
    assert toy["mlasdi"]["rel_error_percent"] == [0.1, 3]
    wake = paper_numbers.lookup("mlasdi", "table1", "wake")
    assert wake["gplasdi"]["rel_error_percent"] == [3, 5]
    assert wake["mlasdi"]["rel_error_percent"] == [1, 2]
    assert paper_numbers.lookup("mlasdi", "vlasov", "fig9_median_reduction") == {
        "max": 2.54, "mean": 3.24, "min": 5.91}


def test_hybrid_tables_have_one_value_per_sweep_point():
    t1 = paper_numbers.lookup("hybrid", "table1")
    for grid in ("n64", "n128"):
        for est in ("ols", "tr"):
            assert len(t1[grid][est]) == len(t1["gammas"])
    t2 = paper_numbers.lookup("hybrid", "table2")
    assert t2["n128x32"]["tr"] == [506, 497, 482, 442, 452]
    for grid in ("n128x32", "n256x64"):
        for est in ("ols", "tr"):
            assert len(t2[grid][est]) == len(t2["reynolds"])


def test_lookup_of_an_unpublished_entry_gives_the_default_and_load_is_a_copy():
    assert paper_numbers.lookup("mlasdi", "table1", "vlasov", default="-") == "-"
    data = paper_numbers.load()
    data["hybrid"]["table1"]["gammas"].append(1.0)
    assert len(paper_numbers.lookup("hybrid", "table1", "gammas")) == 5
