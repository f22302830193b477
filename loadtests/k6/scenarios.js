// Executors and thresholds of the four scenarios of orders.js, from environment variables.
// Every scenario is bounded: a duration or maxDuration, plus gracefulStop for the orders still
// being polled when the arrivals stop.

function num(env, name, fallback) {
  return env[name] === undefined || env[name] === "" ? fallback : Number(env[name]);
}

function rampStages(env) {
  const start = num(env, "START_RATE", 2);
  const step = num(env, "STEP_RATE", 2);
  const max = num(env, "MAX_RATE", 40);
  const hold = `${num(env, "STEP_SECONDS", 10)}s`;
  const stages = [];
  for (let rate = start; rate <= max; rate += step) {
    stages.push({ target: rate, duration: "0s" }, { target: rate, duration: hold });
  }
  return stages;
}

export function scenarioOptions(name, env) {
  const drain = `${num(env, "DRAIN_SECONDS", 90)}s`;
  const maxVUs = num(env, "MAX_VUS", 300);
  switch (name) {
    case "burst":
      return {
        executor: "shared-iterations",
        vus: num(env, "VUS", 20),
        iterations: num(env, "ORDERS", 200),
        maxDuration: `${num(env, "MAX_SECONDS", 300)}s`,
        gracefulStop: drain,
      };
    case "constant":
    case "overload":
      return {
        executor: "constant-arrival-rate",
        rate: num(env, "RATE", 15),
        timeUnit: "1s",
        duration: `${num(env, "DURATION", name === "overload" ? 30 : 60)}s`,
        preAllocatedVUs: Math.min(maxVUs, num(env, "PREALLOCATED_VUS", 50)),
        maxVUs,
        gracefulStop: drain,
      };
    case "ramp":
      return {
        executor: "ramping-arrival-rate",
        startRate: num(env, "START_RATE", 2),
        timeUnit: "1s",
        stages: rampStages(env),
        preAllocatedVUs: Math.min(maxVUs, 50),
        maxVUs,
        gracefulStop: drain,
      };
    default:
      throw new Error(`unknown SCENARIO ${name}: burst, constant, ramp or overload`);
  }
}

export function thresholdsFor(name, targetP99Ms) {
  const clean = {
    order_errors: ["count==0"],
    orders_timed_out: ["count==0"],
  };
  switch (name) {
    case "burst":
      return { ...clean, orders_other_end: ["count==0"] };
    case "constant":
      return {
        ...clean,
        orders_other_end: ["count==0"],
        orders_shed: ["count==0"],
        dropped_iterations: ["count==0"],
        order_confirm_ms: [`p(99)<${targetP99Ms}`],
      };
    case "ramp":
      return {}; // it runs past saturation on purpose; the bench reads the per-step figures
    case "overload":
      return {
        ...clean,
        orders_other_end: ["count==0"],
        orders_shed: ["count>0"], // the excess is refused, not queued
        checks: ["rate==1"], // every refusal carries Retry-After
        order_confirm_ms: [`p(99)<${targetP99Ms}`], // what was accepted still meets its latency
      };
    default:
      return {};
  }
}
