"""The web app of `synthspec serve` in headless Chromium (Debian's package, over the DevTools
protocol): upload titanic.csv → the PII finding for Name → the drafted spec with a fake policy →
run with a live progress bar → passed → report → download CSV; every step's screenshot is not
blank, the page has no console error and fits a 390 px phone screen."""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install 'synthspec[serve]'")
pytest.importorskip("websocket", reason="websocket-client (the dev extra) drives Chromium")
pytest.importorskip("PIL", reason="Pillow reads the screenshots")

from tests.browser import CHROMIUM, Browser, pixel_spread  # noqa: E402
from tests.server import Server  # noqa: E402

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")]

TITANIC = Path(__file__).resolve().parents[1] / "fixtures" / "titanic.csv"
SHOTS = os.environ.get("SYNTHSPEC_SERVE_SHOTS")  # a folder to keep the screenshots in (docs/img)


def _click(browser: Browser, element_id: str) -> None:
    browser.eval(f"document.getElementById({element_id!r}).click()")


def _visible(element_id: str) -> str:
    return f"!document.getElementById({element_id!r}).hidden"


def test_upload_to_download_in_the_browser(adult_project: Path, tmp_path: Path) -> None:
    server = Server(adult_project)
    shots: dict[str, bytes] = {}
    try:
        with Browser() as browser:
            browser.open(server.url + "/", 1400)
            browser.wait_until("document.querySelector('#tables .card[data-table=adult]')")
            shots["tables"] = browser.shot().png

            browser.set_files("#upload-file", [TITANIC])
            _click(browser, "upload-button")
            browser.wait_until(_visible("findings-section"))
            findings = browser.eval("document.getElementById('findings').innerText")
            assert "Name" in findings and "PERSON" in findings
            assert "891 rows" in browser.eval("document.getElementById('upload-summary').innerText")
            spec = browser.eval("document.getElementById('spec-text').value")
            assert "Name: {type: text, pii: fake, faker: name, gender: Sex}" in spec
            shots["findings"] = browser.shot().png

            # The policy of a finding, chosen in its row, is set in the spec's text.
            pick = "{{ const s = document.querySelector('select[data-column=Name]'); s.value = '{0}'; s.dispatchEvent(new Event('change')); }}"
            browser.eval(pick.format("hash"))
            assert "  Name: {type: text, pii: hash}  # " in browser.eval("document.getElementById('spec-text').value")
            browser.eval(pick.format("fake"))
            assert browser.eval("document.getElementById('spec-text').value") == spec
            browser.eval("document.getElementById('spec-model').value = 'cart'; "
                         "document.getElementById('spec-model').dispatchEvent(new Event('change'))")
            assert "model: {type: cart}" in browser.eval("document.getElementById('spec-text').value")
            _click(browser, "spec-save")
            browser.wait_until(_visible("spec-saved"))
            assert (adult_project / "specs" / "titanic.yml").read_text().count("model: {type: cart}") == 1
            shots["spec"] = browser.shot().png

            _click(browser, "run-button")
            browser.wait_until(_visible("run-progress"))
            seen = set()
            deadline = time.monotonic() + 300
            while not browser.eval(_visible("run-result")):
                seen.add(int(browser.eval("document.getElementById('progress-bar').value")))
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert browser.eval("document.getElementById('run-state').innerText").startswith("passed")
            assert browser.eval("document.getElementById('progress-bar').value") == 100
            assert any(0 < v < 100 for v in seen), seen  # the bar moved during the run
            assert "quality_score" in browser.eval("document.getElementById('run-checks').innerText")
            shots["run"] = browser.shot().png

            _click(browser, "report-button")
            browser.wait_until(_visible("report-section"))
            assert "titanic" in browser.eval("document.getElementById('report-frame').srcdoc")
            shots["report"] = browser.shot().png

            downloads = tmp_path / "downloads"
            downloads.mkdir()
            browser.downloads_to(downloads)
            _click(browser, "download-button")
            deadline = time.monotonic() + 60
            while not (downloads / "titanic.csv").is_file():
                assert time.monotonic() < deadline, list(downloads.iterdir())
                time.sleep(0.2)
            time.sleep(0.5)
            rows = list(csv.DictReader(io.StringIO((downloads / "titanic.csv").read_text())))
            assert len(rows) == 891 and "Name" in rows[0]
            real = {r["Name"] for r in csv.DictReader(io.StringIO(TITANIC.read_text()))}
            assert not real & {r["Name"] for r in rows}
            errors = browser.shot().errors
            assert not errors, errors

            browser.open(server.url + "/", 390)
            browser.wait_until("document.querySelector('#tables .card[data-table=titanic]')")
            phone = browser.shot()
            assert phone.scroll_width <= phone.viewport_width, (phone.scroll_width, phone.viewport_width)
            assert not phone.errors, phone.errors
            shots["phone"] = phone.png
    finally:
        server.stop()
    for name, png in shots.items():
        assert pixel_spread(png) > 10, f"the {name} screenshot is blank"
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            (Path(SHOTS) / f"serve-{name}.png").write_bytes(png)
