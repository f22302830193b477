// The published contracts, checked from outside Python: every message captured from a real stack
// run (tests/contracts/stack/test_messages.py writes .run/contracts/captured/<topic>--<producer>.json)
// validates against contracts/schemas (the CloudEvents envelope, then its `data` against the
// newest version of its topic's schema, contracts/schemas/<topic>/v<N>.json), and
// contracts/asyncapi.yaml is a valid AsyncAPI 3.0 document.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import Ajv from "ajv";
import Ajv2020, { ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import specs from "@asyncapi/specs";
import { parse } from "yaml";

const root = resolve(__dirname, "../../../..");
const contracts = join(root, "contracts");
const capturedDir = process.env.CAPTURED_DIR ?? join(root, ".run/contracts/captured");

type Json = Record<string, unknown>;
const readJson = (path: string): Json => JSON.parse(readFileSync(path, "utf8"));

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv); // "date-time" (order-confirmed v2's confirmedAt) is checked, not ignored
const schema = (name: string): ValidateFunction =>
  ajv.getSchema(`${name}.json`) ??
  (ajv.addSchema(readJson(join(contracts, "schemas", `${name}.json`)), `${name}.json`),
  ajv.getSchema(`${name}.json`)!);

/** contracts/schemas/<topic>/v<N>.json with the highest N: what the producers write now. */
function newest(topic: string): string {
  const numbers = readdirSync(join(contracts, "schemas", topic))
    .map((f) => /^v([1-9][0-9]*)\.json$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  assert.ok(numbers.length > 0, `no schema version for ${topic}`);
  return `${topic}/v${Math.max(...numbers)}`;
}

function problems(validate: ValidateFunction, value: unknown): string[] {
  return validate(value)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
}

/** What is wrong with a captured CloudEvent: its envelope, then its data against the topic. */
function check(event: Json): string[] {
  const envelope = problems(schema("cloudevent"), event).map((p) => `envelope ${p}`);
  const data = problems(schema(newest(String(event.topic))), event.data).map((p) => `data ${p}`);
  return [...envelope, ...data];
}

const asyncapi = parse(readFileSync(join(contracts, "asyncapi.yaml"), "utf8"));
const topics = Object.keys(asyncapi.channels).sort();

test("asyncapi.yaml is a valid AsyncAPI 3.0 document", () => {
  // The AsyncAPI 3.0.0 JSON Schema shipped in @asyncapi/specs (draft 07).
  const meta = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  // The variant without $ids: the one with them embeds draft 07 twice, which ajv refuses.
  const validate = meta.compile(specs.schemasWithoutId["3.0.0"] as Json);
  assert.deepEqual(problems(validate, asyncapi), []);
});

test("a message of every topic was captured, from every producer", () => {
  const files = readdirSync(capturedDir).filter((f) => f.endsWith(".json"));
  const captured = new Set(files.map((f) => f.split("--")[0]));
  assert.deepEqual([...captured].sort(), topics);
  for (const topic of topics) {
    const producers = String(asyncapi.channels[topic].description).split(";")[0];
    for (const producer of producers.replace("producers: ", "").split(", ")) {
      assert.ok(files.includes(`${topic}--${producer}.json`), `nothing from ${producer} on ${topic}`);
    }
  }
});

for (const file of readdirSync(capturedDir).filter((f) => f.endsWith(".json")).sort()) {
  test(`captured ${file} matches the published schemas`, () => {
    assert.deepEqual(check(readJson(join(capturedDir, file))), []);
  });
}

test("a message with a renamed field fails (the check can fail)", () => {
  const file = readdirSync(capturedDir).find((f) => f.startsWith("order-confirmed--"));
  assert.ok(file, "no order-confirmed message captured");
  const event = readJson(join(capturedDir, file));
  const { customerId, ...rest } = event.data as Json;
  const renamed = { ...event, data: { ...rest, customer: customerId } };
  assert.deepEqual(check(renamed), [
    "data / must have required property 'customerId'",
    "data / must NOT have additional properties",
  ]);
});
