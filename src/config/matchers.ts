import { RE2JS } from 're2js';

/** Label set of an alert. */
export type Labels = Readonly<Record<string, string>>;

export type MatchOperator = '=' | '!=' | '=~' | '!~';

/** A matcher text that is not valid Alertmanager matcher syntax, or whose regex does not compile. */
export class MatcherSyntaxError extends Error {
  override name = 'MatcherSyntaxError';
}

/**
 * Work units one regex test may cost at most, per character of the value: the RE2 engine runs in
 * time linear in the value times its program size, and a program larger than this is refused.
 */
export const MAX_REGEX_PROGRAM_SIZE = 5_000;

/**
 * One label matcher, with Alertmanager's semantics. Regexes are RE2 (Go's regexp, as in Prometheus
 * and Alertmanager), run by a linear-time engine: no backtracking, so no alert can make a test
 * exponential; what RE2 refuses (backreferences, lookarounds, possessive repeats) is refused here.
 */
export class Matcher {
  readonly #regex: RE2JS | undefined;
  /** Cost of one test per character of the value (the compiled program's size); 0 for = and !=. */
  readonly costPerChar: number;

  constructor(
    readonly name: string,
    readonly operator: MatchOperator,
    readonly value: string,
  ) {
    this.costPerChar = 0;
    if (operator === '=~' || operator === '!~') {
      try {
        // Alertmanager anchors every regex at both ends; the group keeps `a|b` from escaping the anchors.
        this.#regex = RE2JS.compile(`^(?:${value})$`);
      } catch (error) {
        throw new MatcherSyntaxError(`invalid regex ${JSON.stringify(value)} (RE2 syntax): ${(error as Error).message}`, { cause: error });
      }
      this.costPerChar = this.#regex.programSize();
      if (this.costPerChar > MAX_REGEX_PROGRAM_SIZE) {
        throw new MatcherSyntaxError(
          `regex ${JSON.stringify(value)} compiles to ${this.costPerChar} instructions, more than ${MAX_REGEX_PROGRAM_SIZE}: simplify it`,
        );
      }
    }
  }

  /** Work units a test of these labels costs: the value's length times the program's size. */
  cost(labels: Labels): number {
    return this.costPerChar === 0 ? 1 : (labelValue(labels, this.name).length + 1) * this.costPerChar;
  }

  /** A label the alert does not have counts as the empty string, as in Alertmanager. */
  matches(labels: Labels): boolean {
    const actual = labelValue(labels, this.name);
    switch (this.operator) {
      case '=':
        return actual === this.value;
      case '!=':
        return actual !== this.value;
      case '=~':
        return this.#regex?.matches(actual) ?? false;
      case '!~':
        return !(this.#regex?.matches(actual) ?? false);
    }
  }

  /** The canonical quoted form, which parseMatcher reads back to an equal matcher. */
  toString(): string {
    const quoted = this.value.replace(/[\\"]/g, (char) => `\\${char}`).replace(/\n/g, '\\n');
    return `${this.name}${this.operator}"${quoted}"`;
  }

  /** --check-config prints the config as JSON: show the rule as written, not the compiled regex. */
  toJSON(): string {
    return this.toString();
  }
}

function labelValue(labels: Labels, name: string): string {
  return Object.hasOwn(labels, name) ? (labels[name] ?? '') : '';
}

// Longest operators first, so that `=~` is not read as `=` followed by a value starting with `~`.
const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

/**
 * Parses one matcher in Alertmanager's syntax: name="value", name!="value", name=~"regex",
 * name!~"regex", or the same with an unquoted value (taken literally, surrounding blanks dropped).
 */
export function parseMatcher(text: string): Matcher {
  const match = MATCHER.exec(text);
  if (!match) {
    throw new MatcherSyntaxError(
      `${JSON.stringify(text)} is not a matcher (name="value", name!="value", name=~"regex" or name!~"regex")`,
    );
  }
  const [, name = '', operator = '=', raw = ''] = match;
  return new Matcher(name, operator as MatchOperator, raw.startsWith('"') ? unquote(raw, text) : raw);
}

/**
 * Alertmanager's unquoting: \" and \\ are escapes, \n is a newline, and any other backslash is kept
 * literally (so regexes like "\d+" need no double escaping).
 */
function unquote(raw: string, text: string): string {
  if (raw.length < 2 || !raw.endsWith('"')) {
    throw new MatcherSyntaxError(`${JSON.stringify(text)}: the value has no closing double quote`);
  }
  let value = '';
  let escaped = false;
  for (const char of raw.slice(1, -1)) {
    if (escaped) {
      value += char === 'n' ? '\n' : char === '"' || char === '\\' ? char : `\\${char}`;
      escaped = false;
    } else if (char === '\\') {
      escaped = true;
    } else if (char === '"') {
      throw new MatcherSyntaxError(`${JSON.stringify(text)}: unescaped double quote inside the value`);
    } else {
      value += char;
    }
  }
  if (escaped) throw new MatcherSyntaxError(`${JSON.stringify(text)}: the value ends with a lone backslash`);
  return value;
}
