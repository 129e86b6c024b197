/**
 * Checks for the small JSON files the root side writes (state.json, drill.json, exemption records):
 * each names the field that is not what contract/README.md says, so a foreign or half-written file is
 * refused with a reason instead of being half used.
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
  return object(json, '(top level)');
}

/** Refuses a file of another release: its fields may mean something else. */
export function requireSchema(root: Record<string, unknown>, schema: number, writer: string): void {
  if (root.schema !== schema) {
    throw new FileFormatError(`schema: expected ${schema}, got ${JSON.stringify(root.schema)} (exporter and ${writer} from different releases?)`);
  }
}

export function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FileFormatError(`${where}: expected an object`);
  }
  return value as Record<string, unknown>;
}

export function nonNegativeNumber(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new FileFormatError(`${where}: ${JSON.stringify(value)} is not a non-negative number`);
  }
  return value;
}

/** null or undefined: "has not happened". */
export function optionalNonNegativeNumber(value: unknown, where: string): number | null {
  return value == null ? null : nonNegativeNumber(value, where);
}

export function wholeNumber(value: unknown, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new FileFormatError(`${where}: ${JSON.stringify(value)} is not ${what}`);
  }
  return value;
}

export function oneOf<T extends string>(value: unknown, words: readonly T[], where: string): T {
  if (!words.includes(value as T)) throw new FileFormatError(`${where}: ${JSON.stringify(value)} is not one of ${words.join(', ')}`);
  return value as T;
}

export function text(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new FileFormatError(`${where}: ${JSON.stringify(value)} is not a string`);
  return value;
}
