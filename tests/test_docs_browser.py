"""The documentation site works in a real browser, offline.

The site is built with ``mkdocs build --strict`` into a temporary directory, served on
127.0.0.1, and opened in headless Chromium driven over the DevTools protocol (a small
WebSocket client below, so no browser download and no extra package). The checks: the
navigation renders with every section, code blocks are highlighted, the search index exists and
the search box finds pages, and no page loads anything from another host.

Without Chromium the tests skip, unless ``TACTICAL_REQUIRE_SERVICES=1`` (as in CI, which
installs Debian's ``chromium``), where they fail.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
REQUIRE = os.environ.get("TACTICAL_REQUIRE_SERVICES") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT = 30.0
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]
SECTIONS = [
    "Tutorial",
    "How-to guides",
    "Reference",
    "Explanation",
    "Guarantees",
    "Benchmarks",
]
# Pages with code to check for highlighting: the home page and one of each kind.
PAGES_WITH_CODE = [
    "",
    "tutorial/model/",
    "tutorial/between-services/",
    "howto/concurrency/",
    "howto/dead-letters/",
    "reference/bus/",
    "reference/exceptions/",
]
# Pages that show a hand-drawn diagram (an SVG in docs/assets).
PAGES_WITH_DIAGRAMS = ["", "tutorial/events/", "explanation/outbox-and-inbox/"]

pytestmark = pytest.mark.slow


def require_chromium() -> str:
    if CHROMIUM is None:
        reason = "Chromium is not installed (apt-get install chromium)"
        if REQUIRE:
            pytest.fail(f"{reason}; TACTICAL_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)
    return CHROMIUM


# The site ---------------------------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The strictly built site, served over HTTP on a free loopback port; yields its URL."""
    require_chromium()
    directory = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        # Not --quiet: it silences the warnings that --strict turns into a failure.
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(directory)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}{build.stderr}"
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


# A minimal DevTools client ----------------------------------------------------------------------


class WebSocket:
    """Just enough of RFC 6455 to talk to Chromium's DevTools: text frames, masked sends."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            response += chunk
        head, _, self.buffer = response.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"DevTools refused the WebSocket: {head[:200]!r}")

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x81, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            payload = self._read(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in {0x0, 0x1, 0x2}:
                message += payload
                if first & 0x80:
                    return message.decode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class Browser:
    """One headless Chromium page, driven over DevTools."""

    def __init__(self, socket_url: str) -> None:
        self.ws = WebSocket(socket_url)
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.receive())
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href === " + json.dumps(url))

    def wait_for(self, expression: str, timeout: float = TIMEOUT) -> Any:
        """Evaluate ``expression`` until it is truthy; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"the page never satisfied: {expression}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Headless Chromium with a throw-away profile, on a DevTools port of its choosing."""
    chromium = require_chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client: Browser | None = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start (exit code {process.poll()})")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT) as r:
            targets = json.load(r)
        page = next(target for target in targets if target["type"] == "page")
        client = Browser(page["webSocketDebuggerUrl"])
        client.call("Page.enable")
        yield client
    finally:
        if client is not None:
            client.ws.close()
        process.terminate()
        try:
            process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(TIMEOUT)


# The checks -------------------------------------------------------------------------------------


def test_the_home_page_renders_the_navigation(site: str, browser: Browser) -> None:
    """The home page shows the site's name and a navigation entry for every section."""
    browser.open(site)
    labels = browser.wait_for(
        "Array.from(document.querySelectorAll('.md-nav--primary .md-nav__link'),"
        " e => e.textContent.trim())"
    )
    for section in SECTIONS:
        assert section in labels, f"no {section!r} in the navigation: {labels}"
    title = browser.evaluate("document.querySelector('article h1').firstChild.textContent")
    assert title.strip() == "tactical"


@pytest.mark.parametrize("page", PAGES_WITH_CODE)
def test_code_blocks_are_highlighted(site: str, browser: Browser, page: str) -> None:
    """Python code blocks render with syntax highlighting (keyword and name spans)."""
    browser.open(site + page)
    counts = browser.evaluate(
        "({blocks: document.querySelectorAll('div.highlight pre code').length,"
        " keywords: document.querySelectorAll('div.highlight code .k, div.highlight code .kn')"
        ".length})"
    )
    assert counts["blocks"] > 0, f"no code block on {page or 'the home page'}"
    assert counts["keywords"] > 0, f"code on {page or 'the home page'} is not highlighted"


def test_the_reference_renders_the_api(site: str, browser: Browser) -> None:
    """mkdocstrings rendered the message bus's docstring, signature and members."""
    browser.open(site + "reference/bus/")
    ids = browser.evaluate(
        "Array.from(document.querySelectorAll('[id^=\"tactical.\"]'), e => e.id)"
    )
    assert "tactical.MessageBus" in ids
    assert "tactical.MessageBus.handle" in ids


def test_the_search_index_exists(site: str) -> None:
    """The search index is built with the site and covers tutorial, reference and guarantees."""
    with urllib.request.urlopen(site + "search/search_index.json", timeout=TIMEOUT) as response:
        index = json.load(response)
    locations = {entry["location"].split("#")[0] for entry in index["docs"]}
    assert {"tutorial/model/", "reference/bus/", "guarantees/"} <= locations
    assert {"tutorial/between-services/", "tutorial/run/", "howto/distributed/"} <= locations
    assert "explanation/outbox-and-inbox/" in locations
    text = " ".join(entry["text"] for entry in index["docs"])
    assert "ConcurrencyError" in text


def test_the_search_box_finds_pages(site: str, browser: Browser) -> None:
    """Typing in the search box lists matching pages, with the index searched in the browser."""
    browser.open(site)
    browser.evaluate(
        "(() => { const input = document.querySelector('input[data-md-component=search-query]');"
        " input.focus(); input.value = 'optimistic concurrency';"
        " input.dispatchEvent(new Event('input', {bubbles: true}));"
        " input.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true})); })()"
    )
    hrefs = browser.wait_for(
        "Array.from(document.querySelectorAll('.md-search-result__item a'), a => a.href)"
    )
    assert any("aggregates" in href for href in hrefs), hrefs


@pytest.mark.parametrize("page", PAGES_WITH_DIAGRAMS)
def test_diagrams_are_drawn(site: str, browser: Browser, page: str) -> None:
    """Each diagram on the page loads, from the site itself, and has a size and a description."""
    browser.open(site + page)
    images = browser.wait_for(
        "(() => { const found = Array.from(document.querySelectorAll('article img'),"
        " i => ({src: i.src, done: i.complete, width: i.naturalWidth, alt: i.alt}))"
        ".filter(i => i.src.endsWith('.svg'));"
        " return found.length && found.every(i => i.done) ? found : null; })()"
    )
    for image in images:
        assert image["src"].startswith(site), image
        assert image["width"] > 0, f"{image['src']} did not render"
        assert len(image["alt"]) > 40, f"{image['src']} has no real description"


@pytest.mark.parametrize(
    "page",
    ["", "tutorial/events/", "reference/retry/", "benchmarks/", "explanation/outbox-and-inbox/"],
)
def test_nothing_is_fetched_from_another_host(site: str, browser: Browser, page: str) -> None:
    """Every resource a page loads (styles, scripts, images, the search index) is local."""
    browser.open(site + page)
    browser.wait_for("document.querySelectorAll('.md-nav').length > 0")
    urls = browser.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    foreign = [url for url in urls if not url.startswith(site)]
    assert not foreign, f"{page or 'the home page'} fetched {foreign}"
    assert "fonts.googleapis" not in browser.evaluate("document.documentElement.outerHTML")
