// {{name}}: a Caliper micro metric. It fails answers longer than `max_words`
// words and skips empty ones; edit `evaluate` to check what your team cares about.

import { ConfigError, Outcome, defineMetric } from '@caliper/sdk';

export default defineMetric({
  name: '{{name}}',
  version: '0.1.0',
  description: 'Answers stay within a word budget',
  owner: 'your-team',
  goal: 'Say which business goal this metric protects',
  unit: 'words',
  higherIsBetter: false,
  configSchema: {
    type: 'object',
    properties: { max_words: { type: 'integer', minimum: 1 } },
    additionalProperties: false,
  },

  // Runs once, when the metric is loaded: check the config, return the state
  // `evaluate` gets. A ConfigError stops the load with its message.
  configure(config) {
    const unknown = Object.keys(config).filter((k) => k !== 'max_words');
    if (unknown.length) throw new ConfigError(`unknown config keys: ${unknown.join(', ')}`);
    const maxWords = config.max_words ?? 100;
    if (!Number.isInteger(maxWords) || maxWords < 1) {
      throw new ConfigError('max_words must be an integer of at least 1');
    }
    return { maxWords };
  },

  // Scores one sample. Throw MetricError when it cannot be scored.
  evaluate(sample, { maxWords }) {
    const words = sample.output.match(/\S+/g)?.length ?? 0;
    if (words === 0) return Outcome.skip('empty output');
    return Outcome.check(words <= maxWords, words, `${words} words (max ${maxWords})`);
  },
});
