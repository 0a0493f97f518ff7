// Study report: raters x raters heatmap (metric and level switchable) and calibration curves,
// drawn as SVG from the data the page embeds with json_script.
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const LAYER_COLOURS = ["#2857c5", "#c0392b", "#1f8a4c", "#8e44ad", "#d35400", "#16a085", "#7f8c8d"];

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fmt(v) { return v === null || v === undefined ? "–" : v.toFixed(3); }

  // kappa-like measures run from -1 to 1: red below 0, white at 0, blue at 1.
  function colour(v) {
    if (v === null || v === undefined) return "#eeeeee";
    const t = Math.max(-1, Math.min(1, v));
    if (t >= 0) {
      const c = Math.round(255 - t * 200);
      return `rgb(${c},${Math.round(255 - t * 150)},255)`;
    }
    const c = Math.round(255 + t * 150);
    return `rgb(255,${c},${c})`;
  }

  // The widths of `labels` as the SVG would draw them (measured in the page, so nothing is
  // clipped whatever the names and fonts).
  function textWidths(svg, box, labels) {
    box.replaceChildren(svg);
    return labels.map((label) => {
      const probe = el("text", {}, label);
      svg.appendChild(probe);
      const width = probe.getComputedTextLength();
      probe.remove();
      return width;
    });
  }

  // A bar of the colour scale from -1 to 1, with ticks, and the swatch for "no items".
  function drawLegend(svg, x, y, metric) {
    const g = el("g", { class: "legend" });
    const w = 220, h = 12, steps = 40;
    g.appendChild(el("text", { x: x, y: y - 4 }, `colour: ${metric}`));
    for (let i = 0; i < steps; i++) {
      const v = -1 + (2 * (i + 0.5)) / steps;
      g.appendChild(el("rect", { x: x + (i * w) / steps, y: y, width: w / steps + 0.5, height: h, fill: colour(v) }));
    }
    g.appendChild(el("rect", { x: x, y: y, width: w, height: h, fill: "none", stroke: "#999" }));
    [-1, -0.5, 0, 0.5, 1].forEach((v) => {
      const tx = x + ((v + 1) / 2) * w;
      g.appendChild(el("line", { x1: tx, y1: y + h, x2: tx, y2: y + h + 4, stroke: "#666" }));
      g.appendChild(el("text", { x: tx, y: y + h + 16, "text-anchor": "middle", class: "tick" }, String(v)));
    });
    g.appendChild(el("rect", { x: x + w + 24, y: y, width: h, height: h, fill: colour(null), stroke: "#999" }));
    g.appendChild(el("text", { x: x + w + 24 + h + 6, y: y + h - 1 }, "no items judged by both"));
    svg.appendChild(g);
  }

  function drawHeatmap(data, level, metric, layer, boxId = "heatmap") {
    const box = document.getElementById(boxId);
    if (!box) return;
    const raters = data[level].raters;
    const short = data[level].names || {};
    const leftOut = new Set(data[level].left_out || []);
    // Axes show short names (method, threshold, model); the full name is on hover. An
    // annotator left out of the human consensus keeps its row and column, marked with †.
    const name = (r) => (leftOut.has(r) ? `† ${short[r] || r}` : short[r] || r);
    const values = {};
    for (const p of data[level].pairs[layer] || []) {
      values[p.first + "\u0000" + p.second] = p;
      values[p.second + "\u0000" + p.first] = p;
    }
    const cell = 46, n = raters.length;
    const svg = el("svg", { role: "img" });
    const longest = Math.max(0, ...textWidths(svg, box, raters.map(name)));
    const slant = Math.SQRT1_2;  // column names are turned by 45 degrees
    const left = Math.ceil(longest) + 14, top = Math.ceil(longest * slant) + 20;
    const legendTop = top + n * cell + 30;
    const width = Math.max(left + n * cell + longest * slant + 10, 520);
    svg.setAttribute("width", Math.ceil(width));
    svg.setAttribute("height", legendTop + 40);
    svg.appendChild(el("title", {}, `${metric} between every pair of raters, ${layer}`));
    raters.forEach((r, i) => {
      const cls = leftOut.has(r) ? "rater left-out" : "rater";
      const row = el("text", { x: left - 8, y: top + i * cell + cell / 2 + 4, "text-anchor": "end", class: cls }, name(r));
      const x = left + i * cell + cell / 2 - 6, y = top - 6;
      const column = el("text", { x: x, y: y, transform: `rotate(-45 ${x} ${y})`, class: cls }, name(r));
      const full = leftOut.has(r) ? `${r}: left out of the human consensus` : r;
      [row, column].forEach((t) => t.appendChild(el("title", {}, full)));
      svg.appendChild(row);
      svg.appendChild(column);
    });
    raters.forEach((a, i) => raters.forEach((b, j) => {
      const p = i === j ? null : values[a + "\u0000" + b];
      const v = i === j ? 1 : p ? p[metric] : null;
      const g = el("g", { class: "cell" });
      g.appendChild(el("rect", { x: left + j * cell, y: top + i * cell, width: cell - 2, height: cell - 2, fill: i === j ? "#f3f3f3" : colour(v) }));
      if (i !== j) {
        g.appendChild(el("text", { x: left + j * cell + cell / 2 - 1, y: top + i * cell + cell / 2 + 4, "text-anchor": "middle" }, v === null ? "–" : v.toFixed(2)));
        const ci = p && p.ci && p.ci[metric] ? ` [${fmt(p.ci[metric][0])}–${fmt(p.ci[metric][1])}]` : "";
        g.appendChild(el("title", {}, `${a} vs ${b}: ${metric} ${fmt(v)}${ci}, n = ${p ? p.n : 0}`));
      }
      svg.appendChild(g);
    }));
    drawLegend(svg, left, legendTop, metric);
  }

  // At most six round ticks (steps of 1, 2 or 5 times a power of ten) inside [lo, hi].
  function niceTicks(lo, hi) {
    if (!(hi > lo)) return { ticks: [lo], digits: 3 };
    const power = Math.pow(10, Math.floor(Math.log10(hi - lo)) - 1);
    const count = (s) => Math.floor(hi / s + 1e-9) - Math.ceil(lo / s - 1e-9) + 1;
    const step = [1, 2, 5, 10, 20, 50, 100].map((m) => m * power).find((s) => count(s) <= 6);
    const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    const ticks = [];
    for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) ticks.push(i * step);
    return { ticks: ticks, digits: digits };
  }

  function drawCurve(curve) {
    const layers = Object.keys(curve.by_layer).length;
    const w = 400, plotH = 200, l = 44, r = 14, t = 10, b = 34, h = plotH + 16 + (2 + layers) * 14;
    const xs = curve.thresholds, lo = Math.min(...xs), hi = Math.max(...xs);
    const kappas = curve.kappa.filter((v) => v !== null);
    const yLow = Math.min(0, ...kappas.map((v) => Math.floor(v * 2) / 2));  // kappa may be < 0
    const X = (v) => l + ((v - lo) / (hi - lo || 1)) * (w - l - r);
    const Y = (v) => t + ((1 - v) / (1 - yLow)) * (plotH - t - b);
    // Scales with its figure; the legend sits under the plot, so nothing is cut at the edge.
    const svg = el("svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img", "font-size": 11 });
    svg.appendChild(el("title", {}, `Agreement of ${curve.rater} with ${curve.reference} by threshold`));
    svg.appendChild(el("line", { x1: l, y1: Y(yLow), x2: w - r, y2: Y(yLow), stroke: "#999" }));
    svg.appendChild(el("line", { x1: l, y1: t, x2: l, y2: Y(yLow), stroke: "#999" }));
    const yTicks = niceTicks(yLow, 1);
    yTicks.ticks.forEach((v) => {
      svg.appendChild(el("line", { x1: l, y1: Y(v), x2: w - r, y2: Y(v), stroke: v === 0 ? "#bbb" : "#eee" }));
      svg.appendChild(el("text", { x: l - 4, y: Y(v) + 4, "text-anchor": "end", class: "y-tick" }, v.toFixed(yTicks.digits)));
    });
    const xTicks = niceTicks(lo, hi);
    xTicks.ticks.forEach((v) => svg.appendChild(el("text", { x: X(v), y: plotH - b + 16, "text-anchor": "middle", class: "x-tick" }, v.toFixed(xTicks.digits))));
    const direction = curve.higher_means_yes ? "yes at score ≥ threshold" : "yes at score ≤ threshold (lower means yes)";
    svg.appendChild(el("text", { x: (l + w - r) / 2, y: plotH - 2, "text-anchor": "middle" }, `threshold t: ${curve.higher_means_yes ? "yes at score ≥ t" : "yes at score ≤ t"}`));
    const mid = (t + plotH - b) / 2;
    svg.appendChild(el("text", { x: 12, y: mid, transform: `rotate(-90 12 ${mid})`, "text-anchor": "middle" }, "share agreeing · kappa"));
    const series = [["agreement, all layers", curve.percent, "#111", 2.5, ""], ["kappa, all layers", curve.kappa, "#d35400", 2, "6 3"]];
    Object.entries(curve.by_layer).forEach(([name, ys], i) => series.push([`agreement, ${name}`, ys, LAYER_COLOURS[i % LAYER_COLOURS.length], 1.3, ""]));
    series.forEach(([name, ys, stroke, width, dash], k) => {
      const pts = xs.map((x, i) => (ys[i] === null ? null : `${X(x).toFixed(1)},${Y(ys[i]).toFixed(1)}`)).filter(Boolean);
      svg.appendChild(el("polyline", { points: pts.join(" "), fill: "none", stroke: stroke, "stroke-width": width, "stroke-dasharray": dash }));
      const ly = plotH + 14 + k * 14;
      svg.appendChild(el("line", { x1: l, y1: ly - 4, x2: l + 22, y2: ly - 4, stroke: stroke, "stroke-width": width, "stroke-dasharray": dash }));
      svg.appendChild(el("text", { x: l + 28, y: ly, fill: stroke, class: "legend" }, name));
    });
    const bx = X(curve.best_threshold);
    svg.appendChild(el("line", { x1: bx, y1: t, x2: bx, y2: Y(yLow), stroke: "#d35400", "stroke-dasharray": "2 3" }));
    svg.appendChild(el("circle", { cx: bx, cy: Y(curve.best_kappa), r: 3, fill: "#d35400" }));
    const fig = document.createElement("figure");
    fig.appendChild(svg);
    const cap = document.createElement("figcaption");
    cap.textContent = `${curve.rater}, ${direction}: share of pairs agreeing with ${curve.reference} (black, per layer in colour) and Cohen's kappa (orange) at each threshold; dotted line: best kappa, ${fmt(curve.best_kappa)} at ${curve.best_threshold.toPrecision(3)}; ROC AUC ${fmt(curve.roc_auc)}`;
    fig.appendChild(cap);
    return fig;
  }

  function init() {
    const hm = document.getElementById("heatmap-data");
    if (hm) {
      const data = JSON.parse(hm.textContent);
      const controls = document.getElementById("heatmap-controls");
      const redraw = () => drawHeatmap(
        data,
        controls.querySelector("input[name=hm-level]:checked").value,
        controls.querySelector("input[name=hm-metric]:checked").value,
        controls.querySelector("select[name=hm-layer]").value,
      );
      if (controls) { controls.addEventListener("change", redraw); redraw(); }
    }
    // Ratings binarised beside the yes/no raters: one level, its own controls.
    const rh = document.getElementById("ratings-heatmap-data");
    const rhControls = document.getElementById("ratings-heatmap-controls");
    if (rh && rhControls) {
      const data = JSON.parse(rh.textContent);
      const redraw = () => drawHeatmap(
        data, "binarised",
        rhControls.querySelector("input[name=rh-metric]:checked").value,
        rhControls.querySelector("select[name=rh-layer]").value,
        "ratings-heatmap",
      );
      rhControls.addEventListener("change", redraw);
      redraw();
    }
    const cal = document.getElementById("calibration-data");
    const box = document.getElementById("calibration");
    if (cal && box) JSON.parse(cal.textContent).forEach((c) => box.appendChild(drawCurve(c)));
  }

  document.addEventListener("DOMContentLoaded", init);
})();
