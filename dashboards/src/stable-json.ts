/**
 * JSON with object keys sorted at every level, so the committed dashboard only changes when the
 * dashboard does, never because a builder set fields in another order.
 */
export function stableStringify(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const child = (value as Record<string, unknown>)[key];
    // JSON.stringify drops these too; dropping them here keeps the sorted copy faithful.
    if (child === undefined || typeof child === 'function') continue;
    sorted[key] = sortKeys(child);
  }
  return sorted;
}
