/* layertracer report: gallery, one view per icon with a layer slider, and the failed rows.
 *
 * data.js (window.LAYERTRACER_REPORT) holds what the first paint needs: the summary, every row's status and
 * kind (run-length encoded) and the first word of each search block. Everything else is loaded with
 * <script src> when a page needs it (file:// pages may not fetch()): rows in shards (rows/S.js), an icon's
 * layer data in groups (layers/G.js), the search index in blocks (search/B.js). So a million-row report opens
 * as fast as a small one. Every value from the index or an SVG is untrusted: it reaches the DOM only through
 * textContent, setAttribute on whitelisted SVG attributes, or img.src of links the report wrote itself.
 */
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PAGE_SIZE = 120;
  const MAX_SEARCH_BLOCKS = 8; // a word that begins more words than this many blocks hold is too broad
  const SVG_TAGS = new Set(["g", "path", "defs", "linearGradient", "radialGradient", "stop"]);
  const SVG_ATTRIBUTES = new Set([
    "d", "fill", "fill-opacity", "fill-rule", "opacity", "stroke", "stroke-width", "stroke-opacity", "transform",
    "id", "gradientUnits", "x1", "y1", "x2", "y2", "cx", "cy", "r", "offset", "stop-color", "stop-opacity",
  ]);
  const WORD_SEPARATORS = /[^\p{L}\p{N}]+/u;

  const report = window.LAYERTRACER_REPORT;
  const total = report.rows;
  const facets = decodeFacets(report.facets);
  const state = { status: "ok", kind: "all", search: "", page: 0, errorsPage: 0, filtered: new Int32Array(0), current: null, ticket: 0 };
  const $ = (id) => document.getElementById(id);

  /* ---------- data files, loaded on demand ---------- */

  function decodeFacets({ combos, runs }) {
    const codes = new Uint16Array(total);
    for (let i = 0, at = 0; i < runs.length; i += 2) {
      codes.fill(runs[i], at, at + runs[i + 1]);
      at += runs[i + 1];
    }
    return { combos, codes };
  }

  /* One loader per kind of data file: the file calls window[callback](key, value); load(key) resolves to it. */
  function loader(callback, path) {
    const loaded = new Map();
    const pending = new Map();
    window[callback] = (key, value) => loaded.set(key, value);
    return (key) => {
      if (loaded.has(key)) return Promise.resolve(loaded.get(key));
      if (!pending.has(key)) {
        pending.set(key, new Promise((resolve, reject) => {
          const script = document.createElement("script");
          script.src = path(key);
          script.onload = () => { script.remove(); pending.delete(key); resolve(loaded.get(key)); };
          script.onerror = () => { script.remove(); pending.delete(key); reject(new Error(`Could not load ${script.src}`)); };
          document.head.append(script);
        }));
      }
      return pending.get(key);
    };
  }

  const loadShard = loader("layertracerRows", (shard) => `rows/${shard}.js`);
  const loadLayers = loader("layertracerLayers", (group) => `layers/${group}.js`);
  const loadSearchBlock = loader("layertracerSearch", (block) => `search/${block}.js`);

  /* The rows at report positions `positions`, in that order (shards loaded in parallel). */
  async function rowsAt(positions) {
    const shards = [...new Set(Array.from(positions, (n) => Math.floor(n / report.shardRows)))];
    const byN = new Map();
    for (const rows of await Promise.all(shards.map(loadShard))) for (const row of rows) byN.set(row.n, row);
    return Array.from(positions, (n) => byN.get(n)).filter(Boolean);
  }

  /* ---------- filters and search over positions ---------- */

  function positionsWhere(keep, within) {
    const allowed = facets.combos.map(([status, kind]) => keep(status, kind));
    const out = new Int32Array(within ? within.length : total);
    let count = 0;
    if (within) { for (const n of within) if (allowed[facets.codes[n]]) out[count++] = n; }
    else { for (let n = 0; n < total; n += 1) if (allowed[facets.codes[n]]) out[count++] = n; }
    return out.subarray(0, count);
  }

  function statusKindFilter(status, kind) {
    return (rowStatus, rowKind) => {
      if (rowStatus === null && rowKind === null) return false; // a position whose row could not be read
      if (status !== "all" && (rowStatus === "ok") !== (status === "ok")) return false;
      return kind === "all" || rowKind === kind;
    };
  }

  function lastAtMost(sorted, word) { // index of the last block whose first word is <= word, or -1
    let low = 0, high = sorted.length;
    while (low < high) { const mid = (low + high) >> 1; if (sorted[mid] <= word) low = mid + 1; else high = mid; }
    return low - 1;
  }

  /* Positions of the rows holding a word that starts with `prefix` (sorted, distinct); null when too many
   * words do. Typed arrays throughout: a common word holds most of a million rows. */
  async function prefixPositions(prefix) {
    const blocks = report.searchBlocks;
    const first = Math.max(0, lastAtMost(blocks, prefix));
    const last = lastAtMost(blocks, prefix + "\uffff");
    if (last - first + 1 > MAX_SEARCH_BLOCKS) return null;
    const lists = [];
    for (const entries of await Promise.all(range(first, last + 1).map(loadSearchBlock))) {
      for (const entry of entries) {
        if (!entry[0].startsWith(prefix)) continue;
        const list = new Int32Array(entry.length - 1);
        for (let i = 1, n = 0; i < entry.length; i += 1) { n += entry[i]; list[i - 1] = n; }
        lists.push(list);
      }
    }
    if (lists.length === 1) return lists[0];
    const all = new Int32Array(lists.reduce((size, list) => size + list.length, 0));
    lists.reduce((at, list) => { all.set(list, at); return at + list.length; }, 0);
    all.sort();
    let count = 0;
    for (let i = 0; i < all.length; i += 1) if (i === 0 || all[i] !== all[i - 1]) all[count++] = all[i];
    return all.subarray(0, count);
  }

  function range(start, end) {
    return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
  }

  function intersect(a, b) {
    const out = new Int32Array(Math.min(a.length, b.length));
    let i = 0, j = 0, count = 0;
    while (i < a.length && j < b.length) {
      if (a[i] < b[j]) i += 1; else if (a[i] > b[j]) j += 1; else { out[count++] = a[i]; i += 1; j += 1; }
    }
    return out.subarray(0, count);
  }

  /* Rows whose id or source has, for every word of the query, a word starting with it: {positions, note}. */
  async function searchPositions(query) {
    const words = [...new Set(query.split(WORD_SEPARATORS).filter(Boolean))];
    const found = await Promise.all(words.map(prefixPositions));
    const broad = words.filter((_, i) => found[i] === null);
    let positions = null;
    for (const list of found.filter(Boolean).sort((a, b) => a.length - b.length)) {
      positions = positions === null ? list : intersect(positions, list);
    }
    const note = broad.length ? `Too many words begin with ${broad.map((w) => `"${w}"`).join(", ")}: type more of it.` : "";
    if (!words.length) return { positions: null, note: "" };
    return { positions: positions ?? new Int32Array(0), note };
  }

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
    const kinds = [...new Set(facets.combos.map(([, kind]) => kind).filter((k) => k !== null))].sort();
    for (const kind of kinds) {
      const option = element("option", null, kind);
      option.value = String(kind);
      $("filter-kind").append(option);
    }
  }

  /* ---------- gallery ---------- */

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

  /* Work that loads data runs async; only the latest request may draw, and body[data-loading] says when it is
   * done (tests and benchmarks wait for "0"). */
  function begin() {
    state.ticket += 1;
    document.body.dataset.loading = "1";
    return state.ticket;
  }

  function finish(ticket) {
    if (ticket !== state.ticket) return false;
    document.body.dataset.loading = "0";
    if (window.layertracerFirstPaintMs === undefined) window.layertracerFirstPaintMs = performance.now();
    return true;
  }

  async function renderGallery() {
    const ticket = begin();
    const found = state.search ? await searchPositions(state.search) : { positions: null, note: "" };
    if (ticket !== state.ticket) return;
    state.filtered = positionsWhere(statusKindFilter(state.status, state.kind), found.positions);
    const pages = Math.max(1, Math.ceil(state.filtered.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const shown = await rowsAt(state.filtered.subarray(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE));
    if (ticket !== state.ticket) return;
    $("gallery").replaceChildren(...shown.map(card));
    $("gallery-count").textContent = `${formatNumber(state.filtered.length)} of ${formatNumber(total)} rows match`;
    $("search-note").textContent = found.note;
    $("search-note").hidden = !found.note;
    $("page-label").textContent = `page ${formatNumber(state.page + 1)} of ${formatNumber(pages)}`;
    $("page-prev").disabled = state.page === 0;
    $("page-next").disabled = state.page >= pages - 1;
    finish(ticket);
  }

  function bindFilters() {
    const update = () => {
      state.status = $("filter-status").value;
      state.kind = $("filter-kind").value;
      state.search = $("filter-search").value.trim().toLowerCase();
      state.page = 0;
      draw(renderGallery);
    };
    $("filters").addEventListener("input", update);
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    const turn = (key, step, render) => () => { state[key] += step; draw(render); window.scrollTo(0, 0); };
    $("page-prev").addEventListener("click", turn("page", -1, renderGallery));
    $("page-next").addEventListener("click", turn("page", 1, renderGallery));
    $("errors-prev").addEventListener("click", turn("errorsPage", -1, renderErrors));
    $("errors-next").addEventListener("click", turn("errorsPage", 1, renderErrors));
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

  /* Previous and next positions: within the gallery's matches when `n` is one of them, else in the index. */
  function neighbours(n) {
    const list = state.filtered;
    let low = 0, high = list.length;
    while (low < high) { const mid = (low + high) >> 1; if (list[mid] < n) low = mid + 1; else high = mid; }
    if (list[low] === n) return [low > 0 ? list[low - 1] : null, low + 1 < list.length ? list[low + 1] : null];
    return [n > 0 ? n - 1 : null, n + 1 < total ? n + 1 : null];
  }

  async function renderIcon(n) {
    const ticket = begin();
    const [row] = n < total ? await rowsAt([n]) : [];
    if (ticket !== state.ticket) return;
    if (!row) { finish(ticket); location.hash = ""; return; }
    state.current = n;
    window.scrollTo(0, 0);
    const [previous, next] = neighbours(n);
    setLink("icon-prev", previous !== null ? `#icon=${previous}` : null);
    setLink("icon-next", next !== null ? `#icon=${next}` : null);
    $("icon-title").textContent = rowTitle(row);
    $("icon-source").textContent = row.source ?? "";
    const ok = row.status === "ok";
    document.querySelector("#icon-view .panes").hidden = !ok;
    $("layer-strip").replaceChildren();
    $("layer-stage").replaceChildren();
    renderFigures(row);
    if (ok) {
      setImage("icon-svg", row.svg);
      setLink("icon-svg-link", row.svg);
      setImage("icon-grid", row.grid);
      setLink("icon-grid-link", row.grid);
      showProblem(row.layers ? null : `No layer view: ${row.layerDataError ?? "the index has no SVG for this row"}`);
      if (row.layers) {
        try {
          const group = await loadLayers(Math.floor(n / report.layerGroupRows));
          if (ticket === state.ticket) drawLayers(group[String(n)]);
        } catch (error) {
          if (ticket === state.ticket) showProblem(error.message);
        }
      }
    }
    finish(ticket);
  }

  function showProblem(message) {
    $("layer-problem").hidden = !message;
    $("layer-problem").textContent = message ?? "";
    $("layer-slider").disabled = Boolean(message);
  }

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

  async function renderErrors() {
    const ticket = begin();
    const failed = positionsWhere(statusKindFilter("error", "all"), null);
    const pages = Math.max(1, Math.ceil(failed.length / PAGE_SIZE));
    state.errorsPage = Math.min(state.errorsPage, pages - 1);
    const shown = await rowsAt(failed.subarray(state.errorsPage * PAGE_SIZE, (state.errorsPage + 1) * PAGE_SIZE));
    if (ticket !== state.ticket) return;
    $("errors-count").textContent = failed.length
      ? `${formatNumber(failed.length)} of ${formatNumber(total)} rows failed` : "No row failed.";
    $("errors-body").replaceChildren(...shown.map((row) => {
      const tr = element("tr");
      const idCell = element("td");
      const link = element("a", null, rowTitle(row));
      link.href = `#icon=${row.n}`;
      idCell.append(link);
      tr.append(idCell, element("td", null, row.kind), element("td", null, row.manifest), element("td", null, row.row),
        element("td", null, row.source), element("td", "message", row.error));
      return tr;
    }));
    $("errors-page").textContent = `page ${formatNumber(state.errorsPage + 1)} of ${formatNumber(pages)}`;
    $("errors-prev").disabled = state.errorsPage === 0;
    $("errors-next").disabled = state.errorsPage >= pages - 1;
    finish(ticket);
  }

  /* ---------- routing ---------- */

  function route() {
    const icon = /^#icon=(\d+)$/.exec(location.hash);
    const view = icon ? "icon" : location.hash === "#errors" ? "errors" : "gallery";
    for (const name of ["gallery", "icon", "errors"]) $(`${name}-view`).hidden = name !== view;
    if (view !== "icon") state.current = null;
    draw(view === "icon" ? () => renderIcon(Number(icon[1])) : view === "errors" ? renderErrors : renderGallery);
  }

  /* Run an async render; a data file that cannot be loaded is said on the page, not thrown. */
  function draw(render) {
    $("load-problem").hidden = true;
    render().catch((error) => {
      $("load-problem").textContent = `${error.message} (is the report folder complete?)`;
      $("load-problem").hidden = false;
      document.body.dataset.loading = "0";
    });
  }

  renderHeader();
  bindFilters();
  window.addEventListener("hashchange", route);
  route();
})();
