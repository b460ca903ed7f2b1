// The metric's log. Outside a component (unit tests in Node) lines go to
// stderr; inside one, component.js routes them to the host's `log` import,
// which tags them with the metric instance.

/** @typedef {'trace' | 'debug' | 'info' | 'warn' | 'error'} LogLevel */

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** @type {(level: LogLevel, message: string) => void} */
let sink = (level, message) => console.error(`[${level}] ${message}`);

/**
 * Routes log lines to `write` (used by the component glue).
 * @param {(level: LogLevel, message: string) => void} write
 */
export function setLogSink(write) {
  sink = write;
}

function writer(/** @type {LogLevel} */ level) {
  return (/** @type {unknown} */ message) => {
    // Logging must never fail an evaluation.
    try {
      sink(level, String(message));
    } catch {
      // nowhere left to report it
    }
  };
}

/**
 * Writes a line to the host's log: `log.info("loaded 12 terms")`.
 * @type {Readonly<Record<LogLevel, (message: string) => void>>}
 */
export const log = /** @type {Readonly<Record<LogLevel, (message: string) => void>>} */ (
  Object.freeze(Object.fromEntries(LEVELS.map((l) => [l, writer(/** @type {LogLevel} */ (l))])))
);
