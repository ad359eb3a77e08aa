// synthspec serve: upload -> findings -> spec -> run (live progress) -> report -> download.
// Plain browser JavaScript, no build step and nothing from a CDN.
"use strict";

const STAGES = ["read", "fit", "sample", "checks", "report", "publish"];
const $ = (id) => document.getElementById(id);
const state = { table: null, run: null };

function token() { return sessionStorage.getItem("synthspec-token"); }

async function api(path, options = {}, retried = false) {
  const headers = Object.assign({}, options.headers || {});
  if (token()) headers["Authorization"] = "Bearer " + token();
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401 && !retried) {
    const given = window.prompt("This server needs its token (SYNTHSPEC_SERVE_TOKEN):");
    if (given) { sessionStorage.setItem("synthspec-token", given.trim()); return api(path, options, true); }
  }
  return response;
}

async function json(response) {
  const body = await response.json().catch(() => ({ error: "the server answered " + response.status }));
  if (!response.ok) {
    const error = new Error(body.error || ("HTTP " + response.status));
    error.body = body; throw error;
  }
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function badge(status) { return el("span", { class: "badge " + status }, status); }

async function loadTables() {
  try {
    const body = await json(await api("/api/tables"));
    const box = $("tables");
    box.replaceChildren();
    if (!body.tables.length) box.append(el("p", { class: "muted" }, "No spec yet: upload a table below."));
    for (const t of body.tables) {
      const last = t.last_run;
      const card = el("div", { class: "card", "data-table": t.table },
        el("h3", {}, t.table), badge(last ? last.status : "never run"),
        el("p", { class: "muted" }, (t.published_version != null ? "published v" + t.published_version : (body.database_busy ? "database busy" : "not published")),
          " · model ", t.model || "auto"));
      if (last && last.metrics && last.metrics.quality_score != null)
        card.append(el("p", {}, "quality ", Number(last.metrics.quality_score).toFixed(3),
          last.metrics.dcr_share != null ? " · DCR share " + Number(last.metrics.dcr_share).toFixed(3) : ""));
      const actions = el("div", { class: "row" },
        el("button", { type: "button", class: "secondary", onclick: () => { choose(t.table); startRun(); } }, "Run"),
        el("button", { type: "button", class: "secondary", onclick: () => choose(t.table, true) }, "Edit spec"));
      if (t.published_version != null)
        actions.append(el("button", { type: "button", class: "secondary", onclick: () => download(t.table) }, "CSV"));
      card.append(actions);
      box.append(card);
    }
    $("project-status").textContent = body.tables.length + " table(s)";
  } catch (error) {
    $("tables").replaceChildren(el("p", { class: "error" }, error.message));
  }
}

async function choose(table, edit = false) {
  state.table = table;
  $("run-section").hidden = false;
  if (edit) {
    const spec = await json(await api("/api/specs/" + encodeURIComponent(table)));
    showSpec(spec.text, spec.file);
  }
}

function showSpec(text, file) {
  $("spec-section").hidden = false;
  $("spec-text").value = text;
  $("spec-file").textContent = file;
  $("spec-saved").hidden = true;
  $("spec-errors").replaceChildren();
}

$("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("upload-error").hidden = true;
  const form = new FormData();
  form.append("file", $("upload-file").files[0]);
  if ($("upload-name").value.trim()) form.append("name", $("upload-name").value.trim());
  $("upload-button").disabled = true;
  try {
    const body = await json(await api("/api/uploads", { method: "POST", body: form }));
    state.table = body.table;
    $("upload-summary").textContent = `${body.table}: ${body.rows.toLocaleString()} rows, ${body.columns.length} columns, ` +
      (body.findings.length ? `${body.findings.length} column(s) look like PII` : "no PII detected in the sampled values");
    showSpec(body.spec, "specs/" + body.table + ".yml");
    const rows = $("findings").querySelector("tbody");
    rows.replaceChildren(...body.findings.map((f) => el("tr", {}, el("td", {}, f.column), el("td", {}, f.entity),
      el("td", {}, Number(f.confidence).toFixed(2)), el("td", {}, f.evidence), el("td", {}, policySelect(f.column)))));
    $("findings-section").hidden = false;
    $("run-section").hidden = true;
  } catch (error) {
    $("upload-error").textContent = error.message;
    $("upload-error").hidden = false;
  } finally {
    $("upload-button").disabled = false;
  }
});

const POLICIES = ["fake", "hash", "mask", "drop"];

function columnLine(lines, column) {
  const keys = [column, JSON.stringify(column), "'" + column + "'"].map((k) => "  " + k + ": {");
  return lines.findIndex((l) => keys.some((k) => l.startsWith(k)));
}

function policySelect(column) {
  // The policy of a flagged column, set in the spec's text: the draft's own line for its policy,
  // `{type: <type>, pii: <policy>}` for another (a fake's faker options do not apply to it).
  const lines = $("spec-text").value.split("\n");
  const at = columnLine(lines, column);
  const drafted = at >= 0 ? lines[at] : null;
  const current = drafted && (drafted.match(/pii: (\w+)/) || [])[1];
  const select = el("select", { "aria-label": "policy for " + column, "data-column": column },
    ...POLICIES.map((p) => el("option", p === current ? { value: p, selected: "" } : { value: p }, p)));
  if (!current) select.prepend(el("option", { value: "", selected: "" }, "none"));
  select.addEventListener("change", () => {
    const now = $("spec-text").value.split("\n");
    const i = columnLine(now, column);
    if (i < 0 || !drafted) return;
    const type = (drafted.match(/type: (\w+)/) || [])[1] || "text";
    const comment = drafted.includes("  # ") ? drafted.slice(drafted.indexOf("  # ")) : "";
    const head = drafted.slice(0, drafted.indexOf("{"));
    now[i] = select.value === current ? drafted : `${head}{type: ${type}, pii: ${select.value}}${comment}`;
    $("spec-text").value = now.join("\n");
  });
  return select;
}

function setTopLevel(text, key, line) {
  // Replace a one-line top-level `key: ...` or add it after `table:`; a block form is left alone.
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.startsWith(key + ":"));
  if (at >= 0) {
    if (lines[at].trim() === key + ":") return null; // a block: edit it in the text
    lines[at] = line;
  } else {
    const after = lines.findIndex((l) => l.startsWith("table:"));
    lines.splice(after + 1, 0, line);
  }
  return lines.join("\n");
}

function applyField(key, line) {
  const changed = setTopLevel($("spec-text").value, key, line);
  if (changed === null) $("spec-errors").replaceChildren(el("li", {}, `'${key}:' is a block in this spec: edit it in the text`));
  else $("spec-text").value = changed;
}

$("spec-model").addEventListener("change", () => { if ($("spec-model").value) applyField("model", `model: {type: ${$("spec-model").value}}`); });
$("spec-quality").addEventListener("change", () => {
  const v = $("spec-quality").value;
  if (v !== "") applyField("checks", `checks: {quality_score: {min: ${Number(v)}}}`);
});

$("spec-save").addEventListener("click", async () => {
  $("spec-errors").replaceChildren();
  $("spec-saved").hidden = true;
  try {
    await json(await api("/api/specs/" + encodeURIComponent(state.table), {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: $("spec-text").value }) }));
    $("spec-saved").hidden = false;
    $("run-section").hidden = false;
    loadTables();
    // What apply would do with it (reads the source): problems there are shown before a run.
    const planned = await api("/api/specs/" + encodeURIComponent(state.table) + "/plan");
    const body = await planned.json().catch(() => ({}));
    const lines = planned.ok ? (body.action === "error" ? body.reasons : [`apply would ${body.action}: ${(body.reasons || []).join("; ")}`])
      : (body.problems || [body.error]);
    $("spec-errors").replaceChildren(...(lines || []).filter(Boolean).map((l) => el("li", { class: planned.ok && body.action !== "error" ? "muted" : "" }, l)));
  } catch (error) {
    const problems = (error.body && error.body.problems) || [{ message: error.message, location: error.body && error.body.location }];
    $("spec-errors").replaceChildren(...problems.map((p) => el("li", {}, (p.location ? p.location + ": " : "") + p.message)));
  }
});

function percent(progress) {
  const tables = Object.values(progress);
  if (!tables.length) return 0;
  let sum = 0;
  for (const t of tables) {
    const index = Math.max(0, STAGES.indexOf(t.stage));
    const within = t.total ? t.done / t.total : 0;
    sum += (index + within) / STAGES.length;
  }
  return Math.round(100 * sum / tables.length);
}

async function startRun() {
  if (!state.table) return;
  $("run-section").hidden = false;
  $("run-result").hidden = true;
  $("report-section").hidden = true;
  $("run-button").disabled = true;
  try {
    const run = await json(await api("/api/runs", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ select: [state.table], force: $("run-force").checked }) }));
    state.run = run.id;
    $("run-progress").hidden = false;
    $("cancel-button").hidden = false;
    $("progress-bar").value = 0;
    $("progress-text").textContent = "queued";
    await follow(run.id);
  } catch (error) {
    $("progress-text").textContent = error.message;
  } finally {
    $("run-button").disabled = false;
    $("cancel-button").hidden = true;
  }
}

async function follow(id) {
  const progress = {};
  const response = await api("/api/runs/" + id + "/events");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      const data = chunk.split("\n").find((l) => l.startsWith("data: "));
      if (!data) continue;
      const event = JSON.parse(data.slice(6));
      if (event.type === "state") $("progress-text").textContent = event.state;
      if (event.type === "stage") {
        const entry = progress[event.table] = progress[event.table] && progress[event.table].stage === event.stage ? progress[event.table] : {};
        entry.stage = event.stage;
        if (event.total) { entry.done = event.done; entry.total = event.total; }
        $("progress-bar").value = percent(progress);
        $("progress-text").textContent = `${event.table}: ${event.stage}` + (event.total ? ` ${event.done}/${event.total}` : "");
      }
      if (event.type === "end") { showResult(event); }
    }
  }
}

function showResult(run) {
  $("progress-bar").value = run.state === "passed" ? 100 : $("progress-bar").value;
  $("run-result").hidden = false;
  $("run-state").replaceChildren(badge(run.state), " ", run.reason || (run.errors || []).join("; "));
  const checks = [];
  for (const t of run.tables || []) {
    for (const c of t.checks || []) checks.push(el("li", {}, `${t.table} · ${c.metric}: ${c.value == null ? "n/a" : Number(c.value).toFixed(4)} (${c.outcome})`));
    for (const e of t.errors || []) checks.push(el("li", { class: "error" }, `${t.table}: ${e}`));
  }
  $("run-checks").replaceChildren(...checks);
  $("download-button").disabled = !(run.tables || []).some((t) => t.published);
  $("progress-text").textContent = "";
  loadTables();
}

$("run-button").addEventListener("click", startRun);
$("cancel-button").addEventListener("click", async () => { if (state.run) await api("/api/runs/" + state.run, { method: "DELETE" }); });
$("report-button").addEventListener("click", async () => {
  const response = await api("/api/runs/" + state.run + "/report");
  $("report-frame").srcdoc = response.ok ? await response.text() : "<p>No report for this run.</p>";
  $("report-section").hidden = false;
  $("report-section").scrollIntoView();
});
$("download-button").addEventListener("click", () => download(state.table));

async function download(table) {
  const response = await api("/api/tables/" + encodeURIComponent(table) + "/rows?format=csv&limit=1000000");
  if (!response.ok) { window.alert((await response.json()).error); return; }
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: table + ".csv" });
  document.body.append(link); link.click(); link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

loadTables();
