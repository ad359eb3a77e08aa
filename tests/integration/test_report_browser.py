"""The reviewer's report end to end: a real `apply` (real DuckDB, real CART training on 800 Adult
rows), `report --pdf`, then report.html in headless Chromium (Debian's package, which CI
installs) at 1400 and 390 px and the PDF pages through pdftoppm: non-blank, no console error,
no horizontal scroll at phone width, and no raw extreme or rare category anywhere."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.browser import CHROMIUM, pixel_spread, shoot
from tests.helpers import run_cli

pytestmark = pytest.mark.integration


def test_report_html_and_pdf(adult_project: Path, adult: pd.DataFrame, tmp_path: Path) -> None:
    """One apply (the costly part) behind every check; a missing browser or pdftoppm skips
    only its checks, with a message saying what to install, after the others ran."""
    result = run_cli(adult_project, "apply")
    assert result.exit_code == 0, result.output
    result = run_cli(adult_project, "report", "--pdf")
    assert result.exit_code == 0 and "report.pdf" in result.output, result.output
    target = adult_project / "target"
    _sections_and_privacy(target, adult)
    missing = []
    if CHROMIUM is None:
        missing.append("chromium is not installed (apt-get install -y chromium)")
    else:
        _in_chromium(target / "report.html")
    if shutil.which("pdftoppm") is None:
        missing.append("pdftoppm is not installed (apt-get install -y poppler-utils)")
    else:
        _pdf_pages(target / "report.pdf", tmp_path / "pages")
    if missing:
        pytest.skip("; ".join(missing))


def _sections_and_privacy(target: Path, adult: pd.DataFrame) -> None:
    page = (target / "report.html").read_text()
    results = json.loads((target / "run_results.json").read_text())
    insights = results["tables"][0]["insights"]
    assert insights["n_train"] + insights["n_holdout"] == 800 and insights["seed"] == 7 and insights["dcr"]
    for section in ("checks", "columns", "distributions", "correlations", "pairs", "privacy", "details"):
        assert f'id="t-adult-{section}"' in page, section
    sample = adult.head(800)
    stored = json.dumps(insights)
    for column in ("fnlwgt", "capital_gain"):
        for extreme in (int(sample[column].min()), int(sample[column].max())):
            if extreme > 1000:  # a distinctive number (0 is everywhere)
                assert f"{extreme:,}" not in page and str(extreme) not in stored, (column, extreme)
    counts = sample["native_country"].value_counts()
    for rare in counts[counts < 10].index:
        assert f">{rare}<" not in page and f'"{rare}"' not in stored, rare


def _in_chromium(page: Path) -> None:
    pytest.importorskip("websocket", reason="websocket-client is a dev dependency")
    shots = shoot(page)
    for width, shot in shots.items():
        assert shot.errors == [], (width, shot.errors)
        assert pixel_spread(shot.png) > 10, f"blank screenshot at {width} px"
    phone = shots[390]
    assert phone.viewport_width == 390 and phone.scroll_width <= 390, phone.scroll_width


def _pdf_pages(pdf: Path, out: Path) -> None:
    out.mkdir()
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(out / "page")], check=True)
    pages = sorted(out.glob("page*.png"))
    assert len(pages) >= 6  # cover, checks, summary, distributions, correlations, pairs, privacy
    for page in pages:
        assert pixel_spread(page.read_bytes()) > 5, f"blank PDF page {page.name}"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_the_browser_check_sees_overflow_and_console_errors(tmp_path: Path) -> None:
    """The checks above are not vacuous: a page wider than a phone and a console error are caught."""
    pytest.importorskip("websocket", reason="websocket-client is a dev dependency")
    page = tmp_path / "wide.html"
    page.write_text('<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head>'
                    '<body><div style="width:1000px">wide</div><script>console.error("boom")</script></body></html>')
    shot = shoot(page, (390,))[390]
    assert shot.scroll_width > 390 and any("boom" in e for e in shot.errors)
