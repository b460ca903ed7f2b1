// markdown-format: fails answers whose Markdown would render broken.
//
// Checks, each switchable in the config:
// - `fences` (default true): every ``` or ~~~ code fence is closed;
// - `headings` (default true): headings never skip a level going down
//   (`#` then `###`); the first heading may have any level;
// - `max_list_depth` (default 3): lists nest at most this deep.
// Lines inside code fences are not checked. The value is the number of
// problems found; the `problems` label lists their kinds. Empty answers are
// skipped.

import { ConfigError, Outcome, defineMetric } from '@caliper/sdk';

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]|$)/;
const LIST_ITEM = /^([ \t]*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)/;

/** Indentation width, a tab counting as 4 columns. */
function indentWidth(ws) {
  let width = 0;
  for (const ch of ws) width += ch === '\t' ? 4 - (width % 4) : 1;
  return width;
}

/** Every problem in `text` as { kind, line, detail }. */
export function problems(text, { fences, headings, maxListDepth }) {
  const found = [];
  let fence = null; // the open fence: { char, length, line }
  let lastHeading = 0;
  let listIndents = []; // indentation of each open list level
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    const n = i + 1;
    const f = FENCE.exec(line);
    if (fence) {
      if (f && f[1][0] === fence.char && f[1].length >= fence.length && f[2].trim() === '') fence = null;
      return;
    }
    if (f && !(f[1][0] === '`' && f[2].includes('`'))) {
      fence = { char: f[1][0], length: f[1].length, line: n };
      return;
    }
    const h = HEADING.exec(line);
    if (h) {
      const level = h[1].length;
      if (headings && lastHeading && level > lastHeading + 1) {
        found.push({ kind: 'heading-skip', line: n, detail: `heading jumps from h${lastHeading} to h${level}` });
      }
      lastHeading = level;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      const indent = indentWidth(item[1]);
      while (listIndents.length && listIndents[listIndents.length - 1] > indent) listIndents.pop();
      if (!listIndents.length || listIndents[listIndents.length - 1] < indent) listIndents.push(indent);
      if (maxListDepth && listIndents.length === maxListDepth + 1) {
        found.push({ kind: 'list-depth', line: n, detail: `list nested ${listIndents.length} deep (max ${maxListDepth})` });
      }
    } else if (line.trim() !== '' && !/^[ \t]/.test(line)) {
      listIndents = []; // a paragraph at the margin ends every list
    }
  });
  if (fences && fence) {
    found.push({ kind: 'unclosed-fence', line: fence.line, detail: 'code fence never closed' });
  }
  return found;
}

function flag(config, key) {
  const v = config[key] ?? true;
  if (typeof v !== 'boolean') throw new ConfigError(`\`${key}\` must be true or false`);
  return v;
}

export default defineMetric({
  name: 'markdown-format',
  version: '0.1.0',
  description: 'Answers use well-formed Markdown: closed code fences, no skipped heading levels, shallow lists',
  owner: 'chat-ux',
  goal: 'Answers render cleanly in the chat widget',
  tags: ['format', 'markdown', 'js'],
  unit: 'problems',
  higherIsBetter: false,
  configSchema: {
    type: 'object',
    properties: {
      fences: { type: 'boolean', default: true },
      headings: { type: 'boolean', default: true },
      max_list_depth: { type: 'integer', minimum: 1, default: 3 },
    },
    additionalProperties: false,
  },

  configure(config) {
    const unknown = Object.keys(config).filter((k) => !['fences', 'headings', 'max_list_depth'].includes(k));
    if (unknown.length) throw new ConfigError(`unknown config key: ${unknown[0]}`);
    const maxListDepth = config.max_list_depth ?? 3;
    if (!Number.isInteger(maxListDepth) || maxListDepth < 1) {
      throw new ConfigError('`max_list_depth` must be an integer of at least 1');
    }
    return { fences: flag(config, 'fences'), headings: flag(config, 'headings'), maxListDepth };
  },

  evaluate(sample, options) {
    if (sample.output.trim() === '') return Outcome.skip('empty output');
    const found = problems(sample.output, options);
    if (!found.length) return Outcome.pass(0);
    const kinds = [...new Set(found.map((p) => p.kind))].join(',');
    const first = found[0];
    const more = found.length > 1 ? ` (and ${found.length - 1} more)` : '';
    return Outcome.fail(found.length, `line ${first.line}: ${first.detail}${more}`).withLabel('problems', kinds);
  },
});
