/**
 * The validators generated from the contract's JSON Schemas (validators.generated.ts), and their
 * complaints worded for an operator: `PATH: VALUE is not TITLE`, where TITLE is the failing subschema's
 * title in the contract ("an absolute path", "true or false"), so the schema words its own messages.
 */

/** What the generated code reports per problem (Ajv's error object, verbose). */
export interface SchemaError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
  readonly parentSchema?: { readonly $id?: string; readonly title?: string; readonly type?: unknown; readonly enum?: readonly unknown[] };
  readonly data?: unknown;
}

export type SchemaValidator<T> = ((data: unknown) => data is T) & { errors?: readonly SchemaError[] | null };

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  object: 'an object',
  array: 'a list',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

// A value echoed in a message must not make it as large as a hostile body.
const MAX_VALUE_CHARS = 60;

/** `/alerts/2/labels/x` as `alerts[2].labels.x`; the document itself is `root`. */
export function dottedPath(instancePath: string, root: string): string {
  if (instancePath === '') return root;
  return instancePath
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, part, index) => (/^\d+$/.test(part) ? `${path}[${part}]` : index === 0 ? part : `${path}.${part}`), '');
}

function shownValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}...` : text;
}

function expected(error: SchemaError): string {
  const schema = error.parentSchema;
  // a document's title names the whole file, not what is wrong with its top level
  if (schema?.title !== undefined && schema.$id === undefined) return schema.title;
  if (error.keyword === 'enum' && schema?.enum !== undefined) return `one of ${schema.enum.map((v) => shownValue(v)).join(', ')}`;
  const type = typeof error.params.type === 'string' ? error.params.type : schema?.type;
  if (typeof type === 'string' && TYPE_WORDS[type] !== undefined) return TYPE_WORDS[type];
  return `what the contract allows (${error.message ?? error.keyword})`;
}

/**
 * A oneOf's summary and its `null` branch say nothing an operator can act on when a value is neither
 * null nor right: the other branch's error says what is wrong.
 */
function informative(error: SchemaError, all: readonly SchemaError[]): boolean {
  if (error.keyword === 'oneOf' || error.keyword === 'anyOf') {
    return !all.some((other) => other !== error && other.instancePath === error.instancePath && other.keyword !== 'oneOf');
  }
  return !(error.keyword === 'type' && error.params.type === 'null');
}

/** One line per problem: where it is and what the contract expects there. */
export function describeSchemaError(error: SchemaError, root: string): string {
  const path = dottedPath(error.instancePath, root);
  if (error.keyword === 'required') {
    const member = String(error.params.missingProperty);
    return `${error.instancePath === '' ? member : `${path}.${member}`}: missing`;
  }
  if (error.keyword === 'additionalProperties') {
    const member = String(error.params.additionalProperty);
    return `${error.instancePath === '' ? member : `${path}.${member}`}: unknown key`;
  }
  return `${path}: ${shownValue(error.data)} is not ${expected(error)}`;
}

/** Every problem the last run of `validate` found, worded; at most `max` lines plus a count of the rest. */
export function schemaProblems(validate: SchemaValidator<unknown>, root: string, max = Number.POSITIVE_INFINITY): string[] {
  const errors = (validate.errors ?? []).filter((error, _, all) => informative(error, all));
  const lines = errors.slice(0, max).map((error) => describeSchemaError(error, root));
  return errors.length > max ? [...lines, `... and ${errors.length - max} more`] : lines;
}
