import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../../src/config/identity.js';
import type { Labels } from '../../../src/config/matchers.js';
import { decideTripScope } from '../../../src/webhook/trip-scope.js';
import { TRIP_REQUEST_SCOPE } from '../../../src/webhook/trip-request.js';

const ME: Identity = { host: 'h1', groups: ['exec', 'eu'] };

describe('decideTripScope', () => {
  it.each<[string, Labels, string, string, string]>([
    ['no scope label: every host that receives it, recorded as unscoped', { ess_trip: 'true' }, 'fleet', 'trip', 'unscoped'],
    ['ess_scope="fleet"', { ess_scope: 'fleet' }, 'fleet', 'trip', 'fleet'],
    ['ess_scope compares without regard to case, as names do, and is recorded as fleet', { ess_scope: 'Fleet' }, 'fleet', 'trip', 'fleet'],
    ['... FLEET too', { ess_scope: 'FLEET' }, 'fleet', 'trip', 'fleet'],
    ['FLEET does not widen a host scope either', { ess_scope: 'FLEET', ess_host: 'h2' }, 'host', 'other_target', 'host:h2'],
    ['empty labels are absent labels', { ess_host: '', ess_group: '', ess_scope: '' }, 'fleet', 'trip', 'unscoped'],
    ['this host', { ess_host: 'h1' }, 'host', 'trip', 'host:h1'],
    ['another host', { ess_host: 'h2' }, 'host', 'other_target', 'host:h2'],
    ['host names compare without regard to case, as DNS does', { ess_host: 'H1' }, 'host', 'trip', 'host:H1'],
    ['group names too', { ess_group: 'EXEC' }, 'group', 'trip', 'group:EXEC'],
    ['a name that differs by more than case is someone else', { ess_host: 'h1x' }, 'host', 'other_target', 'host:h1x'],
    ['a group of this host', { ess_group: 'eu' }, 'group', 'trip', 'group:eu'],
    ['a group this host is not in', { ess_group: 'us' }, 'group', 'other_target', 'group:us'],
    ['this host and its group', { ess_host: 'h1', ess_group: 'exec' }, 'host', 'trip', 'host:h1'],
    ['this host, another group: both must match', { ess_host: 'h1', ess_group: 'us' }, 'host', 'other_target', 'host:h1'],
    ['another host, this group: both must match', { ess_host: 'h2', ess_group: 'exec' }, 'host', 'other_target', 'host:h2'],
    ['fleet does not widen a host scope', { ess_scope: 'fleet', ess_host: 'h2' }, 'host', 'other_target', 'host:h2'],
    ['fleet does not widen a group scope', { ess_scope: 'fleet', ess_group: 'us' }, 'group', 'other_target', 'group:us'],
    ['a fully qualified name whose first label is this host', { ess_host: 'h1.example.internal' }, 'host', 'trip', 'host:h1.example.internal'],
    ['... without regard to case', { ess_host: 'H1.Example.Internal' }, 'host', 'trip', 'host:H1.Example.Internal'],
    ['a fully qualified name of another host', { ess_host: 'h2.example.internal' }, 'host', 'other_target', 'host:h2.example.internal'],
    ['a first label that only starts with this host', { ess_host: 'h1x.example.internal' }, 'host', 'other_target', 'host:h1x.example.internal'],
  ])('%s', (_what, labels, kind, decision, text) => {
    expect(decideTripScope(labels, ME)).toEqual({ kind, decision, text });
  });

  it.each<[string, string, string]>([
    ['h1.example.internal', 'h1', 'trip'],
    ['h1.example.internal', 'h1.example.internal', 'trip'],
    ['h1.example.internal', 'H1.EXAMPLE.INTERNAL', 'trip'],
    ['h1.dc1.internal', 'h1.dc2.internal', 'other_target'],
    ['h1.example.internal', 'h1.example', 'other_target'],
    ['h1.example.internal', 'h2', 'other_target'],
    ['h1.example.internal', 'example', 'other_target'],
  ])('identity %s, ess_host=%s: %s', (host, alertHost, decision) => {
    expect(decideTripScope({ ess_host: alertHost }, { host, groups: [] }).decision).toBe(decision);
  });

  it.each<[Labels, string]>([
    [{ ess_scope: 'host' }, 'ess_scope="host" is not "fleet"'],
    [{ ess_scope: 'fleets' }, 'ess_scope="fleets" is not "fleet"'],
    [{ ess_scope: 'fleet ' }, 'ess_scope="fleet " is not "fleet"'],
    [{ ess_scope: 'all', ess_host: 'h1' }, 'ess_scope="all" is not "fleet"'],
    [{ ess_host: 'h1 ' }, 'ess_host="h1 " is not a host name'],
    [{ ess_host: 'h1,h2' }, 'ess_host="h1,h2" is not a host name'],
    [{ ess_group: '-eu' }, 'ess_group="-eu" is not a group name'],
    [{ ess_group: 'e'.repeat(64) }, `ess_group="${'e'.repeat(64)}" is not a group name`],
  ])('%j is invalid: tripped nowhere, with the reason', (labels, why) => {
    expect(decideTripScope(labels, ME)).toEqual({ kind: 'invalid', decision: 'invalid', text: why });
  });

  it('reads only own labels, not inherited ones', () => {
    const labels = Object.create({ ess_host: 'h2' }) as Labels;
    expect(decideTripScope(labels, ME).decision).toBe('trip');
  });
});

describe('decideTripScope, property-based', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/);
  // names close to each other, so that matches happen often, plus arbitrary text
  const pool = ['h1', 'h2', 'H1', 'exec', 'eu', 'us', 'fleet', 'Fleet'];
  const value = fc.oneof(fc.constantFrom(...pool), fc.constant(''), name, fc.string({ maxLength: 70 }));
  const labelSet = fc.record(
    { ess_host: value, ess_group: value, ess_scope: fc.oneof(fc.constant('fleet'), value), alertname: fc.string() },
    { requiredKeys: [] },
  );
  const identity = fc.record({
    host: fc.oneof(fc.constantFrom('h1', 'h2', 'H1'), name),
    groups: fc.uniqueArray(fc.oneof(fc.constantFrom('exec', 'eu', 'us'), name), { maxLength: 5 }),
  });
  const present = (labels: Labels, key: string): string | undefined => (labels[key] ? labels[key] : undefined);
  /** The documented rule (docs/fleet.md), independently: equal names, or a short one is the other's first label. */
  const hostNamesMatch = (a: string, b: string): boolean => {
    const [x, y] = [a.toLowerCase(), b.toLowerCase()];
    return x === y || (!x.includes('.') && y.split('.')[0] === x) || (!y.includes('.') && x.split('.')[0] === y);
  };

  it('never trips on a host or group scoped to someone else; both labels require both', () => {
    fc.assert(
      fc.property(labelSet, identity, (labels, me) => {
        const scope = decideTripScope(labels, me);
        const host = present(labels, 'ess_host');
        const group = present(labels, 'ess_group');
        if (scope.decision !== 'trip') return;
        if (host !== undefined) expect(hostNamesMatch(host, me.host), `${host} names ${me.host}`).toBe(true);
        if (group !== undefined) expect(me.groups.map((g) => g.toLowerCase())).toContain(group.toLowerCase());
        const scopeLabel = present(labels, 'ess_scope');
        if (scopeLabel !== undefined) expect(scopeLabel.toLowerCase()).toBe('fleet');
      }),
      { numRuns: 5_000 },
    );
  });

  it('a fleet alert or one without scope labels always trips, whoever receives it', () => {
    fc.assert(
      fc.property(fc.constantFrom({}, { ess_scope: 'fleet' }, { ess_host: '', ess_scope: '' }, { ess_group: '' }), identity, (labels, me) => {
        const text = labels.ess_scope === 'fleet' ? 'fleet' : 'unscoped';
        expect(decideTripScope(labels, me)).toEqual({ kind: 'fleet', decision: 'trip', text });
        expect(text).toMatch(TRIP_REQUEST_SCOPE);
      }),
    );
  });

  it('the host named (in the group named) always trips; the request text is one the controller accepts', () => {
    fc.assert(
      fc.property(identity, fc.boolean(), (me, withGroup) => {
        const group = me.groups[0];
        const labels: Record<string, string> = { ess_host: me.host };
        if (withGroup && group !== undefined) labels.ess_group = group;
        const scope = decideTripScope(labels, me);
        expect(scope.decision).toBe('trip');
        expect(scope.text).toMatch(TRIP_REQUEST_SCOPE);
      }),
    );
  });

  it('decides every label set, and any decision but invalid has a scope text the controller accepts', () => {
    fc.assert(
      fc.property(labelSet, identity, (labels, me) => {
        const scope = decideTripScope(labels, me);
        expect(['trip', 'other_target', 'invalid']).toContain(scope.decision);
        expect(scope.decision === 'invalid').toBe(scope.kind === 'invalid');
        if (scope.kind !== 'invalid') expect(scope.text).toMatch(TRIP_REQUEST_SCOPE);
      }),
      { numRuns: 5_000 },
    );
  });
});
