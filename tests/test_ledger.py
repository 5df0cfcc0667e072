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
