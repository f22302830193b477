// One order per iteration through the public API: POST /orders, then (unless its answer already
// shows it) GET /orders/{id} until the order reaches an end state. Run by `make bench`
// (loadtests/bench), which provisions stock, balances and one customer token per VU first
// (loadtests/bench/provision.py) and passes them in the file named by BENCH_CONFIG. Loopback
// only; every scenario is bounded in time.
//
//   SCENARIO=burst     ORDERS orders from VUS VUs, as fast as they go (shared-iterations)
//   SCENARIO=constant  RATE orders/s for DURATION s (constant-arrival-rate)
//   SCENARIO=ramp      START_RATE, +STEP_RATE every STEP_SECONDS up to MAX_RATE; stops itself once
//                      an order takes longer than ABORT_MS (past saturation)
//   SCENARIO=overload  RATE orders/s for DURATION s, expecting 429/503 + Retry-After for the excess
import http from "k6/http";
import exec from "k6/execution";
import { check, sleep } from "k6";
import { Counter, Trend } from "k6/metrics";
import { SharedArray } from "k6/data";
import { scenarioOptions, thresholdsFor } from "./scenarios.js";

const config = JSON.parse(open(__ENV.BENCH_CONFIG));
const customers = new SharedArray("customers", () => config.customers);
const BASE = config.baseUrl;
if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(BASE)) {
  throw new Error(`loopback only: ${BASE}`);
}
const SCENARIO = __ENV.SCENARIO || "constant";
const ORDER_TIMEOUT_MS = Number(__ENV.ORDER_TIMEOUT_MS || 90000);
const ABORT_MS = Number(__ENV.ABORT_MS || 0);
const TARGET_P99_MS = Number(__ENV.TARGET_P99_MS || 2000);
const WAIT_SECONDS = Number(__ENV.WAIT_SECONDS !== undefined ? __ENV.WAIT_SECONDS : 5);
const TERMINAL = new Set(["CONFIRMED", "CANCELLED", "COMPENSATED", "FAILED"]);
// Waiting: the POST asks to be answered once the order has settled (`waitSeconds`), and so does
// each GET after it if it has not, so an order usually costs one request, not a POST and one GET
// per poll, and its latency is exact. WAIT_SECONDS=0 polls instead:
// every 0.25 s for the first 3 s (the latency target is 2 s, so the figure is exact to a
// quarter second where it matters), then every 0.5 s up to 10 s, then every second. At most four
// GETs per second per VU, and every VU is its own customer: far below the gateway's per-subject
// rate limit.
function pollPause(elapsedMs) {
  if (elapsedMs < 3000) return 0.25;
  return elapsedMs < 10000 ? 0.5 : 1.0;
}

const confirmLatency = new Trend("order_confirm_ms", true); // POST sent -> CONFIRMED seen
const accepted = new Counter("orders_accepted"); // 202
const confirmed = new Counter("orders_confirmed");
const otherEnd = new Counter("orders_other_end"); // CANCELLED, FAILED, ...
const shed = new Counter("orders_shed"); // 429 or 503 on POST
const timedOut = new Counter("orders_timed_out"); // accepted, no end state within ORDER_TIMEOUT_MS
const errors = new Counter("order_errors"); // anything else

export const options = {
  scenarios: { [SCENARIO]: scenarioOptions(SCENARIO, __ENV) },
  thresholds: thresholdsFor(SCENARIO, TARGET_P99_MS),
  discardResponseBodies: false,
  summaryTrendStats: ["min", "med", "avg", "p(90)", "p(95)", "p(99)", "max", "count"],
  setupTimeout: "10s",
  teardownTimeout: "10s",
};

function offeredRate() {
  // The arrival rate this iteration belongs to (a tag), for the ramp's per-step percentiles.
  if (SCENARIO !== "ramp") return __ENV.RATE || "0";
  const start = Number(__ENV.START_RATE || 2);
  const step = Number(__ENV.STEP_RATE || 2);
  const stepMs = Number(__ENV.STEP_SECONDS || 10) * 1000;
  const index = Math.floor((Date.now() - exec.scenario.startTime) / stepMs);
  return String(Math.min(start + index * step, Number(__ENV.MAX_RATE || 40)));
}

export default function () {
  const customer = customers[(exec.vu.idInTest - 1) % customers.length];
  const tags = { offered: offeredRate() };
  const headers = {
    Authorization: `Bearer ${customer.token}`,
    "Content-Type": "application/json",
  };
  const body = JSON.stringify({
    customerId: customer.id,
    items: [{ productId: config.productId, quantity: 1, unitPrice: "1.00" }],
  });
  const started = Date.now();
  const wait = WAIT_SECONDS > 0 ? `?waitSeconds=${WAIT_SECONDS}` : "";
  const post = http.post(`${BASE}/orders${wait}`, body, {
    headers,
    tags: { name: "POST /orders" },
    responseCallback: http.expectedStatuses(202, 429, 503),
  });
  if (post.status === 429 || post.status === 503) {
    shed.add(1, tags);
    check(post, { "shed with Retry-After": (r) => Boolean(r.headers["Retry-After"]) });
    return;
  }
  if (post.status !== 202) {
    errors.add(1, { ...tags, reason: `POST ${post.status}` });
    return;
  }
  accepted.add(1, tags);
  const orderId = post.json("orderId");
  if (ended(post.json("status"), started, tags)) return;
  while (Date.now() - started < ORDER_TIMEOUT_MS) {
    if (ABORT_MS > 0 && Date.now() - started > ABORT_MS) {
      exec.test.abort(`saturated: an order still open after ${ABORT_MS} ms at ${tags.offered}/s`);
    }
    if (WAIT_SECONDS <= 0) sleep(pollPause(Date.now() - started));
    const got = http.get(`${BASE}/orders/${orderId}${wait}`, {
      headers,
      tags: { name: "GET /orders/{id}" },
    });
    if (got.status !== 200) {
      errors.add(1, { ...tags, reason: `GET ${got.status}` });
      continue;
    }
    if (ended(got.json("status"), started, tags)) return;
  }
  timedOut.add(1, tags);
}

// Counts an order that has reached an end state (true); false if it has not yet.
function ended(status, started, tags) {
  if (!TERMINAL.has(status)) return false;
  if (status === "CONFIRMED") {
    confirmed.add(1, tags);
    confirmLatency.add(Date.now() - started, tags);
  } else {
    otherEnd.add(1, { ...tags, status });
  }
  return true;
}
