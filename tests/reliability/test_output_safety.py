"""Every SVG a job writes is inert: only svg/g/path (and metadata), plain fills or the contract's gradients
(`<defs>` of linear/radial gradients used as `fill="url(#gradient-N)"`), generated ids and labels; no scripts,
event attributes, styles, links or external references, whatever the rows and images held.

The check runs on the outputs of the hostile job, and on those of every other job run earlier in this pytest
session (the pipeline end-to-end tests, when the whole suite runs): each OUT is found by its index.
"""

from __future__ import annotations

import re
from pathlib import Path

import defusedxml.ElementTree as SafeET

from layertracer.pipeline.index import read_index

SVG_NS = "{http://www.w3.org/2000/svg}"
INKSCAPE_NS = "{http://www.inkscape.org/namespaces/inkscape}"
ALLOWED = {  # element -> attributes (namespaces spelled out) and a pattern each value must match
    "svg": {"version": r"1\.1", "width": r"\d+", "height": r"\d+", "viewBox": r"0 0 \d+ \d+"},
    "g": {"id": r"layer-\d+", f"{INKSCAPE_NS}groupmode": r"layer", f"{INKSCAPE_NS}label": r"step \d+"},
    "path": {
        "d": r"[MmLlHhVvCcSsQqTtAaZz0-9eE.,\s+-]+",
        "fill": r"#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3}|none|url\(#gradient-\d+\)",
        "fill-opacity": r"[0-9.]+", "opacity": r"[0-9.]+", "fill-rule": r"nonzero|evenodd",
        "transform": r"(translate|scale|matrix)\([0-9eE.,\s+-]*\)(\s*(translate|scale|matrix)\([0-9eE.,\s+-]*\))*",
    },
    "title": {}, "desc": {}, "metadata": {},
    "defs": {},
    "linearGradient": {"id": r"gradient-\d+", "gradientUnits": "userSpaceOnUse",
                       **{name: r"-?[0-9.]+" for name in ("x1", "y1", "x2", "y2")}},
    "radialGradient": {"id": r"gradient-\d+", "gradientUnits": "userSpaceOnUse",
                       **{name: r"-?[0-9.]+" for name in ("cx", "cy", "r")}},
    "stop": {"offset": r"[0-9.]+", "stop-color": r"#[0-9a-fA-F]{6}", "stop-opacity": r"[0-9.]+"},
}


def unsafe_parts(data: bytes) -> list[str]:
    """What in one SVG is outside the allow-list (empty: the file is inert)."""
    problems = []
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data or b"<?xml-stylesheet" in data:
        problems.append("DOCTYPE, entity or stylesheet declaration")
    root = SafeET.fromstring(data)
    if root.tag != f"{SVG_NS}svg":
        problems.append(f"root element {root.tag}")
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.tag.startswith(SVG_NS):
            problems.append(f"element {element.tag!r} outside the SVG namespace")
            continue
        name = element.tag[len(SVG_NS):]
        rules = ALLOWED.get(name)
        if rules is None:
            problems.append(f"element <{name}>")
            continue
        if name == "path" and len(element):
            problems.append("<path> with children")
        if (element.text or "").strip() and name not in ("title", "desc"):
            problems.append(f"text inside <{name}>")
        for key, value in element.attrib.items():
            pattern = rules.get(key)
            if pattern is None or not re.fullmatch(pattern, value):
                problems.append(f"<{name} {key}={value[:60]!r}>")
    return problems


def job_outputs(root: Path) -> dict[str, list[str]]:
    """{OUT: SVG paths of its ok rows} for every job output folder (one holding index/*.parquet) under root.

    Only rows a job wrote count: they carry their settings' fingerprint, which indexes that tests build by hand
    (the report's, some with an SVG truncated on purpose) do not."""
    outs = {}
    for index_dir in {p.parent for p in root.rglob("index/*.parquet")}:
        out = str(index_dir.parent)
        try:
            rows = read_index(out).to_pylist()
        except Exception:  # an index another test built by hand to be broken
            continue
        outs[out] = [r["svg_uri"] for r in rows if r["status"] == "ok" and r["fingerprint"] and r["svg_uri"]
                     and "://" not in r["svg_uri"]]
    return outs


def test_unsafe_parts_are_found():
    """The checker itself: each forbidden thing is reported (so an empty report means something)."""
    head = '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="4" height="4" viewBox="0 0 4 4">'
    bad = {
        "<script>alert(1)</script>": "element <script>",
        '<path d="M0 0h4v4z" fill="#fff" onload="alert(1)"/>': "onload",
        '<path d="M0 0h4v4z" fill="url(https://example.com/p.svg#g)"/>': "fill='url(",
        '<g id="layer-1" style="fill:red"/>': "style",
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>': "<foreignObject>",
        '<use href="https://example.com/a.svg#i"/>': "element <use>",
        '<g id="\'&quot;&gt;&lt;script&gt;"/>': "id=",
        '<a xmlns:x="http://www.w3.org/1999/xlink" x:href="javascript:alert(1)"><path d="M0 0z" fill="#000"/></a>':
            "element <a>",
    }
    for body, expected in bad.items():
        problems = unsafe_parts(f"{head}{body}</svg>".encode())
        assert any(expected in p for p in problems), (body, problems)
    assert unsafe_parts(f'{head}<g id="layer-1" xmlns:i="{INKSCAPE_NS[1:-1]}" i:groupmode="layer" i:label="step 1">'
                        '<path d="M0 0h4v4z" fill="#a0b0c0" transform="translate(1,2)"/></g></svg>'.encode()) == []


def test_every_svg_written_by_a_job_is_inert(hostile_run, tmp_path_factory):
    outs = job_outputs(tmp_path_factory.getbasetemp())
    assert hostile_run.out in outs and len(outs[hostile_run.out]) >= 8
    for out, svgs in outs.items():
        for svg in svgs:
            if out != hostile_run.out and not Path(svg).exists():
                continue  # an index another test wrote by hand
            data = Path(svg).read_bytes()
            assert unsafe_parts(data) == [], svg
            assert b"<path" in data
