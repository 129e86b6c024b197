import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RenderingRegistry } from '../../src/collectors/rendering-registry.js';
import { optionalGauge } from '../../src/collectors/optional-metric.js';

/** One change between two scrapes, applied to metrics registered in both registries. */
const change = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), unit: fc.constantFrom('a.service', 'b\\"c\n.service', 'd.service'), value: fc.constantFrom(0, 1, 2.5, -0, Number.NaN, Infinity) }),
  fc.record({ kind: fc.constant('reset' as const) }),
  fc.record({ kind: fc.constant('inc' as const), by: fc.constantFrom(0, 1, 0.25) }),
  fc.record({ kind: fc.constant('observe' as const), seconds: fc.constantFrom(0.001, 0.2, 3, 100) }),
  fc.record({ kind: fc.constant('optional' as const), value: fc.constantFrom(null, 0, 7) }),
  fc.record({ kind: fc.constant('none' as const) }),
);

describe('RenderingRegistry', () => {
  it("renders every scrape exactly as prom-client's own Registry does, whatever changed in between", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(change, { maxLength: 4 }), { minLength: 1, maxLength: 25 }), async (scrapes) => {
        const cached = new RenderingRegistry();
        const plain = new Registry();
        const registers = [cached, plain];
        const gauge = new Gauge({ name: 'g', help: 'a gauge', labelNames: ['unit'] as const, registers });
        const counter = new Counter({ name: 'c_total', help: 'a counter', registers });
        const histogram = new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames: ['path'] as const, buckets: [0.01, 1, 10], registers });
        let optional: number | null = null;
        for (const registry of registers) optionalGauge(registry, 'o', 'absent while unknown', () => optional);
        for (const changes of scrapes) {
          for (const step of changes) {
            if (step.kind === 'set') gauge.set({ unit: step.unit }, step.value);
            else if (step.kind === 'reset') gauge.reset();
            else if (step.kind === 'inc') counter.inc(step.by);
            else if (step.kind === 'observe') histogram.observe({ path: '/metrics' }, step.seconds);
            else if (step.kind === 'optional') optional = step.value;
          }
          expect(await cached.metrics()).toBe(await plain.metrics());
        }
      }),
      { numRuns: 200 },
    );
  });

  it('counts the renderings begun', async () => {
    const registry = new RenderingRegistry();
    const before = registry.renders;
    await Promise.all([registry.metrics(), registry.metrics()]);
    expect(registry.renders).toBe(before + 2);
  });
});
