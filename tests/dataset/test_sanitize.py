"""Hostile and broken SVGs are refused with a reason, before anything is read from disk or the network."""

from __future__ import annotations

import re
import socket
import threading

import pytest

from layertracer.dataset.example import DatasetOptions, build_example
from layertracer.dataset.sanitize import SvgError, SvgLimits, parse_svg

SVG = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
RECT = '<rect width="5" height="5" fill="#c00"/>'
PNG_DATA_URI = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Dw"
    "HwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def svg(body: str, root: str = 'viewBox="0 0 10 10"') -> bytes:
    return f"<svg {SVG} {root}>{body}</svg>".encode()


HOSTILE = {
    "xxe": (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + svg("<text>&xxe;</text>" + RECT),
        "unsafe XML",
    ),
    "billion laughs": (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        + svg("<title>&d;</title>" + RECT),
        "unsafe XML",
    ),
    "external use": (svg(RECT + '<use href="https://example.com/sprite.svg#icon"/>'), "external reference"),
    "external xlink image": (svg(RECT + '<image xlink:href="/etc/hosts" width="5" height="5"/>'), "raster <image>"),
    "external fill url": (svg('<rect width="5" height="5" fill="url(http://example.com/p.svg#g)"/>'), "external url"),
    "external style url": (svg('<rect width="5" height="5" style="fill:url(\'file:///x\')"/>'), "external url"),
    "css import": (svg("<style>@import url(http://example.com/a.css);</style>" + RECT), "@import"),
    "script": (svg("<script>alert(1)</script>" + RECT), "<script>"),
    "foreignObject": (svg("<foreignObject><div>hi</div></foreignObject>" + RECT), "<foreignObject>"),
    "event attribute": (svg('<rect width="5" height="5" onclick="alert(1)"/>'), "event attribute"),
    "no viewBox": (svg(RECT, root='width="10" height="10"'), "no viewBox"),
    "zero viewBox": (svg(RECT, root='viewBox="0 0 0 10"'), "no positive finite size"),
    "bad viewBox": (svg(RECT, root='viewBox="0 0 ten 10"'), "not four numbers"),
    "not xml": (b"<svg <<<", "not well-formed"),
    "unknown encoding": (b'<?xml version="1.0" encoding="x-unknown"?>' + svg(RECT), "unreadable text encoding"),
    "not svg": (b'<html xmlns="http://www.w3.org/1999/xhtml"/>', "not <svg>"),
    "empty": (b"   ", "empty file"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_svgs_are_refused(name: str) -> None:
    data, reason = HOSTILE[name]
    with pytest.raises(SvgError, match=re.escape(reason)):
        parse_svg(data, name=name)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_svgs_become_error_rows(name: str) -> None:
    data, reason = HOSTILE[name]
    row = build_example(data, f"/icons/{name}.svg", DatasetOptions(frames=4), "x")
    assert row["status"] == "error" and reason in row["error"] and row["grid_png"] is None
    assert "root:" not in row["error"]  # nothing of /etc/passwd leaks into the message


def test_size_and_depth_limits() -> None:
    big = svg(RECT * (50 * 1024 * 1024 // len(RECT)))
    assert len(big) > 50 * 1024 * 1024
    row = build_example(big, "/icons/big.svg", DatasetOptions(frames=4), "big")
    assert row["status"] == "error" and "exceeds the limit" in row["error"]
    deep = svg("<g>" * 100 + RECT + "</g>" * 100)
    with pytest.raises(SvgError, match="nested deeper"):
        parse_svg(deep)
    with pytest.raises(SvgError, match="more than 50 elements"):
        parse_svg(svg(RECT * 60), SvgLimits(max_elements=50))


def test_embedded_raster_only_when_allowed() -> None:
    data = svg(f'<image href="{PNG_DATA_URI}" width="10" height="10"/>' + RECT)
    with pytest.raises(SvgError, match="raster"):
        parse_svg(data)
    assert parse_svg(data, SvgLimits(allow_raster=True)).view_box.width == 10
    external = svg('<image href="https://example.com/a.png" width="10" height="10"/>')
    with pytest.raises(SvgError, match="external reference"):
        parse_svg(external, SvgLimits(allow_raster=True))


def test_local_references_and_doctype_without_entities_are_fine() -> None:
    data = (
        b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
        + svg(
            '<defs><linearGradient id="g"><stop offset="0" stop-color="#f00"/></linearGradient>'
            '<path id="p" d="M0 0h4v4z"/></defs><rect width="5" height="5" fill="url(#g)"/><use xlink:href="#p"/>'
        )
    )
    row = build_example(data, "/icons/ok.svg", DatasetOptions(frames=4), "ok")
    assert row["status"] == "ok", row["error"]


def test_no_network_access_for_hostile_references() -> None:
    """A listening socket on loopback sees no connection while files pointing at it are processed."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    hits: list[bytes] = []

    def accept() -> None:
        try:
            conn, _ = server.accept()
            hits.append(conn.recv(100))
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    files = [
        f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "{url}/e">]>'.encode() + svg("<text>&x;</text>" + RECT),
        f'<?xml version="1.0"?><!DOCTYPE svg SYSTEM "{url}/d.dtd">'.encode() + svg(RECT),
        svg(RECT + f'<use href="{url}/s.svg#a"/>'),
        svg(f'<rect width="5" height="5" fill="url({url}/p.svg#g)"/>'),
        svg(f"<style>@import url({url}/a.css);</style>" + RECT),
    ]
    options = DatasetOptions(frames=4, limits=SvgLimits(allow_raster=True))
    rows = [build_example(data, f"/icons/{i}.svg", options, str(i)) for i, data in enumerate(files)]
    rows.append(build_example(svg(f'<image href="{url}/a.png" width="5" height="5"/>'), "/i.svg", options, "i"))
    thread.join()
    server.close()
    assert hits == []
    # The external DTD is never fetched, and with nothing else external the icon itself is fine.
    assert [row["status"] for row in rows] == ["error", "ok", "error", "error", "error", "error"]
