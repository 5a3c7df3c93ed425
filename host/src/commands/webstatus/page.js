// The live page: polls /api/status (the server reads the store once per interval for every
// browser) and redraws. Text from the store goes in as text, never as markup; the graph's SVG
// comes from the server, which escapes every name in it.
"use strict";

const POLL_MS = 1000;
const STATES = ["failed", "waiting", "ready", "complete", "active"];
// The first snapshot this page saw, for the rate: tasks completed since the page opened,
// timed by the server's clock (a throttled or headless browser's timers may not be).
let first = null;

function $(id) { return document.getElementById(id); }

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function bar(row, big) {
  const outer = el("div", { class: big ? "bar big" : "bar" });
  for (const state of ["complete", "active", "ready", "failed"]) {
    if (row[state] > 0 && row.total > 0) {
      const segment = el("div", { class: "seg " + state, title: row[state] + " " + state });
      segment.style.width = (100 * row[state] / row.total) + "%";
      outer.append(segment);
    }
  }
  return outer;
}

function duration(seconds) {
  if (!isFinite(seconds)) return "–";
  seconds = Math.round(seconds);
  if (seconds < 90) return seconds + " s";
  if (seconds < 5400) return Math.round(seconds / 60) + " min";
  return (seconds / 3600).toFixed(1) + " h";
}

function drawTotals(s) {
  const t = s.totals;
  if (first === null) first = { ms: s.updated_unix_ms, complete: t.complete };
  $("graph").textContent = s.graph;
  $("store").textContent = s.store;
  $("updated").textContent = new Date(s.updated_unix_ms).toLocaleTimeString();
  $("complete-total").textContent = t.complete;
  $("tasks-total").textContent = t.total;
  $("failed-total").textContent = t.failed;
  $("active-total").textContent = t.active;
  $("percent").textContent = t.total ? Math.floor(100 * t.complete / t.total) : 100;
  $("total-fill").style.width = (t.total ? 100 * t.complete / t.total : 100) + "%";
  const seconds = (s.updated_unix_ms - first.ms) / 1000;
  const rate = seconds > 0 ? (t.complete - first.complete) / seconds : NaN;
  $("rate").textContent = isFinite(rate) ? rate.toFixed(2) + " tasks/s" : "–";
  const left = t.total - t.complete;
  $("eta").textContent = left === 0 ? "done" : rate > 0 ? duration(left / rate) : "–";
  $("barrier").hidden = !s.at_barrier;
  $("error").hidden = !s.error;
  $("error").textContent = s.error || "";
}

function drawTable(s) {
  const body = $("status").tBodies[0];
  body.replaceChildren(...s.names.map(row => {
    const tr = el("tr", { "data-name": row.name }, el("td", {}, row.name));
    for (const state of STATES) {
      tr.append(el("td", { class: state + (row[state] === 0 ? " zero" : "") }, String(row[state])));
    }
    tr.append(el("td", {}, bar(row, false)));
    return tr;
  }));
  const total = el("tr", { class: "total", "data-name": "" }, el("td", {}, el("b", {}, "Total")));
  for (const state of STATES) {
    total.append(el("td", { class: state + (s.totals[state] === 0 ? " zero" : "") }, String(s.totals[state])));
  }
  total.append(el("td", {}, bar(s.totals, false)));
  body.append(total);
}

function drawFailures(s) {
  $("failure-count").textContent = s.failures.length;
  $("failures").replaceChildren(...s.failures.map(f => el("li", { class: "failure", "data-key": f.key },
    el("b", {}, f.name), " (key ", el("code", {}, f.short), "): ",
    el("span", { class: "kind" }, f.kind || "failed"), f.marked ? " · marked Failed" : "", " · ",
    el("a", { href: "/api/log/" + f.key, target: "_blank" }, "log"),
    el("pre", { class: "message" }, f.message || "(no record of why)"))));
}

function drawLeases(s) {
  $("lease-count").textContent = s.leases.length;
  $("leases").tBodies[0].replaceChildren(...s.leases.map(l => {
    let expires = "released";
    if (l.expires_unix_ms !== undefined) {
      const seconds = (l.expires_unix_ms - s.updated_unix_ms) / 1000;
      expires = l.expired ? "EXPIRED " + duration(-seconds) + " ago" : "in " + duration(seconds);
    }
    return el("tr", { class: l.expired ? "expired" : "live" },
      el("td", {}, l.lease), el("td", {}, l.host || ""), el("td", {}, l.pid === undefined ? "" : String(l.pid)),
      el("td", {}, expires));
  }));
}

async function poll() {
  try {
    const response = await fetch("/api/status", { cache: "no-store" });
    if (!response.ok) throw new Error("the server answered " + response.status);
    const s = await response.json();
    drawTotals(s);
    drawTable(s);
    $("dag").innerHTML = s.svg;
    drawFailures(s);
    drawLeases(s);
  } catch (e) {
    $("error").hidden = false;
    $("error").textContent = "cannot reach jug-host webstatus: " + e.message;
  }
  setTimeout(poll, POLL_MS);
}

poll();
