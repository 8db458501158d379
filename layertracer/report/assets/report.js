/* layertracer report: gallery, one view per icon with a layer slider, and the failed rows.
 *
 * Rows come from data.js (window.LAYERTRACER_REPORT); an icon's layer data from icons/N.js, loaded on demand.
 * Every value from the index or an SVG is untrusted: it reaches the DOM only through textContent,
 * setAttribute on whitelisted SVG attributes, or img.src of links the report wrote itself.
 */
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PAGE_SIZE = 120;
  const SVG_TAGS = new Set(["g", "path"]);
  const SVG_ATTRIBUTES = new Set([
    "d", "fill", "fill-opacity", "fill-rule", "opacity", "stroke", "stroke-width", "stroke-opacity", "transform",
  ]);

  const report = window.LAYERTRACER_REPORT;
  const rows = report.rows;
  const layerData = new Map();
  const state = { status: "ok", kind: "all", search: "", page: 0, filtered: [], current: null };
  const $ = (id) => document.getElementById(id);

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /* Numbers for people; null stays null so the figures table can leave the line out. */
  function formatNumber(value) {
    if (value === null || value === undefined) return null;
    if (typeof value !== "number") return String(value);
    return Number.isInteger(value) ? value.toLocaleString("en-US") : String(Number(value.toPrecision(3)));
  }

  function formatSeconds(value) {
    return value === null || value === undefined ? null : `${formatNumber(value)} s`;
  }

  function formatBytes(value) {
    if (value === null || value === undefined) return null;
    return value < 1024 ? `${value} B` : `${formatNumber(value)} B (${(value / 1024).toFixed(1)} KiB)`;
  }

  function count(n, word) {
    return `${formatNumber(n)} ${word}${n === 1 ? "" : "s"}`;
  }

  function rowTitle(row) {
    return row.id !== null && row.id !== undefined && row.id !== "" ? String(row.id) : `(row ${row.row})`;
  }

  /* ---------- header ---------- */

  function renderHeader() {
    const s = report.summary;
    const parts = [`${s.rows} rows`, `${s.ok} ok`, `${s.error} errors`];
    if (s.paths) parts.push(`median ${formatNumber(s.paths.median)} paths`);
    if (s.layers) parts.push(`median ${formatNumber(s.layers.median)} layers`);
    parts.push(`output ${report.out}`, `written ${report.generated_at}`);
    $("summary").textContent = parts.join(" · ");
    $("error-count").textContent = s.error ? String(s.error) : "";
    const kinds = [...new Set(rows.map((r) => r.kind).filter((k) => k !== null && k !== undefined))].sort();
    for (const kind of kinds) {
      const option = element("option", null, kind);
      option.value = String(kind);
      $("filter-kind").append(option);
    }
  }

  /* ---------- gallery ---------- */

  function matches(row) {
    if (state.status !== "all" && (row.status === "ok") !== (state.status === "ok")) return false;
    if (state.kind !== "all" && row.kind !== state.kind) return false;
    if (state.search) {
      const haystack = `${row.id ?? ""}\n${row.source ?? ""}`.toLowerCase();
      if (!haystack.includes(state.search)) return false;
    }
    return true;
  }

  function card(row) {
    const link = element("a", row.status === "ok" ? "card" : "card error");
    link.href = `#icon=${row.n}`;
    if (row.status === "ok") {
      const img = element("img", "thumb");
      img.loading = "lazy";
      img.decoding = "async";
      img.alt = rowTitle(row);
      img.width = 128;
      img.height = 128;
      if (row.svg) img.src = row.svg;
      link.append(img, element("span", "id", rowTitle(row)));
      link.append(element("span", "meta", `${row.kind} · ${count(row.n_layers, "layer")} · ${count(row.n_paths, "path")}`));
    } else {
      link.append(element("span", "id", rowTitle(row)), element("span", "meta", `${row.kind ?? "?"} · error`));
      link.append(element("span", "error-text", row.error));
    }
    link.title = row.source ?? "";
    return link;
  }

  function renderGallery() {
    state.filtered = rows.filter(matches);
    const pages = Math.max(1, Math.ceil(state.filtered.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const shown = state.filtered.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
    $("gallery").replaceChildren(...shown.map(card));
    $("gallery-count").textContent = `${state.filtered.length} of ${rows.length} rows match`;
    $("page-label").textContent = `page ${state.page + 1} of ${pages}`;
    $("page-prev").disabled = state.page === 0;
    $("page-next").disabled = state.page >= pages - 1;
  }

  function bindFilters() {
    const update = () => {
      state.status = $("filter-status").value;
      state.kind = $("filter-kind").value;
      state.search = $("filter-search").value.trim().toLowerCase();
      state.page = 0;
      renderGallery();
    };
    $("filters").addEventListener("input", update);
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    $("page-prev").addEventListener("click", () => { state.page -= 1; renderGallery(); window.scrollTo(0, 0); });
    $("page-next").addEventListener("click", () => { state.page += 1; renderGallery(); window.scrollTo(0, 0); });
  }

  /* ---------- one icon ---------- */

  function setLink(id, href) {
    const link = $(id);
    if (href) link.href = href;
    else link.removeAttribute("href");
  }

  function setImage(id, href) {
    const img = $(id);
    img.hidden = !href;
    if (href) img.src = href;
    else img.removeAttribute("src");
  }

  function renderFigures(row) {
    const figures = [
      ["status", row.status], ["error", row.error], ["kind", row.kind], ["frames", formatNumber(row.frames)],
      ["layers", formatNumber(row.n_layers)], ["paths", formatNumber(row.n_paths)], ["SVG size", formatBytes(row.svg_bytes)],
      ["sample time", formatSeconds(row.sample_s)], ["vectorize time", formatSeconds(row.vectorize_s)],
      ["seed", formatNumber(row.seed)], ["model", row.model], ["LoRA", row.lora], ["source", row.source],
      ["manifest", row.manifest], ["manifest row", formatNumber(row.row)], ["extra", row.extra],
      ["created", row.created_at], ["version", row.version],
    ];
    const body = $("icon-figures").tBodies[0];
    body.replaceChildren(...figures
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .map(([name, value]) => {
        const tr = element("tr");
        tr.append(element("th", null, name), element("td", null, value));
        return tr;
      }));
  }

  function neighbours(n) {
    const list = state.filtered.some((r) => r.n === n) ? state.filtered : rows;
    const at = list.findIndex((r) => r.n === n);
    return [list[at - 1], list[at + 1]];
  }

  function renderIcon(n) {
    const row = rows[n];
    if (!row) { location.hash = ""; return; }
    state.current = n;
    window.scrollTo(0, 0);
    const [previous, next] = neighbours(n);
    setLink("icon-prev", previous ? `#icon=${previous.n}` : null);
    setLink("icon-next", next ? `#icon=${next.n}` : null);
    $("icon-title").textContent = rowTitle(row);
    $("icon-source").textContent = row.source ?? "";
    const ok = row.status === "ok";
    document.querySelector("#icon-view .panes").hidden = !ok;
    $("layer-strip").replaceChildren();
    $("layer-stage").replaceChildren();
    renderFigures(row);
    if (!ok) return;
    setImage("icon-svg", row.svg);
    setLink("icon-svg-link", row.svg);
    setImage("icon-grid", row.grid);
    setLink("icon-grid-link", row.grid);
    showProblem(null);
    if (!row.layerData) {
      showProblem(`No layer view: ${row.layerDataError ?? "the SVG is not under the output folder"}`);
    } else if (layerData.has(n)) {
      drawLayers(layerData.get(n));
    } else {
      loadLayerData(row);
    }
  }

  function showProblem(message) {
    $("layer-problem").hidden = !message;
    $("layer-problem").textContent = message ?? "";
    $("layer-slider").disabled = Boolean(message);
  }

  function loadLayerData(row) {
    const script = document.createElement("script");
    script.src = row.layerData;
    script.onerror = () => { script.remove(); if (state.current === row.n) showProblem(`Could not load ${row.layerData}`); };
    script.onload = () => script.remove();
    document.head.append(script);
  }

  window.layertracerIconLoaded = function (n, data) {
    layerData.set(n, data);
    if (state.current === n && !$("icon-view").hidden) drawLayers(data);
  };

  function svgNode(node, only, layer) {
    if (!SVG_TAGS.has(node.tag)) return null;
    const inLayer = node.layer ?? layer;
    if (only !== null && (node.layer !== undefined ? node.layer !== only : node.tag === "path" && inLayer === null)) {
      return null;
    }
    const out = document.createElementNS(SVG_NS, node.tag);
    for (const [name, value] of Object.entries(node.attrs)) {
      if (SVG_ATTRIBUTES.has(name)) out.setAttribute(name, String(value));
    }
    if (node.layer !== undefined) out.setAttribute("data-layer", String(node.layer));
    for (const child of node.children ?? []) {
      const built = svgNode(child, only, inLayer);
      if (built) out.append(built);
    }
    return out;
  }

  /* The icon rebuilt from layer data; `only` = a layer number shows that layer alone, null shows all. */
  function buildSvg(data, only) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", data.viewBox);
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    for (const node of data.nodes) {
      const built = svgNode(node, only, null);
      if (built) svg.append(built);
    }
    return svg;
  }

  function showLayers(data, upTo) {
    for (const group of $("layer-stage").querySelectorAll("[data-layer]")) {
      if (Number(group.getAttribute("data-layer")) <= upTo) group.removeAttribute("display");
      else group.setAttribute("display", "none");
    }
    const paths = data.pathsPerLayer.slice(0, upTo).reduce((a, b) => a + b, 0);
    $("layer-label").textContent = `layers 1–${upTo} of ${data.layers} · ${count(paths, "path")}`;
    $("layer-strip").querySelectorAll("figure").forEach((figure, i) => figure.classList.toggle("current", i + 1 === upTo));
  }

  function drawLayers(data) {
    $("layer-stage").replaceChildren(buildSvg(data, null));
    const slider = $("layer-slider");
    slider.max = String(data.layers);
    slider.value = String(data.layers);
    slider.oninput = () => showLayers(data, Number(slider.value));
    const tiles = [];
    for (let k = 1; k <= data.layers; k += 1) {
      const figure = element("figure");
      const tile = element("div", "tile checker");
      tile.append(buildSvg(data, k));
      figure.append(tile, element("figcaption", null, `layer ${k} · ${count(data.pathsPerLayer[k - 1], "path")}`));
      figure.addEventListener("click", () => { slider.value = String(k); showLayers(data, k); });
      tiles.push(figure);
    }
    $("layer-strip").replaceChildren(...tiles);
    showLayers(data, data.layers);
  }

  /* ---------- errors ---------- */

  function renderErrors() {
    const failed = rows.filter((r) => r.status !== "ok");
    $("errors-count").textContent = failed.length ? `${failed.length} of ${rows.length} rows failed` : "No row failed.";
    $("errors-body").replaceChildren(...failed.map((row) => {
      const tr = element("tr");
      const idCell = element("td");
      const link = element("a", null, rowTitle(row));
      link.href = `#icon=${row.n}`;
      idCell.append(link);
      tr.append(idCell, element("td", null, row.kind), element("td", null, row.manifest), element("td", null, row.row),
        element("td", null, row.source), element("td", "message", row.error));
      return tr;
    }));
  }

  /* ---------- routing ---------- */

  function route() {
    const icon = /^#icon=(\d+)$/.exec(location.hash);
    const view = icon ? "icon" : location.hash === "#errors" ? "errors" : "gallery";
    for (const name of ["gallery", "icon", "errors"]) $(`${name}-view`).hidden = name !== view;
    if (view === "icon") renderIcon(Number(icon[1]));
    else {
      state.current = null;
      if (view === "errors") renderErrors(); else renderGallery();
    }
  }

  renderHeader();
  bindFilters();
  window.addEventListener("hashchange", route);
  route();
})();
