#!/usr/bin/env node
// Builds a JavaScript metric into a Caliper component.
//
//   node sdk/js/build.mjs metric.js -o metric.wasm [--wit DIR]
//   npx caliper-js-build metric.js -o metric.wasm      (in a project depending on @caliper/sdk)
//
// The metric module must `export default defineMetric({...})`. It is bundled
// (with rolldown) together with this SDK and an entry that exports it as the
// WIT `metric` interface (component.js), because componentize-js only follows
// relative imports inside the source's own directory. The bundle is then
// componentized against the `metric-component` world of the repository's
// `wit/` directory, without the wasi:http imports the Caliper host denies.

import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const SDK_DIR = dirname(fileURLToPath(import.meta.url));
const DEFAULT_WIT = resolve(SDK_DIR, '..', '..', 'wit');
const USAGE = 'usage: caliper-js-build METRIC.js -o OUT.wasm [--wit DIR]';
const INSTALL_HINT = `install it with \`npm ci --prefix ${SDK_DIR}\` (scripts/install-js.sh in the Caliper repository)`;

const HOW_TO_EXPORT = 'a metric module must `export default defineMetric({...})` (from @caliper/sdk)';

class UsageError extends Error {}

/** Loads a toolchain package installed next to this SDK. */
async function load(pkg) {
  try {
    return await import(pkg);
  } catch (e) {
    if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') {
      throw new UsageError(`the JavaScript toolchain is missing (${pkg}): ${INSTALL_HINT}`);
    }
    throw e;
  }
}

function parse(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        wit: { type: 'string', default: DEFAULT_WIT },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError(`${e.message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1 || !values.output) throw new UsageError(USAGE);
  const source = resolve(positionals[0]);
  if (!existsSync(source) || !statSync(source).isFile()) throw new UsageError(`${positionals[0]}: no such file`);
  const wit = resolve(values.wit);
  if (!existsSync(join(wit, 'metric.wit'))) {
    throw new UsageError(`${wit}: no metric.wit there (pass --wit PATH/TO/caliper/wit)`);
  }
  return { source, output: resolve(values.output), wit };
}

/** Bundles the metric, the SDK and the export entry into one ES module. */
async function bundle(source, dir) {
  const { rolldown } = await load('rolldown');
  const entry = join(dir, 'entry.js');
  await writeFile(
    entry,
    [
      `import { log } from 'caliper:metric/host@0.1.0';`,
      `import { exportMetric } from ${JSON.stringify(pathToFileURL(join(SDK_DIR, 'component.js')).pathname)};`,
      `import userMetric from ${JSON.stringify(pathToFileURL(source).pathname)};`,
      `export const metric = exportMetric(userMetric, log);`,
      '',
    ].join('\n'),
  );
  const out = join(dir, 'bundle.js');
  let build;
  try {
    build = await rolldown({
      input: entry,
      platform: 'neutral',
      external: [/^caliper:/, /^wasi:/],
      // Metrics import the SDK by name; it need not be installed next to them.
      resolve: { alias: { '@caliper/sdk': join(SDK_DIR, 'index.js') } },
      logLevel: 'silent',
    });
    await build.write({ file: out, format: 'esm' });
  } catch (e) {
    const hint = /MISSING_EXPORT/.test(e.message) ? `\n${HOW_TO_EXPORT}` : '';
    throw new UsageError(`${basename(source)} cannot be bundled: ${e.message}${hint}`);
  } finally {
    await build?.close();
  }
  return out;
}

async function main() {
  const { source, output, wit } = parse(process.argv.slice(2));
  const { componentize } = await load('@bytecodealliance/componentize-js');
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'caliper-js-build-'));
  try {
    const sourcePath = await bundle(source, dir);
    let result;
    try {
      result = await componentize({
        sourcePath,
        witPath: wit,
        worldName: 'metric-component',
        disableFeatures: ['http', 'fetch-event'],
      });
    } catch (e) {
      throw new UsageError(`${basename(source)} cannot be componentized: ${e.message ?? e}`);
    }
    await writeFile(output, result.component);
    const mb = (result.component.length / 1e6).toFixed(1);
    const s = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`wrote ${output} (${mb} MB) in ${s} s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`caliper-js-build: ${e instanceof UsageError ? e.message : e?.stack ?? e}`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
