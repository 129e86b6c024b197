import { type SchemaValidator, schemaProblems } from '../contract/schema-validator.js';

/**
 * A small JSON file the root side writes (state.json, drill.json, an exemption record) that is not what
 * its contract schema says: the message names the field, so a foreign or half-written file is refused
 * with a reason instead of being half used.
 */
export class FileFormatError extends Error {
  override name = 'FileFormatError';
}

/** The file's text as a JSON object. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FileFormatError('not valid JSON', { cause: error });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FileFormatError('(top level): expected an object');
  return json as Record<string, unknown>;
}

/** Refuses a file of another release before its fields are judged: they may mean something else. */
export function requireSchema(root: Record<string, unknown>, schema: number, writer: string): void {
  if (root.schema !== schema) {
    throw new FileFormatError(`schema: expected ${schema}, got ${JSON.stringify(root.schema)} (exporter and ${writer} from different releases?)`);
  }
}

/** The schema's first complaint about a file, as a format error. */
export function schemaError(validate: SchemaValidator<unknown>): FileFormatError {
  const [first = 'does not match the contract'] = schemaProblems(validate, '(top level)');
  return new FileFormatError(first);
}
