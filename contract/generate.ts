/**
 * Writes the exporter's validators, types and values from the contract's JSON Schemas, so that
 * the schemas are the one definition of every JSON document the exporter reads, and no schema compiler
 * runs in the exporter. The output, src/contract/*.generated.ts, is a build product (not tracked):
 * `npm run build`, `npm test` and `npm run typecheck` write it first (npm run contract:generate).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

const CONTRACT = fileURLToPath(new URL('./', import.meta.url));
const OUT = fileURLToPath(new URL('../src/contract/', import.meta.url));
// each schema's $id lies in this (reserved, never resolved) base
const BASE = 'https://quantum-ess.invalid/contract/';

/** The documents the exporter reads, by the name of their type and validator. */
const DOCUMENTS = {
  StateFile: 'state.schema.json',
  DrillFile: 'drill.schema.json',
  ExemptionRecord: 'exemption.schema.json',
  WebhookPayload: 'webhook-payload.schema.json',
  ExporterConfigFile: 'exporter-config.schema.json',
  HeartbeatRecord: 'heartbeat.schema.json',
  WatchdogStatus: 'watchdog.schema.json',
  ActionResult: 'action-result.schema.json',
} as const;

/** Values of the schemas the exporter uses in code, by the JSON pointer where the schema holds them. */
const VALUES = {
  // the value lists the metrics iterate over (a series per value)
  UNIT_RESULTS: ['StateFile', '/$defs/unitOutcome/properties/result/enum'],
  DRILL_MODES: ['DrillFile', '/properties/last/properties/mode/enum'],
  ACTION_RESULTS: ['ActionResult', '/properties/result/enum'],
  // also what an alert's ess_host and ess_group labels must match (src/config/identity.ts)
  IDENTITY_NAME_PATTERN: ['ExporterConfigFile', '/properties/host/pattern'],
} as const;

const BANNER = (what: string): string =>
  `// Generated from contract/*.schema.json by contract/generate.ts: ${what}. Do not edit; run npx tsx contract/generate.ts.\n`;

async function loadSchemas(): Promise<Record<keyof typeof DOCUMENTS, JSONSchema>> {
  const entries = await Promise.all(
    Object.entries(DOCUMENTS).map(async ([name, file]) => [name, JSON.parse(await readFile(`${CONTRACT}${file}`, 'utf8'))] as const),
  );
  return Object.fromEntries(entries) as Record<keyof typeof DOCUMENTS, JSONSchema>;
}

/** The root side's files: members a later release adds are ignored, as its readers always did. */
const TOLERANT: readonly (keyof typeof DOCUMENTS)[] = ['StateFile', 'DrillFile', 'ExemptionRecord', 'WatchdogStatus', 'ActionResult'];

function tolerant(schema: JSONSchema): JSONSchema {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) => (key === 'additionalProperties' && value === false ? undefined : value)) as JSONSchema;
}

/**
 * Standalone validator code. Each stops at the first problem: a hostile body of 100,000 wrong values
 * then costs microseconds, where collecting every error took seconds (the generated code copies the
 * error list at each referenced subschema). verbose: each error carries the failing subschema, whose
 * title words the message.
 */
function renderValidators(schemas: Record<string, JSONSchema>): string {
  const ajv = new Ajv2020({ code: { source: true, esm: true, lines: true }, allErrors: false, verbose: true, strict: true, strictTypes: false, strictRequired: false });
  for (const [name, schema] of Object.entries(schemas)) {
    ajv.addSchema((TOLERANT.includes(name as keyof typeof DOCUMENTS) ? tolerant(schema) : schema) as object);
  }
  const exported = Object.fromEntries(Object.entries(DOCUMENTS).map(([name, file]) => [`validate${name}`, `${BASE}${file}`]));
  const code = standaloneCode.default(ajv, exported);
  if (/\brequire\(|^import /m.test(code)) throw new Error('the validators need an Ajv runtime module; keep the schemas to keywords that compile to plain code');
  // The generated code is plain JavaScript: its exports are replaced by typed ones.
  const exports = [...code.matchAll(/^export const (\w+) = (\w+);$/gm)];
  const body = code.replace(/^"use strict";/, '').replace(/^export const \w+ = \w+;$/gm, '').trim();
  const typed = exports.map(([, name, fn]) => `export const ${name} = ${fn} as SchemaValidator<types.${name?.slice('validate'.length)}>;`);
  return [
    BANNER('validators'),
    '// @ts-nocheck',
    "import type { SchemaValidator } from './schema-validator.js';",
    "import type * as types from './types.generated.js';",
    '',
    body,
    '',
    ...typed,
    '',
  ].join('\n');
}

/** The titles word the validators' messages ("an absolute path"); as type names they would only confuse. */
function withoutTitles(schema: JSONSchema): JSONSchema {
  return JSON.parse(JSON.stringify(schema, (key, value: unknown) => (key === 'title' ? undefined : value))) as JSONSchema;
}

/** A reference to another document of the contract is its type, declared in the same file. */
function withTypeReferences(schema: JSONSchema): JSONSchema {
  const names = new Map(Object.entries(DOCUMENTS).map(([name, file]) => [file as string, name]));
  return JSON.parse(JSON.stringify(schema), (_key, value: unknown) => {
    const ref = (value as { $ref?: unknown } | null)?.$ref;
    return typeof ref === 'string' && names.has(ref) ? { tsType: names.get(ref) } : value;
  }) as JSONSchema;
}

async function renderTypes(schemas: Record<string, JSONSchema>): Promise<string> {
  const parts = await Promise.all(
    Object.entries(schemas).map(([name, schema]) =>
      compile({ ...withTypeReferences(withoutTitles(schema)), title: name }, name, { bannerComment: '', additionalProperties: false, ignoreMinAndMaxItems: true, unknownAny: true }),
    ),
  );
  return `${BANNER('types')}\n${parts.join('\n')}`;
}

function pointer(schema: JSONSchema, path: string): unknown {
  return path
    .slice(1)
    .split('/')
    .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], schema);
}

/** The keys of an earlier release a configuration may still carry, each with why it is ignored. */
function deprecatedKeys(schema: JSONSchema): Record<string, string> {
  const properties = Object.entries(schema.properties ?? {}) as [string, JSONSchema][];
  return Object.fromEntries(properties.filter(([, property]) => property.deprecated === true).map(([key, property]) => [key, String(property.description)]));
}

function renderValues(schemas: Record<keyof typeof DOCUMENTS, JSONSchema>): string {
  const lines = Object.entries(VALUES).map(([name, [document, path]]) => {
    const value = pointer(schemas[document], path);
    if (value === undefined) throw new Error(`${DOCUMENTS[document]}#${path} does not exist`);
    return `export const ${name} = ${JSON.stringify(value)} as const;`;
  });
  lines.push(`export const DEPRECATED_EXPORTER_KEYS: Readonly<Record<string, string>> = ${JSON.stringify(deprecatedKeys(schemas.ExporterConfigFile))};`);
  return `${BANNER('values')}\n${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const schemas = await loadSchemas();
  const files = {
    [`${OUT}validators.generated.ts`]: renderValidators(schemas),
    [`${OUT}types.generated.ts`]: await renderTypes(schemas),
    [`${OUT}values.generated.ts`]: renderValues(schemas),
  };
  for (const [file, text] of Object.entries(files)) await writeFile(file, text);
}

await main();
