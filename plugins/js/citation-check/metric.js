// citation-check: an answer cites only retrieved passages that exist.
//
// Citations are bracketed passage numbers: `[2]`, `[1, 3]`, `[2-4]`. With the
// default `first_index: 1`, `[1]` is the first passage of `context` (use 0 for
// zero-based prompts). A citation past the last passage fails the sample;
// `require_citation: true` also fails answers that cite nothing although
// passages were retrieved. Samples with neither context nor citations are
// skipped. The value is the number of distinct citations that point nowhere.

import { ConfigError, Outcome, defineMetric } from '@caliper/sdk';

const CITATION = /\[(\d{1,6}(?:[ \t]*[-–,][ \t]*\d{1,6})*)\]/g;
const MAX_RANGE = 100;

/** The distinct passage numbers cited in `text`, in order of first mention. */
export function citations(text) {
  const cited = new Set();
  for (const [, group] of text.matchAll(CITATION)) {
    for (const part of group.split(',')) {
      const [from, to = from] = part.split(/[-–]/).map((s) => Number(s.trim()));
      if (to >= from && to - from <= MAX_RANGE) {
        for (let n = from; n <= to; n++) cited.add(n);
      } else {
        cited.add(from).add(to); // a reversed or huge range: check its ends
      }
    }
  }
  return [...cited];
}

export default defineMetric({
  name: 'citation-check',
  version: '0.1.0',
  description: 'Answers cite only retrieved context passages that exist ([n] markers)',
  owner: 'search-quality',
  goal: 'Every citation a customer clicks leads to a real source',
  tags: ['rag', 'citations', 'js'],
  unit: 'citations',
  higherIsBetter: false,
  configSchema: {
    type: 'object',
    properties: {
      first_index: { enum: [0, 1], default: 1 },
      require_citation: { type: 'boolean', default: false },
    },
    additionalProperties: false,
  },

  configure(config) {
    const unknown = Object.keys(config).filter((k) => !['first_index', 'require_citation'].includes(k));
    if (unknown.length) throw new ConfigError(`unknown config key: ${unknown[0]}`);
    const firstIndex = config.first_index ?? 1;
    if (firstIndex !== 0 && firstIndex !== 1) throw new ConfigError('`first_index` must be 0 or 1');
    const requireCitation = config.require_citation ?? false;
    if (typeof requireCitation !== 'boolean') throw new ConfigError('`require_citation` must be true or false');
    return { firstIndex, requireCitation };
  },

  evaluate(sample, { firstIndex, requireCitation }) {
    const passages = sample.context.length;
    const cited = citations(sample.output);
    if (!passages && !cited.length) return Outcome.skip('no context passages and no citations');
    const last = firstIndex + passages - 1;
    const dangling = cited.filter((n) => n < firstIndex || n > last);
    const outcome = dangling.length
      ? Outcome.fail(
          dangling.length,
          `cites ${dangling.map((n) => `[${n}]`).join(', ')} but ` +
            (passages ? `the passages are [${firstIndex}]..[${last}]` : 'no passage was retrieved'),
        ).withLabel('dangling', dangling.join(','))
      : requireCitation && !cited.length
        ? Outcome.fail(0, `cites none of the ${passages} passages`)
        : Outcome.pass(0);
    return outcome.withLabel('cited', cited.join(',') || 'none');
  },
});
