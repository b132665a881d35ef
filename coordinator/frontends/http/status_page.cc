#include "coordinator/frontends/http/status_page.h"

namespace coordinator {
namespace {

// Field names are those of README "Status API and migratectl" (/api/status is `migratectl
// status --json`, /api/accounts is `migratectl accounts --json`).
constexpr char kPage[] = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>migrator status</title>
<style>
  :root { --ok: #2e7d32; --bad: #c62828; --run: #1565c0; --wait: #757575; --warn: #ef6c00; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #212121; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  h2 { font-size: 16px; margin: 20px 0 6px; }
  .sub { color: #616161; margin-bottom: 12px; }
  .cards { display: flex; flex-wrap: wrap; gap: 10px; }
  .card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 150px; }
  .card .k { color: #616161; font-size: 12px; text-transform: uppercase; }
  .card .v { font-size: 18px; font-weight: 600; }
  .card .d { color: #616161; font-size: 12px; }
  .bar { position: relative; height: 22px; background: #eceff1; border-radius: 4px;
         margin: 14px 0; overflow: hidden; }
  .bar .fill { position: absolute; inset: 0 auto 0 0; background: #90caf9; }
  .bar .fail { position: absolute; inset: 0 auto 0 0; background: #ef9a9a; }
  .bar .label { position: absolute; inset: 0; text-align: center; line-height: 22px;
                font-weight: 600; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee;
           white-space: nowrap; }
  td.err { white-space: normal; color: var(--bad); max-width: 360px; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  th { cursor: pointer; user-select: none; background: #fafafa; position: sticky; top: 0; }
  th.sorted::after { content: " \25B2"; font-size: 10px; }
  th.sorted.desc::after { content: " \25BC"; }
  .state { font-weight: 600; }
  .s-succeeded { color: var(--ok); } .s-failed { color: var(--bad); }
  .s-running { color: var(--run); } .s-pending { color: var(--wait); }
  .s-cancelled { color: var(--warn); } .s-finished { color: var(--ok); }
  .s-stopping { color: var(--warn); }
  #stale { color: var(--bad); font-weight: 600; }
</style>
</head>
<body>
<h1>Job <span id="job-id">-</span> <span id="job-mode"></span>:
  <span id="job-state" class="state">loading</span></h1>
<div class="sub"><span id="stop-reason"></span> elapsed <span id="elapsed">-</span>,
  updated <span id="updated">never</span> <span id="stale"></span></div>
<div class="bar" id="progress-bar" data-value="0">
  <div class="fill" id="progress-fill" style="width:0%"></div>
  <div class="fail" id="progress-failed" style="width:0%"></div>
  <div class="label" id="progress-label">0%</div>
</div>
<div class="cards">
  <div class="card"><div class="k">accounts</div>
    <div class="v"><span id="accounts-succeeded">0</span> / <span id="accounts-total">0</span>
    </div><div class="d"><span id="accounts-running">0</span> running,
    <span id="accounts-pending">0</span> pending, <span id="accounts-failed">0</span> failed,
    <span id="accounts-cancelled">0</span> cancelled</div></div>
  <div class="card"><div class="k">messages</div>
    <div class="v"><span id="messages-done">0</span> / <span id="messages-total">0</span></div>
    <div class="d"><span id="messages-skipped">0</span> already present,
    totals <span id="totals-known">so far</span></div></div>
  <div class="card"><div class="k">bytes</div>
    <div class="v"><span id="bytes-done" data-value="0">0 B</span></div>
    <div class="d">of <span id="bytes-total" data-value="0">0 B</span> announced</div></div>
  <div class="card"><div class="k">rate</div>
    <div class="v"><span id="rate-messages">0</span> msg/s</div>
    <div class="d"><span id="rate-bytes">0 B</span>/s, <span id="rate-accounts">0</span>
    accounts/min (last <span id="rate-window">-</span>)</div></div>
  <div class="card"><div class="k">eta</div><div class="v" id="eta">-</div>
    <div class="d" id="eta-basis"></div></div>
  <div class="card"><div class="k">workers</div>
    <div class="v"><span id="workers-connected">0</span> connected</div></div>
</div>
<h2>Accounts</h2>
<table id="accounts-table">
<thead><tr>
  <th data-key="index" class="num">#</th><th data-key="email">account</th>
  <th data-key="state">state</th><th data-key="worker_id">worker</th>
  <th data-key="attempts" class="num">tries</th><th data-key="current_folder">folder</th>
  <th data-key="folders_done" class="num">folders</th>
  <th data-key="messages_done" class="num">messages</th>
  <th data-key="bytes_done" class="num">bytes</th><th data-key="skipped" class="num">skipped</th>
  <th data-key="elapsed_ms" class="num">elapsed</th><th data-key="last_error">last error</th>
</tr></thead>
<tbody></tbody>
</table>
<h2>Workers</h2>
<table id="workers-table">
<thead><tr><th data-key="worker_id">worker</th><th data-key="host">host</th>
  <th data-key="pid" class="num">pid</th><th data-key="running" class="num">running</th>
  <th data-key="connected">connected</th><th data-key="last_seen_ms_ago" class="num">last seen</th>
</tr></thead>
<tbody></tbody>
</table>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function bytes(n) {  // decimal units, as migratectl
  const u = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i === 0 ? String(Math.round(n)) : n.toFixed(1)) + " " + u[i];
}
function duration(ms) {
  const s = Math.floor(ms / 1000);
  if (s >= 3600) return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60))
      .padStart(2, "0") + "m";
  if (s >= 60) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
  if (ms < 10000) return (ms / 1000).toFixed(1) + "s";
  return s + "s";
}
function text(id, value) { $(id).textContent = value; }
function exact(id, value, shown) {
  const e = $(id);
  e.textContent = shown;
  e.dataset.value = String(value);
  e.title = String(value);
}
function cell(tr, value, cls, sortValue) {
  const td = document.createElement("td");
  td.textContent = value;
  if (cls) td.className = cls;
  if (sortValue !== undefined) td.dataset.value = String(sortValue);
  tr.appendChild(td);
  return td;
}
const sorting = { "accounts-table": { key: "index", desc: false },
                  "workers-table": { key: "worker_id", desc: false } };
const rows = { "accounts-table": [], "workers-table": [] };
function compare(a, b, key) {
  const x = a[key], y = b[key];
  if (typeof x === "number" && typeof y === "number") return x - y;
  return String(x).localeCompare(String(y));
}
function sorted(table) {
  const s = sorting[table];
  const list = rows[table].slice().sort((a, b) => compare(a, b, s.key) ||
                                                  compare(a, b, "index") ||
                                                  compare(a, b, "worker_id"));
  if (s.desc) list.reverse();
  document.querySelectorAll("#" + table + " th").forEach((th) => {
    th.classList.toggle("sorted", th.dataset.key === s.key);
    th.classList.toggle("desc", th.dataset.key === s.key && s.desc);
  });
  return list;
}
function renderAccounts() {
  const body = document.querySelector("#accounts-table tbody");
  const out = document.createDocumentFragment();
  for (const a of sorted("accounts-table")) {
    const tr = document.createElement("tr");
    tr.dataset.email = a.email;
    tr.dataset.state = a.state;
    cell(tr, a.index, "num", a.index);
    cell(tr, a.email, "email");
    cell(tr, a.state, "state s-" + a.state);
    cell(tr, a.worker_id || "-", "worker");
    cell(tr, a.attempts, "num attempts", a.attempts);
    cell(tr, a.state === "running" ? a.current_folder || "-" : "-", "folder");
    const folders = a.state === "running" ? a.folders_done : a.folders.length;
    cell(tr, a.state === "running" && a.folders_total ? folders + " / " + a.folders_total
         : folders || "-", "num folders", folders);
    cell(tr, a.messages_total ? a.messages_done + " / " + a.messages_total : a.messages_done,
         "num messages", a.messages_done);
    cell(tr, bytes(a.bytes_done), "num bytes", a.bytes_done).title = a.bytes_done + " bytes";
    cell(tr, a.skipped, "num skipped", a.skipped);
    cell(tr, duration(a.elapsed_ms), "num elapsed", a.elapsed_ms);
    cell(tr, a.last_error, "err");
    out.appendChild(tr);
  }
  body.replaceChildren(out);
}
function renderWorkers() {
  const body = document.querySelector("#workers-table tbody");
  const out = document.createDocumentFragment();
  for (const w of sorted("workers-table")) {
    const tr = document.createElement("tr");
    tr.dataset.worker = w.worker_id;
    cell(tr, w.worker_id);
    cell(tr, w.host || "-");
    cell(tr, w.pid, "num", w.pid);
    cell(tr, w.running + " / " + w.max_parallel, "num", w.running);
    cell(tr, w.connected ? "yes" : "no", w.connected ? "s-succeeded" : "s-failed");
    cell(tr, duration(w.last_seen_ms_ago) + " ago", "num", w.last_seen_ms_ago);
    out.appendChild(tr);
  }
  body.replaceChildren(out);
}
// Done: by messages once their totals are known; before that by accounts, a running one
// counting for the part of the messages it has announced that it has moved.
function renderProgress(s, accounts) {
  const a = s.accounts;
  const byMessages = s.totals_known && s.messages.total > 0;
  let done = 0;
  if (s.finished) {
    done = 1;
  } else if (byMessages) {
    done = s.messages.done / s.messages.total;
  } else if (a.total) {
    for (const x of accounts) {
      if (x.state === "succeeded" || x.state === "failed" || x.state === "cancelled") done += 1;
      else if (x.state === "running" && x.messages_total) {
        done += Math.min(1, x.messages_done / x.messages_total);
      }
    }
    done /= a.total;
  }
  const failed = a.total ? (a.failed + a.cancelled) / a.total : 0;
  $("progress-bar").dataset.value = done.toFixed(4);
  $("progress-fill").style.width = (100 * done).toFixed(1) + "%";
  $("progress-failed").style.width = (100 * Math.min(failed, done)).toFixed(1) + "%";
  text("progress-label", (100 * done).toFixed(1) + "% " + (s.finished ? "done" : byMessages
       ? "of the messages" : "by accounts (message totals not known yet)"));
}
function renderStatus(s) {
  text("job-id", s.job_id);
  text("job-mode", "(" + s.mode + ")");
  text("job-state", s.state);
  $("job-state").className = "state s-" + s.state;
  text("stop-reason", s.stop_reason ? s.stop_reason + ";" : "");
  text("elapsed", duration(s.elapsed_ms));
  for (const k of ["total", "pending", "running", "succeeded", "failed", "cancelled"]) {
    text("accounts-" + k, s.accounts[k]);
  }
  text("messages-done", s.messages.done);
  text("messages-total", s.messages.total);
  text("messages-skipped", s.messages.skipped);
  text("totals-known", s.totals_known ? "known" : "so far");
  exact("bytes-done", s.bytes.done, bytes(s.bytes.done));
  exact("bytes-total", s.bytes.total, bytes(s.bytes.total));
  text("rate-messages", s.rate.messages_per_second.toFixed(1));
  text("rate-bytes", bytes(s.rate.bytes_per_second));
  text("rate-accounts", s.rate.accounts_per_minute.toFixed(1));
  text("rate-window", duration(s.rate.window_ms));
  text("eta", s.finished ? "done" : s.eta_ms === null ? "unknown" : duration(s.eta_ms));
  text("eta-basis", s.eta_ms === null ? "" : "from " + s.eta_basis);
  text("workers-connected", s.workers_connected);
  rows["workers-table"] = s.workers;
  renderWorkers();
}
async function refresh() {
  try {
    const [status, accounts] = await Promise.all([
      fetch("api/status", { cache: "no-store" }).then((r) => r.json()),
      fetch("api/accounts", { cache: "no-store" }).then((r) => r.json())]);
    renderStatus(status);
    rows["accounts-table"] = accounts.accounts;
    renderAccounts();
    renderProgress(status, accounts.accounts);
    text("updated", new Date().toLocaleTimeString());
    text("stale", "");
  } catch (e) {
    text("stale", "(coordinator unreachable: showing the last figures)");
  }
}
document.querySelectorAll("th").forEach((th) => th.addEventListener("click", () => {
  const table = th.closest("table").id;
  const s = sorting[table];
  s.desc = s.key === th.dataset.key ? !s.desc : false;
  s.key = th.dataset.key;
  if (table === "accounts-table") renderAccounts(); else renderWorkers();
}));
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)HTML";

}  // namespace

const std::string& StatusPageHtml() {
  static const std::string* page = new std::string(kPage);
  return *page;
}

}  // namespace coordinator
