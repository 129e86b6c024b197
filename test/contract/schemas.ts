import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { REPO } from './fixtures.js';

/** The contract's JSON Schemas (draft 2020-12), compiled once; strict about unknown keywords, not about
 * the "type" a subschema of oneOf/allOf leaves to its parent. */
const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
const load = (name: string): object => JSON.parse(readFileSync(`${REPO}contract/${name}`, 'utf8')) as object;
// each schema's $id lies in one (reserved, never resolved) base, so status's "$ref": "state.schema.json" finds state's
const BASE = 'https://quantum-ess.invalid/contract/';
const SCHEMAS = ['state.schema.json', 'action-result.schema.json', 'watchdog.schema.json', 'heartbeat.schema.json', 'status.schema.json', 'drill.schema.json', 'exemption.schema.json'] as const;
for (const name of SCHEMAS) ajv.addSchema(load(name));

export type SchemaName = (typeof SCHEMAS)[number];

/** The schema's complaints about `value`; empty when it is valid. */
export function schemaErrors(schema: SchemaName, value: unknown): string[] {
  const validate = ajv.getSchema(`${BASE}${schema}`);
  if (validate === undefined) throw new Error(`${schema} is not loaded`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '(top level)'} ${e.message ?? e.keyword}`);
}
