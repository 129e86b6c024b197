import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderGenerated } from '../../contract/generate.js';

describe('the exporter validators and types generated from the contract schemas', () => {
  it('match the committed src/contract/*.generated.ts (run: npx tsx contract/generate.ts)', async () => {
    for (const [file, text] of Object.entries(await renderGenerated())) {
      expect(await readFile(file, 'utf8'), file).toBe(text);
    }
  });
});
