"""Headless Chromium over the DevTools protocol, for the report's browser tests (and for
refreshing the screenshots in docs/img: ``python -m tests.browser target/report.html docs/img``).

A minimal CDP client (websocket-client): open a page at a device width, run JavaScript in it,
set a file input, collect console errors and uncaught exceptions, measure the page's scroll
width and take a full-page screenshot."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")) if p), None)


@dataclass
class PageShot:
    png: bytes
    scroll_width: int
    viewport_width: int
    errors: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Session:
    def __init__(self, url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == event for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(event)
            self.events.append(json.loads(self.ws.recv()))


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for e in events:
        params = e.get("params", {})
        if e.get("method") == "Runtime.exceptionThrown":
            found.append(str(params.get("exceptionDetails", {}).get("text")))
        elif e.get("method") == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(json.dumps(params.get("args")))
        elif e.get("method") == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            found.append(str(params["entry"].get("text")))
    return found


class Browser:
    """A headless Chromium with one page, driven over the DevTools protocol (a context manager)."""

    def __init__(self) -> None:
        assert CHROMIUM is not None, "chromium is not installed"
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="synthspec-chromium-")
        self.process = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                         f"--remote-debugging-port={self.port}", f"--user-data-dir={self.profile}", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            page_target = next(t for t in _targets(self.port) if t.get("type") == "page")
            self.session = _Session(page_target["webSocketDebuggerUrl"])
            for domain in ("Page.enable", "Runtime.enable", "Log.enable", "DOM.enable"):
                self.session.call(domain)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "session", None) is not None:
            self.session.ws.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, url: str, width: int = 1400, height: int = 900) -> None:
        """Load ``url`` at a device width (below 600 px: a phone, mobile and touch)."""
        self.session.events.clear()
        self.session.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=width < 600)
        self.session.call("Page.navigate", url=url)
        self.session.wait_for("Page.loadEventFired")

    def eval(self, expression: str) -> Any:
        """The value of a JavaScript expression (promises awaited)."""
        result = self.session.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def wait_until(self, expression: str, timeout: float = 60.0) -> None:
        """Poll a JavaScript expression until it is truthy (in JavaScript's sense)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.eval(f"!!({expression})") is True:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression} stayed falsy for {timeout:.0f} s")
            time.sleep(0.2)

    def set_files(self, selector: str, paths: list[Path]) -> None:
        root = self.session.call("DOM.getDocument")["root"]["nodeId"]
        node = self.session.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.session.call("DOM.setFileInputFiles", nodeId=node, files=[str(p.resolve()) for p in paths])

    def downloads_to(self, directory: Path) -> None:
        self.session.call("Page.setDownloadBehavior", behavior="allow", downloadPath=str(directory.resolve()))

    def shot(self) -> PageShot:
        """A full-page screenshot of what is shown now, with the page's widths and errors so far."""
        scroll = self.eval("document.documentElement.scrollWidth")
        inner = self.eval("window.innerWidth")
        shot = self.session.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        return PageShot(base64.b64decode(shot["data"]), int(scroll), int(inner), _errors(self.session.events))


def shoot(page: Path, widths: tuple[int, ...] = (1400, 390)) -> dict[int, PageShot]:
    """Open ``page`` at each width (390 px as a phone: mobile, touch) and measure it."""
    with Browser() as browser:
        shots = {}
        for width in widths:
            browser.open(page.resolve().as_uri(), width)
            shots[width] = browser.shot()
        return shots


def _targets(port: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
                targets = json.loads(response.read())
            if any(t.get("type") == "page" for t in targets):
                return list(targets)
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("chromium did not open its DevTools port")
        time.sleep(0.2)


def pixel_spread(png: bytes) -> float:
    """Standard deviation of the grey levels: 0 for a blank image."""
    import io

    import numpy as np
    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype="float64").std())


def main(argv: list[str]) -> int:
    """Write report-1400.png and report-390.png (the first screens, downscaled) to a folder."""
    import io

    from PIL import Image

    page, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for width, shot in shoot(page).items():
        image = Image.open(io.BytesIO(shot.png)).convert("RGB")
        image = image.crop((0, 0, image.width, min(image.height, 3 * image.width if width < 600 else image.width * 2)))
        image.thumbnail((900, 2400))
        image.save(out / f"report-{width}.png", optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
