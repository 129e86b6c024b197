// Generated from contract/*.schema.json by contract/generate.ts: value lists. Do not edit; run npx tsx contract/generate.ts.

export const UNIT_RESULTS = ["stopped","killed","leftovers-killed","already-inactive","not-found","not-stopped","exempt"] as const;
export const DRILL_MODES = ["dry-run","full"] as const;
