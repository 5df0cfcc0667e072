"""Artefacts on demand (reports/render/artefacts.py, `lenet report --artefact NAME --to PATH`): each figure and table
is written alone from the cached runs, the same bytes as the report's own copy for a table, and REPORT.md is
never touched."""

from __future__ import annotations

import os

import pytest

from reports.render import artefacts
from reports.report import main as report_main

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke") / "r"
    assert report_main(["--profile", "smoke", "--out", str(out)]) == 0
    return out


def test_every_artefact_alone_leaves_report_md_untouched(smoke, tmp_path, capsys):
    report = smoke / "REPORT.md"
    before, mtime = report.read_bytes(), report.stat().st_mtime_ns
    written = 0
    for name, a in artefacts.ARTEFACTS.items():
        to = tmp_path / name
        code = report_main(["--profile", "smoke", "--out", str(smoke), "--artefact", name, "--to", str(to)])
        own = smoke / a.default
        if a.kind == "figure":
            if code == 0:
                assert to.with_suffix(".png").stat().st_size > 0 and to.with_suffix(".pdf").stat().st_size > 0
                written += 1
            else:  # only where the report has no such figure either
                assert not own.exists(), name
        else:
            if code == 0:
                assert to.with_suffix(".csv").read_bytes() == own.with_suffix(".csv").read_bytes(), name
                if own.with_suffix(".tex").exists():
                    assert to.with_suffix(".tex").read_bytes() == own.with_suffix(".tex").read_bytes(), name
                written += 1
            else:
                assert not own.with_suffix(".csv").exists(), name
    assert written >= 12  # the smoke profile has runs for most of them
    assert report.read_bytes() == before and report.stat().st_mtime_ns == mtime
    assert "wrote" in capsys.readouterr().out


def test_listing_and_refusals(smoke, tmp_path, capsys):
    (tmp_path / "a-file").write_text("a file where --to needs a folder")
    assert report_main(["--artefact", "list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in artefacts.ARTEFACTS) and "fig9" in listing and "table2" in listing
    for argv, words in [(["--artefact", "nope"], "unknown artefact 'nope'"),
                        (["--artefact", "fig9", "--to", str(tmp_path / "x.csv")], "a figure is written as .png"),
                        (["--artefact", "table2", "--to", str(tmp_path / "x.png")], "a table is written as .csv"),
                        (["--artefact", "fig9", "--to", str(tmp_path)], "is a folder"),
                        (["--artefact", "fig9", "--to", str(tmp_path / "a-file" / "f.png")], "give --to a folder path"),
                        (["--artefact", "table2", "--to", str(tmp_path / "a-file" / "t")], "give --to a folder path")]:
        assert report_main(["--profile", "smoke", "--out", str(smoke), *argv]) == 1
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and words in err
    empty = tmp_path / "empty"
    assert report_main(["--profile", "smoke", "--out", str(empty), "--artefact", "fig9", "--to", str(tmp_path / "f")]) == 1
    assert "no runs for it" in capsys.readouterr().err and not (empty / "REPORT.md").exists()
    with pytest.raises(SystemExit):
        report_main(["--to", "x.png"])
    assert "--to needs --artefact" in capsys.readouterr().err
    assert not os.path.exists("x.png")
