// Unit tests of the SDK in plain Node: `node --test sdk/js/test/`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError, MetricError, Outcome, Sample, defineMetric } from '../index.js';
import { errorMessage, exportMetric, fromWitSample } from '../component.js';

const wordCount = defineMetric({
  name: 'word-count',
  version: '1.2.0',
  owner: 'qa',
  tags: ['demo'],
  unit: 'words',
  higherIsBetter: false,
  configSchema: { type: 'object', properties: { max: { type: 'integer' } } },
  configure(config) {
    const max = config.max ?? 3;
    if (!Number.isInteger(max)) throw new ConfigError('`max` must be an integer');
    return { max };
  },
  evaluate(sample, { max }) {
    if (sample.output === 'BAD') throw new MetricError('cannot score');
    if (sample.output === 'BOOM') throw new RangeError('out of range');
    if (sample.output === 'STR') throw 'plain string';
    if (sample.output === 'NOPE') return 'pass';
    const n = sample.output.split(' ').filter(Boolean).length;
    return Outcome.check(n <= max, n, `${n} words`).withLabel('lang', sample.metadata.lang ?? '?');
  },
});

/** A WIT sample as componentize-js hands it over. */
function witSample(output, metadata = []) {
  return { id: 's', input: 'q', output, messages: [], context: [], expected: undefined, metadata };
}

describe('Outcome', () => {
  it('has the four helpers and chains labels', () => {
    assert.deepEqual({ ...Outcome.pass(1) }, { verdict: 'pass', value: 1, reason: null, labels: {} });
    assert.equal(Outcome.fail(2, 'why').reason, 'why');
    assert.equal(Outcome.skip('n/a').value, null);
    assert.equal(Outcome.check(false, 3).verdict, 'fail');
    assert.deepEqual(Outcome.pass().withLabel('a', 1).withLabel('b', true).labels, { a: '1', b: 'true' });
    assert.throws(() => new Outcome('maybe'), TypeError);
  });
});

describe('defineMetric', () => {
  it('describes the metric with defaults', () => {
    const d = defineMetric({ name: 'x', evaluate: () => Outcome.pass() }).descriptor;
    assert.equal(d.version, '0.1.0');
    assert.equal(d.higherIsBetter, true);
    assert.equal(d.configSchema, '{"type":"object"}');
  });

  it('refuses a bad definition at once', () => {
    const evaluate = () => Outcome.pass();
    assert.throws(() => defineMetric({ name: 'Bad_Name', evaluate }), /kebab-case/);
    assert.throws(() => defineMetric({ name: 'x' }), /evaluate/);
    assert.throws(() => defineMetric({ name: 'x', evaluate, higher_is_better: false }), /unknown field `higher_is_better`/);
    assert.throws(() => defineMetric({ name: 'x', evaluate, tags: 'a' }), /tags/);
  });
});

describe('Evaluator (plain JS)', () => {
  it('configures from an object or JSON text and scores plain objects', () => {
    assert.equal(wordCount.configure({ max: 1 }).evaluate({ output: 'a b' }).verdict, 'fail');
    assert.equal(wordCount.configure('{"max": 5}').evaluate(new Sample({ output: 'a b' })).value, 2);
    assert.equal(wordCount.configure().state.max, 3);
  });

  it('refuses configs that are not JSON objects', () => {
    for (const bad of ['[]', 'null', '1', '{', '"x"']) assert.throws(() => wordCount.configure(bad), ConfigError, bad);
    assert.throws(() => wordCount.configure({ max: 1.5 }), /`max` must be an integer/);
  });

  it('rejects what is not an Outcome', () => {
    assert.throws(() => wordCount.configure().evaluate({ output: 'NOPE' }), /returned a string, not an Outcome/);
  });
});

describe('the component glue', () => {
  const exported = exportMetric(wordCount);

  it('describes the metric in WIT shape', () => {
    assert.deepEqual(exported.describe(), {
      name: 'word-count',
      version: '1.2.0',
      description: '',
      owner: 'qa',
      goal: '',
      tags: ['demo'],
      value: { unit: 'words', higherIsBetter: false },
      configSchema: '{"type":"object","properties":{"max":{"type":"integer"}}}',
    });
  });

  it('converts samples, metadata variants included', () => {
    const s = fromWitSample({
      ...witSample('hi'),
      messages: [{ role: 'user', content: 'q?' }],
      expected: '',
      metadata: [
        ['n', { tag: 'null' }],
        ['b', { tag: 'boolean', val: true }],
        ['x', { tag: 'number', val: 1.5 }],
        ['t', { tag: 'text', val: 'de' }],
        ['o', { tag: 'json', val: '{"a":[1,2]}' }],
        ['__proto__', { tag: 'text', val: 'kept as a key' }],
      ],
    });
    assert.ok(s instanceof Sample);
    assert.equal(s.expected, '');
    assert.equal(s.lastUserText(), 'q?');
    assert.deepEqual(Object.keys(s.metadata), ['n', 'b', 'x', 't', 'o', '__proto__']);
    assert.deepEqual(s.metadata.o, { a: [1, 2] });
    assert.equal(Object.getPrototypeOf(s.metadata), Object.prototype);
  });

  it('returns outcomes in WIT shape', () => {
    const ev = exported.configure('{}');
    assert.ok(ev instanceof exported.Evaluator);
    assert.deepEqual(ev.evaluate(witSample('a b', [['lang', { tag: 'text', val: 'en' }]])), {
      verdict: 'pass',
      value: 2,
      reason: '2 words',
      labels: [['lang', 'en']],
    });
  });

  it('throws only { message } objects, mapped from what the metric threw', () => {
    const ev = exported.configure('{}');
    const thrown = (output) => {
      try {
        ev.evaluate(witSample(output));
      } catch (e) {
        return e;
      }
      assert.fail('no throw');
    };
    assert.deepEqual(thrown('BAD'), { message: 'cannot score' });
    assert.deepEqual(thrown('BOOM'), { message: 'RangeError: out of range' });
    assert.deepEqual(thrown('STR'), { message: 'thrown: plain string' });
    assert.match(thrown('NOPE').message, /not an Outcome/);
  });

  it('maps config refusals to config errors', () => {
    const refused = (config) => {
      try {
        exported.configure(config);
      } catch (e) {
        return e;
      }
      assert.fail('no throw');
    };
    assert.deepEqual(refused('{"max": "x"}'), { message: '`max` must be an integer' });
    assert.deepEqual(refused('[]'), { message: 'the config must be a JSON object' });
  });

  it('scores a batch sample by sample, errors included', () => {
    const results = exported.configure('{"max": 1}').evaluateBatch([witSample('a'), witSample('BAD'), witSample('a b')]);
    assert.deepEqual(
      results.map((r) => [r.tag, r.val.verdict ?? r.val.message]),
      [['ok', 'pass'], ['err', 'cannot score'], ['ok', 'fail']],
    );
  });

  it('falls back to one by one when evaluateBatch fails', () => {
    const batched = defineMetric({
      name: 'batched',
      evaluate: (s) => (s.output === 'BAD' ? Outcome.fail() : Outcome.pass()),
      evaluateBatch: (samples) => {
        if (samples.length > 1) throw new Error('batch too big');
        return samples.map(() => Outcome.skip('batched'));
      },
    });
    const ev = exportMetric(batched).configure('{}');
    assert.deepEqual(ev.evaluateBatch([witSample('x')]).map((r) => r.val.verdict), ['skip']);
    assert.deepEqual(ev.evaluateBatch([witSample('x'), witSample('BAD')]).map((r) => r.val.verdict), ['pass', 'fail']);
  });

  it('refuses a module without a metric', () => {
    assert.throws(() => exportMetric(undefined), /export default defineMetric/);
  });

  it('never throws while describing an error', () => {
    assert.equal(errorMessage(Object.create(null)), 'thrown: {}');
    const hostile = { toJSON() { throw new Error('no'); } };
    assert.equal(errorMessage(hostile), 'thrown: a value that cannot be shown');
    assert.equal(errorMessage(Symbol('s')), 'thrown: Symbol(s)');
  });
});
