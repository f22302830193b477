// The operator console: one ES module, no framework, no build step, nothing fetched from
// outside this gateway. Every datum comes from the public API (/api/v1) with the bearer token
// the operator pasted in; the API decides what the token may see and do.
const API = "/api/v1";
const TOKEN_KEY = "order-platform-console-token";
const ZIPKIN = document.querySelector('meta[name="zipkin-ui"]').content;
const ORDER_STATUSES = ["PENDING", "PAYMENT_PENDING", "PAID", "CONFIRMED", "SHIPPED", "DELIVERED",
  "CANCELLED"];
const SAGA_STATUSES = ["STARTED", "COMPLETED", "COMPENSATING", "COMPENSATED", "FAILED"];
const STEPS = ["INVENTORY_RESERVED", "PAYMENT_PROCESSED", "ORDER_CONFIRMED", "NOTIFICATION_SENT"];
const REFRESH_MS = 2000;

const main = document.getElementById("main");
let refreshTimer = null;
let renderSeq = 0; // a newer render makes an older one's late answers moot

// --- elements ------------------------------------------------------------------------------
// h("tag.class", {attr: value, onclick: fn}, children...): text is always text, never HTML.
function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const badge = (s) => h("span.badge.s-" + String(s ?? "none").replace(/[^A-Za-z_-]/g, ""), {}, s ?? "—");
const when = (iso) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 23) + "Z" : "—");
const num = (label) => h("th.num", {}, label);
const ms = (n) => (n >= 1000 ? (n / 1000).toFixed(2) + " s" : n + " ms");
function table(headers, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, headers.map((x) => (x instanceof Node ? x : h("th", {}, x))))),
    h("tbody", {}, rows.length ? rows : [h("tr", {}, h("td.muted", { colspan: headers.length }, "none"))]));
}

// --- token and API -------------------------------------------------------------------------
const token = () => sessionStorage.getItem(TOKEN_KEY);
function claims() {
  try {
    const part = token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch { return null; }
}
const isAdmin = () => claims()?.role === "admin";

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = "Bearer " + token();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await resp.json().catch(() => null);
  if (resp.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    signIn(`Refused: ${data?.detail || "a bearer token is required"}. Sign in again.`);
    throw new ApiError(401, data);
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

function notice(text, ok = false) {
  const el = document.getElementById("notice");
  el.textContent = text || "";
  el.className = ok ? "ok" : "";
  el.hidden = !text;
}
const failed = (err) => notice(err instanceof ApiError ? `${err.status}: ${err.message}` : String(err));

// --- sign-in -------------------------------------------------------------------------------
function signIn(message) {
  stopRefresh();
  document.getElementById("nav").hidden = true;
  document.getElementById("who").replaceChildren();
  notice(message || "");
  const area = h("textarea", { id: "token", placeholder: "eyJhbGciOiJFUzI1NiIs…", autocomplete: "off" });
  main.replaceChildren(h("section.signin", {},
    h("h2", {}, "Sign in"),
    h("p", {}, "The console calls the public API with your bearer token, as any client does: an ",
      h("b", {}, "admin"), " token sees and acts on everything, a ", h("b", {}, "customer"),
      " token sees its own orders only. Make one with ",
      h("code", {}, "make -s token SUB=ops ROLE=admin"), "; it stays in this tab only."),
    h("form", { id: "signin", onsubmit: async (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, area.value.trim());
      try {
        await api("/order-counts"); // the API says whether the token is good
      } catch { return; }
      notice("");
      location.hash = location.hash && location.hash !== "#/" ? location.hash : "#/orders";
      route();
    } }, area, h("p", {}, h("button.primary", { type: "submit" }, "Sign in")))));
}

function showWho() {
  const c = claims() || {};
  document.getElementById("nav").hidden = false;
  for (const a of document.querySelectorAll("nav a[data-admin]")) a.hidden = c.role !== "admin";
  document.getElementById("who").replaceChildren(
    h("span", { id: "signed-in" }, `${c.sub} (${c.role})`),
    h("button", { onclick: () => { sessionStorage.removeItem(TOKEN_KEY); signIn("Signed out."); } }, "Sign out"));
}

// --- routing -------------------------------------------------------------------------------
function stopRefresh() { clearInterval(refreshTimer); refreshTimer = null; }
function every(fn) { stopRefresh(); refreshTimer = setInterval(fn, REFRESH_MS); }

async function route() {
  if (!token()) return signIn();
  showWho();
  stopRefresh();
  const [, view, arg] = (location.hash || "#/orders").split("/");
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("current", a.dataset.view === (view === "order" ? "orders" : view));
  const seq = ++renderSeq;
  try {
    if (view === "order" && arg) await orderView(decodeURIComponent(arg), seq);
    else if (view === "health") await healthView(seq);
    else if (view === "act") await actView(seq);
    else await ordersView(seq);
  } catch (err) { if (!(err instanceof ApiError && err.status === 401)) failed(err); }
}
window.addEventListener("hashchange", () => { notice(""); route(); });

// --- 1. orders -----------------------------------------------------------------------------
const listState = { status: "", sagaStatus: "", search: "", cursors: [null] };

async function ordersView(seq) {
  const counts = h("div.counts", { id: "counts" });
  const rows = h("tbody");
  const pager = h("p", { id: "pager" });
  const select = (name, values, label) => h("label", {}, label,
    h("select", { name, onchange: (e) => { listState[name] = e.target.value; listState.cursors = [null]; load(); } },
      h("option", { value: "" }, "any"),
      values.map((v) => h("option", { value: v, selected: listState[name] === v }, v))));
  const search = h("input", { name: "search", placeholder: "order id or customer id", value: listState.search, size: 38 });
  main.replaceChildren(h("section", {},
    h("h2", {}, "Orders"), counts,
    h("form.inline", { id: "filters", onsubmit: (e) => { e.preventDefault(); listState.search = search.value.trim(); listState.cursors = [null]; load(); } },
      select("status", ORDER_STATUSES, "status"), select("sagaStatus", SAGA_STATUSES, "saga status"),
      h("label", {}, "search", search), h("button", { type: "submit" }, "Search")),
    h("table", { id: "orders" },
      h("thead", {}, h("tr", {}, ["created (UTC)", "order", "customer", "status", "saga"].map((x) => h("th", {}, x)), num("total"))),
      rows),
    pager));

  async function load() {
    const cursor = listState.cursors[listState.cursors.length - 1];
    const who = isAdmin() ? undefined : claims()?.sub;
    let page;
    const q = listState.search;
    if (q) {
      // An order id first; else a customer id.
      const found = await api(`/orders/${encodeURIComponent(q)}`).catch((e) => (e.status === 404 || e.status === 422 ? null : Promise.reject(e)));
      page = found ? { items: [found], next: null } : await api("/orders", { query: { customerId: q, status: listState.status, sagaStatus: listState.sagaStatus, cursor, limit: 20 } });
    } else {
      page = await api("/orders", { query: { customerId: who, status: listState.status, sagaStatus: listState.sagaStatus, cursor, limit: 20 } });
    }
    const c = await api("/order-counts", { query: { customerId: q && !page.items.every((o) => o.orderId === q) ? q : who } });
    if (seq !== renderSeq) return;
    counts.replaceChildren(
      h("span.count", {}, h("b", {}, c.total), "orders"),
      ...Object.entries(c.byStatus).map(([s, n]) => h("span.count", { dataset: { status: s } }, h("b", {}, n), badge(s))),
      h("span.muted", {}, " sagas: "),
      ...Object.entries(c.bySagaStatus).map(([s, n]) => h("span.count", { dataset: { sagaStatus: s } }, h("b", {}, n), badge(s))));
    rows.replaceChildren(...(page.items.length ? page.items.map((o) => h("tr", { dataset: { orderId: o.orderId } },
      h("td.mono", {}, when(o.createdAt)),
      h("td.mono", {}, h("a", { href: `#/order/${o.orderId}` }, o.orderId)),
      h("td", {}, o.customerId),
      h("td", {}, badge(o.status)),
      h("td", {}, badge(o.saga.status)),
      h("td.num", {}, o.totalAmount))) : [h("tr", {}, h("td.muted", { colspan: 6 }, "no orders"))]));
    const depth = listState.cursors.length;
    pager.replaceChildren(
      h("button", { disabled: depth === 1, onclick: () => { listState.cursors.pop(); load(); } }, "← Newer"),
      h("span.muted", {}, ` page ${depth} `),
      h("button", { id: "older", disabled: !page.next, onclick: () => { listState.cursors.push(page.next); load(); } }, "Older →"));
  }
  await load();
  every(() => { if (listState.cursors.length === 1) load().catch(failed); });
}

// --- 2. one order's story ------------------------------------------------------------------
async function orderView(orderId, seq) {
  const box = h("div", { id: "order" });
  main.replaceChildren(box);
  let logsShown = false;
  async function load() {
    const o = await api(`/orders/${encodeURIComponent(orderId)}`);
    const [payments, notes] = await Promise.all([
      api("/payments", { query: { orderId } }), api("/notifications", { query: { orderId } })]);
    if (seq !== renderSeq) return;
    const saga = o.saga;
    const ended = ["CONFIRMED", "CANCELLED", "SHIPPED", "DELIVERED"].includes(o.status) && !["STARTED", "COMPENSATING"].includes(saga.status);
    const act = (label, path, cls) => h("button" + (cls ? "." + cls : ""), { onclick: async () => {
      try { await api(`/orders/${orderId}/${path}`, { method: "POST" }); notice(`${label}: done`, true); await load(); } catch (e) { failed(e); }
    } }, label);
    box.replaceChildren(
      h("section", {},
        h("h2", {}, "Order ", h("span.mono", { id: "order-id" }, o.orderId)),
        h("p", {}, "Status ", h("span", { id: "order-status" }, badge(o.status)), " · saga ", h("span", { id: "saga-status" }, badge(saga.status)),
          " · customer ", h("b", {}, o.customerId), " · total ", h("b", { id: "order-total" }, o.totalAmount),
          " · placed ", when(o.createdAt)),
        saga.failureReason ? h("p", { id: "failure-reason" }, "Failure reason: ", h("b", {}, saga.failureReason)) : null,
        h("p", {}, o.traceId ? h("a", { id: "trace-link", href: `${ZIPKIN}/traces/${o.traceId}`, target: "_blank", rel: "noopener" }, `Zipkin trace ${o.traceId}`) : h("span.muted", {}, "no trace id")),
        h("p", { id: "actions" },
          ["CANCELLED", "SHIPPED", "DELIVERED"].includes(o.status) ? null : [act("Cancel", "cancel", "danger"), " "],
          isAdmin() && o.status === "CONFIRMED" ? [act("Ship", "ship"), " "] : null,
          isAdmin() && o.status === "SHIPPED" ? [act("Deliver", "deliver"), " "] : null,
          isAdmin() && !ended ? act("Drive to an end", "drive") : null)),
      h("div.grid", {},
        h("section", {}, h("h2", {}, "Items"),
          table(["product", num("quantity"), num("unit price")], o.items.map((i) => h("tr", {}, h("td", {}, i.productId), h("td.num", {}, i.quantity), h("td.num", {}, i.unitPrice)))),
          h("p", {}, "Total ", h("b", {}, o.totalAmount))),
        h("section", {}, h("h2", {}, "Saga timeline"), timeline(saga))),
      h("div.grid", {},
        h("section", {}, h("h2", {}, "Payments"),
          table(["payment", num("amount"), "status", "reason"], payments.items.map((p) => h("tr", {}, h("td.mono", {}, p.paymentId.slice(0, 8)), h("td.num", {}, p.amount), h("td", {}, badge(p.status)), h("td", {}, p.reason ?? ""))), { id: "payments" })),
        h("section", {}, h("h2", {}, "Notifications"),
          table(["type", "sent (UTC)"], notes.items.map((n) => h("tr", {}, h("td", {}, n.type), h("td.mono", {}, when(n.sentAt)))), { id: "notifications" }))),
      isAdmin() ? h("section", {}, h("h2", {}, "Log lines from every service"),
        h("p", {}, h("button", { id: "show-logs", onclick: () => { logsShown = true; showLogs(); } }, logsShown ? "Refresh logs" : "Show logs"),
          h("span.muted", {}, " what ", h("code", {}, `make logs ID=${orderId}`), " prints")),
        h("div", { id: "logs" })) : null);
    if (logsShown) showLogs();
    if (ended) stopRefresh();
  }
  async function showLogs() {
    const out = document.getElementById("logs");
    const got = await api(`/orders/${encodeURIComponent(orderId)}/logs`, { query: { limit: 500 } }).catch((e) => { failed(e); return null; });
    if (!got || !out) return;
    out.replaceChildren(h("div", {}, h("pre.logs", {}, got.items.length ? got.items.map((l) => [h("span.src", {}, l.source.padEnd(26)), l.text, "\n"]) : `no line in ${got.logDir} mentions this order`),
      got.truncated ? h("p.muted", {}, "older lines left out") : null));
  }
  await load();
  every(() => load().catch(failed));
}

function timeline(saga) {
  const entries = saga.timeline || [];
  const done = new Set(entries.filter((e) => e.kind === "step").map((e) => e.name));
  const clock = (iso) => (iso ? when(iso).slice(11) : "—");
  const items = [h("li.head", {}, h("span", {}, "kind"), h("span", {}, "what"), h("span", {}, "at (UTC)"), h("span.num", {}, "took")),
    h("li.saga", {}, h("span.muted", {}, "saga"), h("span.name", {}, "STARTED"), h("span.mono", {}, clock(saga.startedAt)), h("span", {}))];
  for (const e of entries) {
    const label = e.kind === "compensation" ? `undo ${e.name}` : e.name;
    items.push(h("li." + e.kind, { dataset: { kind: e.kind, name: e.name } },
      h("span.muted", {}, e.kind), h("span.name", {}, label, e.detail ? h("div.muted", {}, e.detail) : null),
      h("span.mono", {}, clock(e.at)), h("span.num", {}, ms(e.tookMs))));
  }
  const pending = ["STARTED"].includes(saga.status) ? STEPS.filter((s) => !done.has(s)) : [];
  for (const s of pending) items.push(h("li", {}, h("span.muted", {}, "step"), h("span.name.muted", {}, s), h("span.muted", {}, "pending"), h("span", {})));
  return h("ol.timeline", { id: "timeline" }, items);
}

// --- 3. live health ------------------------------------------------------------------------
async function healthView(seq) {
  const box = h("div", { id: "health" });
  main.replaceChildren(box);
  async function load() {
    const hl = await api("/health");
    if (seq !== renderSeq) return;
    const sum = (k) => hl.sagasPerMinute.reduce((a, m) => a + m[k], 0);
    box.replaceChildren(
      h("div.grid", {},
        h("section", {}, h("h2", {}, `Sagas, last ${hl.windowMinutes} minutes`),
          h("div.counts", {}, ["started", "completed", "compensated", "failed"].map((k) => h("span.count", { dataset: { metric: k } }, h("b", {}, sum(k)), k)),
            h("span.count", { id: "p95" }, h("b", {}, hl.p95SagaSeconds === null ? "—" : hl.p95SagaSeconds.toFixed(2) + " s"), "p95 saga time")),
          chart(hl.sagasPerMinute),
          hl.metricsRead ? null : h("p.muted", {}, "order-service's metrics did not answer now")),
        h("section", {}, h("h2", {}, "Services"),
          table(["service", "ready", "checks"], hl.services.map((s) => h("tr", { dataset: { app: s.appId } }, h("td", {}, s.appId), h("td", {}, badge(s.ready ? "ok" : "down")),
            h("td", {}, Object.entries(s.checks).map(([k, v]) => h("div", {}, `${k}: ${v}`))))), { id: "services" }),
          h("h3", {}, "Payment circuit breaker (order-service → payment-service)"),
          h("p", { id: "breaker" }, badge(hl.paymentCircuitBreaker)),
          h("h3", {}, "Kafka consumer lag (messages not yet consumed)"),
          hl.lagRead
            ? table(["consumer group", "topic", num("lag")], hl.consumerLag.map((l) => h("tr", { dataset: { group: l.consumerGroup, topic: l.topic } },
              h("td", {}, l.consumerGroup), h("td", {}, l.topic), h("td.num", {}, l.lag > 0 ? h("b", {}, l.lag) : "0"))), { id: "lag" })
            : h("p.muted", { id: "lag" }, "unknown: the lag exporter or Kafka did not answer"))),
      h("section", {}, h("h2", {}, "Per minute"),
        table(["minute (UTC)", num("started"), num("completed"), num("compensated"), num("failed")], hl.sagasPerMinute.slice().reverse().map((m) => h("tr", {},
          h("td.mono", {}, m.minute.slice(11, 16)), ["started", "completed", "compensated", "failed"].map((k) => h("td.num", {}, m[k])))))),
      h("p.muted", {}, `Sampled from order-service's /metrics every ${hl.sampleSeconds} s by the gateway; readiness from each app's /readyz.`));
  }
  await load();
  every(() => load().catch(failed));
}

function chart(minutes) {
  const NS = "http://www.w3.org/2000/svg";
  const W = 450, H = 120, kinds = ["completed", "compensated", "failed"];
  const max = Math.max(1, ...minutes.map((m) => kinds.reduce((a, k) => a + m[k], 0)));
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H + 14}`);
  svg.setAttribute("width", "100%");
  const bw = W / minutes.length;
  minutes.forEach((m, i) => {
    let y = H;
    for (const k of kinds) {
      const hgt = (m[k] / max) * (H - 4);
      if (!hgt) continue;
      const r = document.createElementNS(NS, "rect");
      Object.entries({ x: i * bw + 2, y: y - hgt, width: bw - 4, height: hgt, class: "bar " + k }).forEach(([a, v]) => r.setAttribute(a, v));
      const t = document.createElementNS(NS, "title"); t.textContent = `${m.minute}: ${m[k]} ${k}`; r.append(t);
      svg.append(r); y -= hgt;
    }
    if (i % 3 === 2 || i === minutes.length - 1) {
      const t = document.createElementNS(NS, "text");
      Object.entries({ x: i * bw + bw / 2, y: H + 12, "text-anchor": "middle", "font-size": 9, fill: "#667085" }).forEach(([a, v]) => t.setAttribute(a, v));
      t.textContent = m.minute.slice(11, 16); svg.append(t);
    }
  });
  return h("div", {}, svg, h("div.muted", {}, "ended per minute: ", h("span.c-completed", {}, "completed"), " · ", h("span.c-compensated", {}, "compensated"), " · ", h("span.c-failed", {}, "failed")));
}

// --- 4. act --------------------------------------------------------------------------------
async function actView(seq) {
  const out = (id) => h("div", { id });
  const stockOut = out("stock-result"), balanceOut = out("balance-result");
  const letters = h("div", { id: "dead-letters" }), stuck = h("div", { id: "stuck" });
  const field = (name, label, attrs = {}) => h("label", {}, label, h("input", { name, ...attrs }));
  const form = (id, fields, buttons, handler) => h("form.inline", { id, onsubmit: (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(e.target));
    handler(e.submitter?.value || "get", data).catch(failed);
  } }, fields, buttons);
  const stockRow = (s) => table(["product", "available", "reserved"], [h("tr", {}, h("td", {}, s.productId), h("td.num", {}, s.available), h("td.num", {}, s.reserved))]);
  main.replaceChildren(
    h("div.grid", {},
      h("section", {}, h("h2", {}, "Stock"),
        form("stock", [field("productId", "product id", { required: true }), field("available", "available (to set)", { type: "number", min: 0 })],
          [h("button", { value: "get" }, "View"), h("button.primary", { value: "set" }, "Set")],
          async (how, d) => {
            const path = `/inventory/${encodeURIComponent(d.productId)}`;
            const s = how === "set" ? await api(path, { method: "PUT", body: { available: Number(d.available) } }) : await api(path);
            stockOut.replaceChildren(stockRow(s));
            if (how === "set") notice(`stock of ${s.productId} set to ${s.available}`, true);
          }), stockOut),
      h("section", {}, h("h2", {}, "Balances"),
        form("balance", [field("customerId", "customer id", { required: true }), field("balance", "balance (to set)", { inputmode: "decimal", placeholder: "100.00" })],
          [h("button", { value: "get" }, "View"), h("button.primary", { value: "set" }, "Set")],
          async (how, d) => {
            const path = `/accounts/${encodeURIComponent(d.customerId)}`;
            const a = how === "set" ? await api(path, { method: "PUT", body: { balance: d.balance } }) : await api(path);
            balanceOut.replaceChildren(table(["customer", "balance"], [h("tr", {}, h("td", {}, a.customerId), h("td.num", {}, a.balance))]));
            if (how === "set") notice(`balance of ${a.customerId} set to ${a.balance}`, true);
          }), balanceOut)),
    h("section", {}, h("h2", {}, "Stuck orders"),
      form("stuck-form", [field("idleSeconds", "unchanged for at least (s)", { type: "number", min: 1, value: 60 })], [h("button", { value: "get" }, "Find")],
        async (_how, d) => loadStuck(Number(d.idleSeconds) || 60)), stuck),
    h("section", {}, h("h2", {}, "Dead letters"), letters));

  async function loadStuck(idle) {
    const page = await api("/stuck-orders", { query: { idleSeconds: idle } });
    if (seq !== renderSeq) return;
    stuck.replaceChildren(table(["order", "customer", "status", "saga", "last change (UTC)", ""], page.items.map((o) => h("tr", { dataset: { orderId: o.orderId } },
      h("td.mono", {}, h("a", { href: `#/order/${o.orderId}` }, o.orderId)), h("td", {}, o.customerId), h("td", {}, badge(o.status)), h("td", {}, badge(o.saga.status)),
      h("td.mono", {}, when(o.updatedAt)),
      h("td", {}, h("button.primary", { onclick: async (e) => {
        e.target.disabled = true;
        try { const r = await api(`/orders/${o.orderId}/drive`, { method: "POST" }); notice(`order ${o.orderId}: saga ${r.action}`, true); await loadStuck(idle); } catch (err) { failed(err); e.target.disabled = false; }
      } }, "Drive to an end"))))));
  }
  async function loadLetters() {
    const page = await api("/dead-letters", { query: { limit: 50 } });
    if (seq !== renderSeq) return;
    letters.replaceChildren(table(["id", "received (UTC)", "topic", "from", "reason", "payload", ""], page.items.map((l) => h("tr", { dataset: { letterId: l.id } },
      h("td.num", {}, l.id), h("td.mono", {}, when(l.receivedAt)), h("td", {}, l.topic ?? "—"), h("td", {}, l.sourceApp ?? "—"), h("td", {}, l.reason ?? ""),
      h("td", {}, h("pre", {}, l.payload.length > 400 ? l.payload.slice(0, 400) + "…" : l.payload)),
      h("td", {}, l.redrivenAt ? h("span.muted.redriven", {}, "redriven " + when(l.redrivenAt)) : h("button.primary", { onclick: async (e) => {
        e.target.disabled = true;
        try { await api(`/dead-letters/${l.id}/redrive`, { method: "POST" }); notice(`dead letter ${l.id} redriven to ${l.topic}`, true); await loadLetters(); } catch (err) { failed(err); e.target.disabled = false; }
      } }, "Redrive"))))));
  }
  await Promise.all([loadStuck(60), loadLetters()]);
  every(() => loadLetters().catch(failed));
}

route();
