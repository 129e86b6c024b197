/**
 * The validators generated from the contract's JSON Schemas (validators.generated.ts), and their
 * complaints worded for an operator: `KEY: VALUE is not WHAT`, where WHAT is the failing subschema's
 * title in the contract ("an absolute path", "true or false"), so the schema words its own messages.
 */

type ParentSchema = {
  readonly $id?: string;
  readonly title?: string;
  readonly type?: unknown;
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, { readonly deprecated?: boolean }>>;
};

/** What the generated code reports per problem (Ajv's error object, verbose). */
export interface SchemaError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
  readonly parentSchema?: ParentSchema;
  readonly data?: unknown;
}

export type SchemaValidator<T> = ((data: unknown) => data is T) & { errors?: readonly SchemaError[] | null };

/** One problem: where it is (`alerts[2].labels.x`, or a configuration key) and what is wrong there. */
export interface SchemaProblem {
  readonly key: string;
  readonly problem: string;
}

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

function titleOf(schema: ParentSchema | undefined): string | undefined {
  // a document's title names the whole file, not what is wrong with its top level
  return schema?.$id === undefined ? schema?.title : undefined;
}

const isUnion = (error: SchemaError): boolean => error.keyword === 'oneOf' || error.keyword === 'anyOf';

/** Per path, its oneOf/anyOf error: built once, so a body with thousands of errors stays linear. */
type Unions = ReadonlyMap<string, SchemaError>;

/**
 * What the contract expects where `error` is: the failing subschema's title; for a branch of a
 * oneOf, the oneOf's title (its branches are parts of one rule); else words for its type.
 */
function expected(error: SchemaError, unions: Unions): string {
  const title = titleOf(error.parentSchema) ?? titleOf(unions.get(error.instancePath)?.parentSchema);
  if (title !== undefined) return title;
  const schema = error.parentSchema;
  if (error.keyword === 'const') return shownValue(error.params.allowedValue);
  if (error.keyword === 'enum' && schema?.enum !== undefined) return `one of ${schema.enum.map((v) => shownValue(v)).join(', ')}`;
  const type = typeof error.params.type === 'string' ? error.params.type : schema?.type;
  const words = typeof type === 'string' ? TYPE_WORDS[type] : undefined;
  if (words !== undefined && typeof error.params.comparison === 'string') return `${words} ${error.params.comparison} ${String(error.params.limit)}`;
  if (error.keyword === 'maxItems' || error.keyword === 'minItems') {
    return `a list of at ${error.keyword === 'maxItems' ? 'most' : 'least'} ${String(error.params.limit)} entries`;
  }
  if (words !== undefined) return words;
  return `what the contract allows (${error.message ?? error.keyword})`;
}

function knownKeys(schema: ParentSchema | undefined): string {
  const keys = Object.entries(schema?.properties ?? {}).filter(([, property]) => property.deprecated !== true);
  return keys.length === 0 ? '' : ` (known: ${keys.map(([key]) => key).join(', ')})`;
}

function problemOf(error: SchemaError, unions: Unions, root: string): SchemaProblem {
  const path = dottedPath(error.instancePath, root);
  const member = (name: unknown): string => (error.instancePath === '' ? String(name) : `${path}.${String(name)}`);
  if (error.keyword === 'required') return { key: member(error.params.missingProperty), problem: 'missing' };
  if (error.keyword === 'additionalProperties') {
    return { key: member(error.params.additionalProperty), problem: `unknown key${knownKeys(error.parentSchema)}` };
  }
  return { key: path, problem: `${shownValue(error.data)} is not ${expected(error, unions)}` };
}

/**
 * The problem the last run of `validate` stopped at (the validators stop at the first), with the
 * branches of a oneOf it tried. A oneOf's summary and its `null` branch say nothing an operator can act
 * on when a value is neither null nor right: the other branch's error says what is wrong.
 */
export function schemaProblemList(validate: SchemaValidator<unknown>, root: string): SchemaProblem[] {
  const all = validate.errors ?? [];
  const unions = new Map(all.filter(isUnion).map((error) => [error.instancePath, error]));
  const explained = new Set(all.filter((error) => !isUnion(error)).map((error) => error.instancePath));
  const shown = all.filter((error) =>
    isUnion(error) ? !explained.has(error.instancePath) : !(error.keyword === 'type' && error.params.type === 'null'));
  return shown.map((error) => problemOf(error, unions, root));
}

/** The same, one line each. */
export function schemaProblems(validate: SchemaValidator<unknown>, root: string): string[] {
  return schemaProblemList(validate, root).map(({ key, problem }) => `${key}: ${problem}`);
}
