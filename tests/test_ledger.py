"""The fidelity ledger covers every option of the 1998 model and states a valid status for each."""

from dataclasses import fields

from lenet1998 import LeNet5Config, ledger


def test_every_config_field_has_a_ledger_row():
    covered = {o for r in ledger.rows() for o in r["option"].split()}
    missing = {f.name for f in fields(LeNet5Config)} - covered - {"distortions"}
    assert not missing, f"add ledger rows for {sorted(missing)}"


def test_statuses_and_key_rows():
    rows = {r["aspect"]: r for r in ledger.rows()}
    assert all(r["status"] in ledger.STATUSES for r in rows.values())
    for aspect in ("MAP constant j", "S2 window operation", "RBF prototypes", "Distortion ranges",
                   "Weight initialisation", "Bias initialisation", "Which 500 patterns", "Output curvature"):
        assert rows[aspect]["status"] in ("assumed", "deviates"), aspect
    assert rows["MAP constant j"]["value used"] == f"map_j={LeNet5Config().map_j}"


def test_markdown_renders_every_row():
    md = ledger.markdown()
    assert md.count("\n") == len(ledger.rows()) + 2


def test_the_lush_ledger_names_real_options_and_reads_its_values_from_the_recipe():
    from lenet1998 import ledger
    from lenet1998.recipes import LUSH_DEMO

    rows = ledger.rows("lush")
    known = set(LUSH_DEMO.to_dict())
    assert all(o in known for r in rows for o in r["option"].split())
    assert all(r["status"] in ledger.STATUSES for r in rows)
    net = next(r for r in rows if r["aspect"] == "Network")
    assert "f6_units=10" in net["value used"] and "rbf_codes=place" in net["value used"]
    assert ledger.markdown("lush").count("\n") == len(rows) + 2
