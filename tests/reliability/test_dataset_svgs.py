"""Hostile SVGs for the dataset builder, beyond tests/dataset/test_sanitize.py (which covers XXE, billion laughs,
external href/url/@import, <script>, <foreignObject>, event attributes and a no-network check): the tricks that
slipped past it, each refused with a reason, with nothing fetched."""

from __future__ import annotations

import socket
import threading

import pytest

from layertracer.dataset.example import DatasetOptions, build_example

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"'
RECT = '<rect id="r" width="5" height="5" fill="#c00"/>'


def hostile(url: str) -> dict[str, tuple[str, str]]:
    """name -> (SVG text, reason its error row must give); `url` is where a fetch would go."""
    return {
        "upper-case script": (f"<svg {NS}><SCRIPT>alert(1)</SCRIPT>{RECT}</svg>", "<SCRIPT> is not allowed"),
        "smil set href": (f'<svg {NS}>{RECT}<use href="#r"><set attributeName="href" to="{url}/a.svg#i"/></use></svg>',
                          "external reference"),
        "smil animate xlink:href": (
            f'<svg {NS}>{RECT}<use xlink:href="#r"><animate attributeName="xlink:href" values="#r;{url}/b.svg#i"/>'
            "</use></svg>", "external reference"),
        "utf-16 xxe": ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                       f"<svg {NS}><text>&x;</text>{RECT}</svg>", "unsafe XML"),
        "parameter entity": (f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY % p SYSTEM "{url}/x.dtd"> %p;]>'
                             f"<svg {NS}>{RECT}</svg>", "unsafe XML"),
        "xinclude": (f'<svg {NS} xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{url}/x" parse="text"/>'
                     f"{RECT}</svg>", "external reference"),
        "feImage": (f'<svg {NS}><filter id="f"><feImage href="{url}/i.png"/></filter>{RECT}</svg>',
                    "external reference"),
        "javascript link": (f'<svg {NS}><a href="javascript:alert(1)">{RECT}</a></svg>', "external reference"),
    }


@pytest.fixture
def listener():
    """A loopback socket that records any connection made to it while the test runs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    hits: list[bytes] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(conn.recv(100))
            conn.close()

    thread = threading.Thread(target=accept)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", hits
    done.set()
    thread.join()
    server.close()


def test_tricks_are_refused_without_fetching(listener):
    url, hits = listener
    for name, (text, reason) in hostile(url).items():
        data = text.encode("utf-16") if "UTF-16" in text else text.encode()
        row = build_example(data, f"/icons/{name}.svg", DatasetOptions(frames=4), name)
        assert row["status"] == "error" and reason in row["error"], (name, row["error"])
        assert "root:" not in row["error"]
    assert hits == []
