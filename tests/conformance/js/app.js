// The conformance metric of tests/conformance/SPEC.md, written with the
// JavaScript SDK. Every SDK language implements the same spec; the suite
// requires identical results.

import { ConfigError, MetricError, Outcome, defineMetric } from '@caliper/sdk';

// The engine interprets JS inside the component: loops over char codes are
// many times faster than `for...of` over characters.

/** SPEC.md's ASCII whitespace: space, \t, \n, \v, \f, \r (JS's `\s` would also match U+00A0, U+3000, ...). */
function isAsciiSpace(code) {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/** The number of maximal runs of characters that are not ASCII whitespace. */
function words(text) {
  let count = 0;
  let inside = false;
  for (let i = 0; i < text.length; i++) {
    if (isAsciiSpace(text.charCodeAt(i))) {
      inside = false;
    } else if (!inside) {
      inside = true;
      count++;
    }
  }
  return count;
}

/** The number of code points: UTF-16 code units, less the second half of each surrogate pair. */
function chars(text) {
  let count = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xdc00 && code <= 0xdfff) count--;
  }
  return count;
}

/** `A`-`Z` to `a`-`z`; every other character kept (unlike toLowerCase on the whole text). */
function asciiLower(text) {
  return text.replace(/[A-Z]+/g, (run) => run.toLowerCase());
}

function labelled(outcome, sample) {
  outcome
    .withLabel('chars', chars(sample.output))
    .withLabel('turns', sample.messages.length)
    .withLabel('context', sample.context.length)
    .withLabel('expected', sample.expected !== undefined ? 'yes' : 'no');
  if (sample.messages.length) outcome.withLabel('last_role', sample.messages[sample.messages.length - 1].role);
  const { lang, tokens, flagged } = sample.metadata;
  if (typeof lang === 'string') outcome.withLabel('lang', lang);
  if (typeof tokens === 'number') outcome.withLabel('tokens', tokens > 100 ? 'high' : 'low');
  if (typeof flagged === 'boolean') outcome.withLabel('flagged', flagged ? 'true' : 'false');
  return outcome.withLabel('meta_keys', Object.keys(sample.metadata).length);
}

export default defineMetric({
  name: 'conformance',
  version: '1.0.0',
  description: 'The cross-language conformance metric (tests/conformance/SPEC.md)',
  owner: 'caliper',
  goal: 'every SDK scores alike',
  tags: ['conformance', 'js'],
  unit: 'ratio',
  higherIsBetter: true,

  configure(config) {
    const unknown = Object.keys(config).filter((k) => k !== 'banned' && k !== 'min_words');
    if (unknown.length) throw new ConfigError(`unknown key: ${unknown.sort()[0]}`);
    const banned = config.banned ?? [];
    if (!Array.isArray(banned) || !banned.every((t) => typeof t === 'string' && t !== '')) {
      throw new ConfigError('`banned` must be a list of non-empty strings');
    }
    const minWords = config.min_words ?? 1;
    if (!Number.isInteger(minWords) || minWords < 0) {
      throw new ConfigError('`min_words` must be a non-negative integer');
    }
    return { banned: banned.map((term) => [asciiLower(term), term]), minWords };
  },

  evaluate(sample, { banned, minWords }) {
    const { output } = sample;
    if (output.includes('!error')) throw new MetricError('asked to fail');
    if (output.includes('!crash')) throw new Error('asked to crash');
    const n = words(output);
    let outcome;
    if (n === 0) {
      outcome = Outcome.skip('empty output');
    } else {
      const value = n / Math.max(words(sample.input), 1);
      const lower = asciiLower(output);
      const hit = banned.find(([low]) => lower.includes(low));
      if (hit) outcome = Outcome.fail(value, `mentions ${hit[1]}`);
      else if (n < minWords) outcome = Outcome.fail(value, `too short: ${n} < ${minWords}`);
      else outcome = Outcome.pass(value);
    }
    return labelled(outcome, sample);
  },
});
