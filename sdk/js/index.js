// Caliper SDK for JavaScript: write a micro metric as a plain object.
//
//   import { defineMetric, Outcome, ConfigError } from '@caliper/sdk';
//
//   export default defineMetric({
//     name: 'max-words',
//     unit: 'words',
//     higherIsBetter: false,
//     configure(config) {            // runs once, at load time
//       const max = config.max ?? 120;
//       if (!Number.isInteger(max) || max < 1) throw new ConfigError('`max` must be a positive integer');
//       return { max };                // the state evaluate() receives
//     },
//     evaluate(sample, { max }) {
//       const n = sample.output.match(/\S+/g)?.length ?? 0;
//       return Outcome.check(n <= max, n, `${n} words (max ${max})`);
//     },
//   });
//
// This module is plain JavaScript: Node imports it for unit tests, and
// `caliper-js-build metric.js -o metric.wasm` builds the component (see
// component.js for the mapping onto the WIT contract). The names match the
// other SDKs: Metric, Sample, Message, Outcome (pass / fail / skip / check),
// ConfigError, MetricError.

export { log } from './log.js';

/** The configuration cannot be used; reported when the metric is loaded. */
export class ConfigError extends Error {
  /** @param {string} message @param {ErrorOptions} [options] */
  constructor(message, options) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** The metric could not score a sample: the `error` outcome, with this message. */
export class MetricError extends Error {
  /** @param {string} message @param {ErrorOptions} [options] */
  constructor(message, options) {
    super(message, options);
    this.name = 'MetricError';
  }
}

/** One turn of the conversation before the output. */
export class Message {
  /** @param {string} role @param {string} content */
  constructor(role, content) {
    /** `system`, `user`, `assistant`, `tool`, ... */
    this.role = role;
    this.content = content;
  }
}

/** One recorded LLM interaction: the unit every metric scores. */
export class Sample {
  /**
   * Every field is optional (handy in unit tests): `new Sample({ output: 'Hi' })`.
   * @param {import('./index.js').SampleInit} [init]
   */
  constructor(init = {}) {
    /** Stable identifier, unique within a dataset. */
    this.id = init.id ?? '';
    /** The user input that produced `output`. */
    this.input = init.input ?? '';
    /** The model output being scored. */
    this.output = init.output ?? '';
    /** @type {Message[]} The conversation before `output`, oldest first. */
    this.messages = (init.messages ?? []).map((m) => (m instanceof Message ? m : new Message(m.role, m.content)));
    /** @type {string[]} Retrieved context passages, in ranking order. */
    this.context = [...(init.context ?? [])];
    /** @type {string | undefined} The reference answer; `undefined` when the dataset has none. */
    this.expected = init.expected ?? undefined;
    /** @type {Record<string, import('./index.js').JsonValue>} Free-form metadata (objects and arrays parsed). */
    this.metadata = { ...(init.metadata ?? {}) };
  }

  /** The content of the last `user` message, else `input`. */
  lastUserText() {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      if (this.messages[i].role === 'user') return this.messages[i].content;
    }
    return this.input;
  }
}

const VERDICTS = new Set(['pass', 'fail', 'skip']);

/** What a metric says about a sample. */
export class Outcome {
  /**
   * Prefer the helpers: `Outcome.pass`, `Outcome.fail`, `Outcome.skip`, `Outcome.check`.
   * @param {'pass' | 'fail' | 'skip'} verdict
   * @param {number | null} [value] a finite number (NaN and infinities make the host record `invalid`)
   * @param {string | null} [reason] a short human-readable explanation
   */
  constructor(verdict, value = null, reason = null) {
    if (!VERDICTS.has(verdict)) {
      throw new TypeError(`unknown verdict ${JSON.stringify(verdict)} (use pass, fail or skip)`);
    }
    this.verdict = verdict;
    this.value = value ?? null;
    this.reason = reason ?? null;
    /** @type {Record<string, string>} */
    this.labels = {};
  }

  /** The sample meets the metric's expectation. @param {number | null} [value] @param {string | null} [reason] */
  static pass(value, reason) {
    return new Outcome('pass', value, reason);
  }

  /** The sample violates it. @param {number | null} [value] @param {string | null} [reason] */
  static fail(value, reason) {
    return new Outcome('fail', value, reason);
  }

  /** The metric does not apply to this sample (left out of every rate). @param {string | null} [reason] */
  static skip(reason) {
    return new Outcome('skip', null, reason);
  }

  /**
   * Pass when `ok`, else fail; the value and reason are kept either way.
   * @param {boolean} ok @param {number | null} [value] @param {string | null} [reason]
   */
  static check(ok, value, reason) {
    return new Outcome(ok ? 'pass' : 'fail', value, reason);
  }

  /**
   * Adds (or replaces) a label and returns this outcome, for chaining:
   * `Outcome.fail(2).withLabel('kinds', 'email,phone')`.
   * @param {string} key @param {string | number | boolean} value
   */
  withLabel(key, value) {
    this.labels[String(key)] = String(value);
    return this;
  }
}

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const FIELDS = new Set([
  'name', 'version', 'description', 'owner', 'goal', 'tags', 'unit', 'higherIsBetter', 'configSchema',
  'configure', 'evaluate', 'evaluateBatch',
]);

/** @param {string} field @param {unknown} v */
function text(field, v, fallback = '') {
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new TypeError(`defineMetric: \`${field}\` must be a string`);
  return v;
}

/**
 * Parses and checks a configuration: a JSON object, as text or already parsed.
 * @param {string | Record<string, unknown>} config
 * @returns {Record<string, import('./index.js').JsonValue>}
 */
export function parseConfig(config) {
  let parsed = config;
  if (typeof config === 'string') {
    try {
      parsed = JSON.parse(config);
    } catch (e) {
      throw new ConfigError(`the config is not valid JSON: ${/** @type {Error} */ (e).message}`);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('the config must be a JSON object');
  }
  return /** @type {Record<string, import('./index.js').JsonValue>} */ (parsed);
}

/**
 * Checks what `evaluate` returned and makes it an Outcome.
 * @param {unknown} o
 * @param {string} what who returned it, for the message
 * @returns {Outcome}
 */
export function checkOutcome(o, what = 'evaluate') {
  if (o instanceof Outcome) return o;
  if (o !== null && typeof o === 'object' && typeof (/** @type {any} */ (o).then) === 'function') {
    throw new MetricError(`${what} returned a Promise: metrics are synchronous`);
  }
  if (o === null || typeof o !== 'object' || !VERDICTS.has(/** @type {any} */ (o).verdict)) {
    throw new MetricError(`${what} returned ${describeValue(o)}, not an Outcome (use Outcome.pass/fail/skip/check)`);
  }
  const { verdict, value = null, reason = null, labels = {} } = /** @type {any} */ (o);
  const out = new Outcome(verdict, value, reason);
  for (const [k, v] of Object.entries(labels ?? {})) out.withLabel(k, v);
  return out;
}

/** @param {unknown} v */
function describeValue(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** @param {Outcome} o */
function checkFields(o) {
  if (!VERDICTS.has(o.verdict)) {
    throw new MetricError(`unknown verdict ${JSON.stringify(o.verdict)} (use pass, fail or skip)`);
  }
  if (o.value !== null && typeof o.value !== 'number') {
    throw new MetricError(`the outcome's value is ${describeValue(o.value)}, not a number`);
  }
  if (o.reason !== null && typeof o.reason !== 'string') {
    throw new MetricError(`the outcome's reason is ${describeValue(o.reason)}, not a string`);
  }
  if (o.labels === null || typeof o.labels !== 'object' || Array.isArray(o.labels)) {
    throw new MetricError(`the outcome's labels are ${describeValue(o.labels)}, not an object of strings`);
  }
  return o;
}

/**
 * A metric configured and ready to score samples (what `metric.configure(config)` returns).
 * @template State
 */
export class Evaluator {
  /** @param {import('./index.js').MetricDefinition<State>} def @param {State} state */
  constructor(def, state) {
    this.definition = def;
    /** What the definition's `configure` returned. */
    this.state = state;
  }

  /**
   * Scores one sample (a Sample or a plain object with some of its fields).
   * Throws what the definition throws; the component turns that into an `error` outcome.
   * @param {Sample | import('./index.js').SampleInit} sample
   * @returns {Outcome}
   */
  evaluate(sample) {
    const s = sample instanceof Sample ? sample : new Sample(sample);
    return checkFields(checkOutcome(this.definition.evaluate(s, this.state)));
  }

  /**
   * Scores several samples: the definition's `evaluateBatch` when it has one (it must
   * return one outcome per sample), else `evaluate` on each.
   * @param {Array<Sample | import('./index.js').SampleInit>} samples
   * @returns {Outcome[]}
   */
  evaluateBatch(samples) {
    const list = samples.map((s) => (s instanceof Sample ? s : new Sample(s)));
    if (!this.definition.evaluateBatch) return list.map((s) => this.evaluate(s));
    const outcomes = this.definition.evaluateBatch(list, this.state);
    if (!Array.isArray(outcomes) || outcomes.length !== list.length) {
      throw new MetricError(`evaluateBatch must return one outcome per sample (${list.length})`);
    }
    return outcomes.map((o) => checkFields(checkOutcome(o, 'evaluateBatch')));
  }
}

/**
 * A metric: its self-description plus `configure`. Made by `defineMetric`.
 * @template State
 */
export class Metric {
  /** @param {import('./index.js').MetricDefinition<State>} def */
  constructor(def) {
    if (def === null || typeof def !== 'object') throw new TypeError('defineMetric takes an object');
    for (const key of Object.keys(def)) {
      if (!FIELDS.has(key)) {
        throw new TypeError(`defineMetric: unknown field \`${key}\` (fields: ${[...FIELDS].join(', ')})`);
      }
    }
    const name = text('name', def.name, '');
    if (!KEBAB.test(name)) {
      throw new TypeError(`defineMetric: \`name\` must be kebab-case, e.g. \`refund-policy\` (got ${JSON.stringify(name)})`);
    }
    if (typeof def.evaluate !== 'function') throw new TypeError('defineMetric: `evaluate(sample, state)` is required');
    for (const fn of ['configure', 'evaluateBatch']) {
      if (def[fn] !== undefined && typeof def[fn] !== 'function') {
        throw new TypeError(`defineMetric: \`${fn}\` must be a function`);
      }
    }
    const tags = def.tags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
      throw new TypeError('defineMetric: `tags` must be an array of strings');
    }
    if (def.higherIsBetter !== undefined && typeof def.higherIsBetter !== 'boolean') {
      throw new TypeError('defineMetric: `higherIsBetter` must be a boolean');
    }
    const schema = def.configSchema ?? { type: 'object' };
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
      throw new TypeError('defineMetric: `configSchema` must be a JSON Schema object');
    }
    /** The self-description the host shows (`caliper inspect`). */
    this.descriptor = Object.freeze({
      name,
      version: text('version', def.version, '0.1.0'),
      description: text('description', def.description),
      owner: text('owner', def.owner),
      goal: text('goal', def.goal),
      tags: Object.freeze([...tags]),
      unit: text('unit', def.unit),
      higherIsBetter: def.higherIsBetter ?? true,
      configSchema: JSON.stringify(schema),
    });
    this.definition = def;
    Object.freeze(this);
  }

  /**
   * Checks a configuration (JSON text or an object; `{}` gives the defaults) and
   * returns an Evaluator. Throws ConfigError (or whatever `configure` throws) when refused.
   * @param {string | Record<string, unknown>} [config]
   * @returns {Evaluator<State>}
   */
  configure(config = {}) {
    const parsed = parseConfig(config);
    const state = this.definition.configure ? this.definition.configure(parsed) : parsed;
    return new Evaluator(this.definition, /** @type {State} */ (state));
  }
}

/**
 * Defines a metric. Make it the module's default export: `export default defineMetric({...})`.
 * @template State
 * @param {import('./index.js').MetricDefinition<State>} definition
 * @returns {Metric<State>}
 */
export function defineMetric(definition) {
  return new Metric(definition);
}
