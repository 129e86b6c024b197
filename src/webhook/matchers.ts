/** Label set of an alert. */
export type Labels = Readonly<Record<string, string>>;

export type MatchOperator = '=' | '!=' | '=~' | '!~';

/** A matcher text that is not valid Alertmanager matcher syntax, or whose regex does not compile. */
export class MatcherSyntaxError extends Error {
  override name = 'MatcherSyntaxError';
}

/** One label matcher, with Alertmanager's semantics. */
export class Matcher {
  readonly #regex: RegExp | undefined;

  constructor(
    readonly name: string,
    readonly operator: MatchOperator,
    readonly value: string,
  ) {
    if (operator === '=~' || operator === '!~') {
      try {
        // Alertmanager's regexes are Go RE2; RE2-only syntax would compile here and silently never match.
        if (/\[\[:|\\Q|\(\?[imsU]/.test(value)) {
          throw new Error('uses Go RE2-only syntax ([[:class:]], \\Q..\\E or (?flags)); write it in the common subset');
        }
        // Alertmanager anchors every regex at both ends; the group keeps `a|b` from escaping the anchors.
        this.#regex = new RegExp(`^(?:${value})$`);
      } catch (error) {
        throw new MatcherSyntaxError(`invalid regex ${JSON.stringify(value)}: ${(error as Error).message}`, { cause: error });
      }
    }
  }

  /** A label the alert does not have counts as the empty string, as in Alertmanager. */
  matches(labels: Labels): boolean {
    const actual = Object.hasOwn(labels, this.name) ? (labels[this.name] ?? '') : '';
    switch (this.operator) {
      case '=':
        return actual === this.value;
      case '!=':
        return actual !== this.value;
      case '=~':
        return this.#regex?.test(actual) ?? false;
      case '!~':
        return !(this.#regex?.test(actual) ?? false);
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
