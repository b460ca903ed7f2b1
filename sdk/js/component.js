// The glue between a metric made with `defineMetric` and the component
// bindings componentize-js generates from wit/metric.wit. `build.mjs` bundles
// the metric module with an entry that does
//
//   import { log } from 'caliper:metric/host@0.1.0';
//   import metric from './metric.js';
//   export const metric = exportMetric(metric, log);
//
// Conventions of componentize-js relied on here: records are objects with
// camelCase fields, variants are `{ tag, val }`, options are the value or
// `undefined`, tuples are arrays, a `result` inside a list is
// `{ tag: 'ok' | 'err', val }`, and throwing from an export that returns
// `result<_, E>` returns `err` with the thrown value as E. A thrown value that
// does not lower as E traps the instance, so every export here catches all
// and throws a well-formed `{ message }` only.
//
// The module imports nothing from the component world, so Node can test it.

import { ConfigError, Message, Metric, MetricError, Sample } from './index.js';
import { setLogSink } from './log.js';

/**
 * A WIT `meta-value` as a plain JS value (`json` is parsed).
 * @param {{ tag: string, val?: unknown }} v
 */
function metaValue(v) {
  switch (v.tag) {
    case 'null':
      return null;
    case 'json':
      return JSON.parse(/** @type {string} */ (v.val));
    default:
      return v.val;
  }
}

/**
 * A WIT `sample` as a Sample.
 * @param {any} s
 * @returns {Sample}
 */
export function fromWitSample(s) {
  const sample = new Sample();
  sample.id = s.id;
  sample.input = s.input;
  sample.output = s.output;
  sample.messages = s.messages.map((/** @type {any} */ m) => new Message(m.role, m.content));
  sample.context = s.context;
  sample.expected = s.expected ?? undefined;
  sample.metadata = Object.fromEntries(s.metadata.map((/** @type {[string, any]} */ [k, v]) => [k, metaValue(v)]));
  return sample;
}

/**
 * An Outcome (already checked by the Evaluator) as a WIT `outcome`.
 * @param {import('./index.js').Outcome} o
 */
function toWitOutcome(o) {
  return {
    verdict: o.verdict,
    value: o.value ?? undefined,
    reason: o.reason ?? undefined,
    labels: Object.entries(o.labels).map(([k, v]) => [k, String(v)]),
  };
}

/**
 * The message of a thrown value: a MetricError's (or ConfigError's) own
 * message; `Name: message` for any other Error; a description otherwise.
 * Never throws.
 * @param {unknown} e
 * @returns {string}
 */
export function errorMessage(e) {
  try {
    if (e instanceof MetricError || e instanceof ConfigError) return String(e.message);
    if (e instanceof Error) return `${e.name}: ${e.message}`;
    if (typeof e === 'string') return `thrown: ${e}`;
    return `thrown: ${JSON.stringify(e) ?? String(e)}`;
  } catch {
    return 'thrown: a value that cannot be shown';
  }
}

/**
 * Runs `f` and returns `{ tag: 'ok', val }` or `{ tag: 'err', val: { message } }`.
 * @template T @param {() => T} f
 */
function attempt(f) {
  try {
    return { tag: /** @type {const} */ ('ok'), val: f() };
  } catch (e) {
    return { tag: /** @type {const} */ ('err'), val: { message: errorMessage(e) } };
  }
}

/**
 * The object componentize-js exports as the `metric` interface for `metric`.
 * @param {unknown} metric the metric module's default export
 * @param {(level: string, message: string) => void} [hostLog] the host's `log` import
 */
export function exportMetric(metric, hostLog) {
  if (!(metric instanceof Metric)) {
    throw new TypeError(
      'the metric module must `export default defineMetric({...})` (from @caliper/sdk); ' +
        `its default export is ${metric === undefined ? 'missing' : typeof metric}`,
    );
  }
  if (hostLog) setLogSink(hostLog);
  const d = metric.descriptor;
  const descriptor = {
    name: d.name,
    version: d.version,
    description: d.description,
    owner: d.owner,
    goal: d.goal,
    tags: [...d.tags],
    value: { unit: d.unit, higherIsBetter: d.higherIsBetter },
    configSchema: d.configSchema,
  };

  /** The exported resource: one configured metric. */
  class Evaluator {
    /** @param {import('./index.js').Evaluator<unknown>} inner */
    constructor(inner) {
      this.inner = inner;
    }

    /** @param {any} sample */
    evaluate(sample) {
      const r = attempt(() => toWitOutcome(this.inner.evaluate(fromWitSample(sample))));
      if (r.tag === 'err') throw r.val;
      return r.val;
    }

    /** @param {any[]} samples */
    evaluateBatch(samples) {
      if (this.inner.definition.evaluateBatch) {
        const all = attempt(() => this.inner.evaluateBatch(samples.map(fromWitSample)).map(toWitOutcome));
        if (all.tag === 'ok') return all.val.map((val) => ({ tag: 'ok', val }));
        // One bad sample must not fail the others: score them one by one.
      }
      return samples.map((s) => attempt(() => toWitOutcome(this.inner.evaluate(fromWitSample(s)))));
    }
  }

  return {
    Evaluator,
    describe() {
      return descriptor;
    },
    /** @param {string} config */
    configure(config) {
      const r = attempt(() => new Evaluator(metric.configure(config)));
      if (r.tag === 'err') throw r.val;
      return r.val;
    },
  };
}
