// Types of the Caliper JavaScript SDK (index.js), for editors and `tsc --checkJs`.

/** A JSON value, as metadata values and configs hold them. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type Verdict = 'pass' | 'fail' | 'skip';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Writes a line to the host's log (stderr outside a component). */
export const log: Readonly<Record<LogLevel, (message: string) => void>>;

/** The configuration cannot be used; reported when the metric is loaded. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions);
}

/** The metric could not score a sample: the `error` outcome, with this message. */
export class MetricError extends Error {
  constructor(message: string, options?: ErrorOptions);
}

/** One turn of the conversation before the output. */
export class Message {
  constructor(role: string, content: string);
  /** `system`, `user`, `assistant`, `tool`, ... */
  role: string;
  content: string;
}

/** The fields of a Sample, all optional (for `new Sample({...})` and `evaluator.evaluate({...})`). */
export interface SampleInit {
  id?: string;
  input?: string;
  output?: string;
  messages?: Array<Message | { role: string; content: string }>;
  context?: string[];
  expected?: string | null;
  metadata?: Record<string, JsonValue>;
}

/** One recorded LLM interaction: the unit every metric scores. */
export class Sample {
  constructor(init?: SampleInit);
  /** Stable identifier, unique within a dataset. */
  id: string;
  /** The user input that produced `output`. */
  input: string;
  /** The model output being scored. */
  output: string;
  /** The conversation before `output`, oldest first. */
  messages: Message[];
  /** Retrieved context passages (RAG), in ranking order. */
  context: string[];
  /** The reference answer; `undefined` when the dataset has none. */
  expected: string | undefined;
  /** Free-form metadata; objects and arrays arrive parsed. */
  metadata: Record<string, JsonValue>;
  /** The content of the last `user` message, else `input`. */
  lastUserText(): string;
}

/** What a metric says about a sample. */
export class Outcome {
  constructor(verdict: Verdict, value?: number | null, reason?: string | null);
  verdict: Verdict;
  /** A finite number, or null; NaN and infinities make the host record `invalid`. */
  value: number | null;
  /** A short human-readable explanation, or null. */
  reason: string | null;
  /** Structured facts, e.g. `{ 'detected-language': 'en' }`. */
  labels: Record<string, string>;
  /** The sample meets the metric's expectation. */
  static pass(value?: number | null, reason?: string | null): Outcome;
  /** The sample violates it. */
  static fail(value?: number | null, reason?: string | null): Outcome;
  /** The metric does not apply to this sample (left out of every rate). */
  static skip(reason?: string | null): Outcome;
  /** Pass when `ok`, else fail; the value and reason are kept either way. */
  static check(ok: boolean, value?: number | null, reason?: string | null): Outcome;
  /** Adds (or replaces) a label and returns this outcome. */
  withLabel(key: string, value: string | number | boolean): this;
}

/** What `defineMetric` takes. `State` is what `configure` returns. */
export interface MetricDefinition<State = Record<string, JsonValue>> {
  /** Kebab-case name, e.g. `refund-policy`. */
  name: string;
  /** Semantic version of the metric's logic (default `0.1.0`). */
  version?: string;
  /** One line: what the metric checks. */
  description?: string;
  /** Owning team or person. */
  owner?: string;
  /** The business goal the metric serves. */
  goal?: string;
  tags?: string[];
  /** Unit of the outcome's value, e.g. `ratio`, `words`, `count`. */
  unit?: string;
  /** Whether a larger value is better (default true). */
  higherIsBetter?: boolean;
  /** JSON Schema of the configuration (default `{ type: 'object' }`). */
  configSchema?: { [key: string]: JsonValue };
  /**
   * Checks the configuration (a JSON object; `{}` for defaults) once, at load
   * time, and returns the state `evaluate` receives. Throw ConfigError to refuse it.
   * Without it the state is the config object itself.
   */
  configure?(config: Record<string, JsonValue>): State;
  /** Scores one sample. Throw MetricError (or anything) for the `error` outcome. */
  evaluate(sample: Sample, state: State): Outcome;
  /** Scores several samples at once (one outcome per sample, in order); optional. */
  evaluateBatch?(samples: Sample[], state: State): Outcome[];
}

/** A metric configured and ready to score samples. */
export class Evaluator<State = unknown> {
  readonly definition: MetricDefinition<State>;
  /** What the definition's `configure` returned. */
  readonly state: State;
  /** Scores one sample; throws what the definition throws. */
  evaluate(sample: Sample | SampleInit): Outcome;
  /** Scores several samples, with `evaluateBatch` when the definition has one. */
  evaluateBatch(samples: Array<Sample | SampleInit>): Outcome[];
}

/** A metric: its self-description plus `configure`. */
export class Metric<State = unknown> {
  readonly descriptor: Readonly<{
    name: string;
    version: string;
    description: string;
    owner: string;
    goal: string;
    tags: readonly string[];
    unit: string;
    higherIsBetter: boolean;
    /** The JSON Schema as JSON text. */
    configSchema: string;
  }>;
  readonly definition: MetricDefinition<State>;
  /** Checks a configuration (JSON text or object; default `{}`); throws ConfigError when refused. */
  configure(config?: string | Record<string, JsonValue>): Evaluator<State>;
}

/** Defines a metric; make it the module's default export. */
export function defineMetric<State = Record<string, JsonValue>>(definition: MetricDefinition<State>): Metric<State>;

/** Parses and checks a configuration (JSON text or object); throws ConfigError. */
export function parseConfig(config: string | Record<string, unknown>): Record<string, JsonValue>;

/** Checks what `evaluate` returned and makes it an Outcome; throws MetricError. */
export function checkOutcome(o: unknown, what?: string): Outcome;
