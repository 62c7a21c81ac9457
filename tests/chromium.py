"""Open a local HTML file in headless Chromium and report what a person would meet there.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe`` (JSON
messages ending in a NUL byte on file descriptors 3 and 4), so nothing but the standard
library is needed and no port is opened. :func:`open_page` returns the page's visible
text, every JavaScript error (uncaught exceptions, ``console.error``, error log entries),
every request the page made beyond its own file, and optionally writes a screenshot.

Debian's ``chromium`` (``/usr/bin/chromium``) is installed by ``make test`` when missing.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"

#: Headless, sandbox off (root in CI), and nothing that talks to the network by itself.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)


@dataclass
class Page:
    """What the browser showed: the visible text, errors, and outside requests."""

    text: str = ""
    title: str = ""
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class _Pipe:
    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int):
        self.process = process
        self.to_browser = to_browser
        self.from_browser = from_browser
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> int:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self.next_id

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium exited (status {self.process.poll()})")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return dict(json.loads(message))

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str = "", timeout=30.0
    ) -> dict[str, Any]:
        wanted = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e["method"] == method for e in self.events):
            message = self._receive(deadline)
            if "method" in message:
                self.events.append(message)


def _start(user_data_dir: str) -> _Pipe:
    to_browser_read, to_browser_write = os.pipe()
    from_browser_read, from_browser_write = os.pipe()

    def descriptors_3_and_4() -> None:
        # Copies first: one of the pipe ends may itself be descriptor 3 or 4.
        commands, replies = os.dup(to_browser_read), os.dup(from_browser_write)
        os.dup2(commands, 3)
        os.dup2(replies, 4)

    process = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=descriptors_3_and_4,
        pass_fds=(3, 4),
    )
    os.close(to_browser_read)
    os.close(from_browser_write)
    return _Pipe(process, to_browser_write, from_browser_read)


def open_page(
    path: Path,
    screenshot: Path | None = None,
    width: int = 1280,
    height: int = 1600,
    fragment: str = "",
) -> Page:
    """Load ``path`` in a fresh headless Chromium (its own profile folder) and read it;
    ``fragment`` (an element id) scrolls the page there, as a link would."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    pipe = _start(profile)
    try:
        return _read(pipe, path.resolve(), screenshot, width, height, fragment)
    finally:
        try:
            pipe.send("Browser.close")
            pipe.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pipe.process.kill()
            pipe.process.wait()
        os.close(pipe.to_browser)
        os.close(pipe.from_browser)
        shutil.rmtree(profile, ignore_errors=True)


def _read(
    pipe: _Pipe, path: Path, screenshot: Path | None, width: int, height: int, fragment: str
) -> Page:
    target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.call(f"{domain}.enable", session=session)
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    pipe.call("Emulation.setDeviceMetricsOverride", metrics, session=session)
    url = path.as_uri()
    pipe.call("Page.navigate", {"url": url + (f"#{fragment}" if fragment else "")}, session=session)
    pipe.wait_for("Page.loadEventFired")
    page = Page()
    page.text = _evaluate(pipe, session, "document.body ? document.body.innerText : ''")
    page.title = _evaluate(pipe, session, "document.title")
    if screenshot is not None:
        shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session=session)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    for event in pipe.events:
        params = event.get("params", {})
        method = event["method"]
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text")
            page.errors.append(f"uncaught: {description}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            page.errors.append(f"console.{params['type']}: {args}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            page.errors.append(f"log: {params['entry'].get('text')}")
        elif method == "Network.requestWillBeSent":
            requested = params["request"]["url"]
            if requested != url:
                page.requests.append(requested)
    return page


def _evaluate(pipe: _Pipe, session: str, expression: str) -> str:
    result = pipe.call(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
    )
    return str(result["result"].get("value", ""))
