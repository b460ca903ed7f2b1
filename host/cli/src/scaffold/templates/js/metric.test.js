// Unit tests in plain Node: `npm test`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError } from '@caliper/sdk';
import metric from './metric.js';

test('long answers fail', () => {
  const outcome = metric.configure({ max_words: 3 }).evaluate({ output: 'one two three four' });
  assert.equal(outcome.verdict, 'fail');
  assert.equal(outcome.value, 4);
});

test('a zero budget is refused', () => {
  assert.throws(() => metric.configure({ max_words: 0 }), ConfigError);
});
