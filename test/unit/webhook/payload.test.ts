import { describe, expect, it } from 'vitest';
import { parsePayload } from '../../../src/webhook/payload.js';
import { type SampleAlert, sampleAlert, samplePayload } from './fixtures.js';

function details(json: unknown): readonly string[] {
  const result = parsePayload(json);
  if (result.ok) throw new Error('expected the payload to be refused');
  return result.details;
}

describe('parsePayload', () => {
  it('accepts an Alertmanager version 4 payload', () => {
    const result = parsePayload(samplePayload('QuantumDrawdownBreach', '1a2b3c4d5e6f7a8b'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.payload.alerts).toHaveLength(1);
    expect(result.payload.alerts[0]).toMatchObject({ status: 'firing', fingerprint: '1a2b3c4d5e6f7a8b', labels: { ess_trip: 'true' } });
  });

  it('tolerates unknown fields at every level', () => {
    const payload = { ...samplePayload('A', 'f1'), newField: { x: [1] } };
    payload.alerts = [{ ...sampleAlert('A', 'f1'), silencedBy: [], extra: null } as SampleAlert];
    expect(parsePayload(payload).ok).toBe(true);
  });

  it('accepts a payload without truncatedAlerts (Alertmanager < 0.22) and empty alert lists', () => {
    const { truncatedAlerts: _dropped, ...older } = samplePayload('A', 'f1');
    expect(parsePayload(older).ok).toBe(true);
    expect(parsePayload({ ...samplePayload('A', 'f1'), alerts: [] }).ok).toBe(true);
  });

  it.each([
    ['version', '3', 'version: "3" is not "4"'],
    ['version', 4, 'version: 4 is not "4"'],
    ['version', undefined, 'version: missing'],
    ['status', 'pending', 'status: "pending" is not "firing" or "resolved"'],
    ['alerts', {}, 'alerts: {} is not a list'],
    ['groupKey', 1, 'groupKey: 1 is not a string'],
    ['receiver', undefined, 'receiver: missing'],
    ['groupLabels', [], 'groupLabels: [] is not an object'],
    ['commonLabels', { a: 1 }, 'commonLabels.a: 1 is not a string'],
    ['commonAnnotations', null, 'commonAnnotations: null is not an object'],
    ['externalURL', false, 'externalURL: false is not a string'],
    ['truncatedAlerts', -1, 'truncatedAlerts: -1 is not a non-negative integer'],
    ['truncatedAlerts', 1.5, 'truncatedAlerts: 1.5 is not a non-negative integer'],
  ])('refuses %s = %j with its path', (field, value, message) => {
    const payload: Record<string, unknown> = { ...samplePayload('A', 'f1') };
    if (value === undefined) delete payload[field];
    else payload[field] = value;
    expect(details(payload)).toEqual([message]);
  });

  it.each([
    ['status', 'active', 'alerts[2].status: "active" is not "firing" or "resolved"'],
    ['labels', { severity: 2 }, 'alerts[2].labels.severity: 2 is not a string'],
    ['labels', null, 'alerts[2].labels: null is not an object'],
    ['annotations', { summary: ['x'] }, 'alerts[2].annotations.summary: ["x"] is not a string'],
    ['startsAt', 'yesterday', 'alerts[2].startsAt: "yesterday" is not an RFC 3339 timestamp'],
    ['startsAt', 1732470000, 'alerts[2].startsAt: 1732470000 is not an RFC 3339 timestamp'],
    ['endsAt', undefined, 'alerts[2].endsAt: missing'],
    ['generatorURL', {}, 'alerts[2].generatorURL: {} is not a string'],
    ['fingerprint', 123, 'alerts[2].fingerprint: 123 is not a string'],
  ])('refuses alerts[2].%s = %j with its path', (field, value, message) => {
    const bad: Record<string, unknown> = { ...sampleAlert('C', 'f3') };
    if (value === undefined) delete bad[field];
    else bad[field] = value;
    const payload = samplePayload('A', 'f1', [sampleAlert('A', 'f1'), sampleAlert('B', 'f2'), bad as unknown as SampleAlert]);
    expect(details(payload)).toEqual([message]);
  });

  it('refuses bodies that are not objects and alerts that are not objects', () => {
    expect(details([])).toEqual(['(body): [] is not an object']);
    expect(details('x')).toEqual(['(body): "x" is not an object']);
    expect(details({ ...samplePayload('A', 'f1'), alerts: [null] })).toEqual(['alerts[0]: null is not an object']);
  });

  it('accepts timestamps with nanoseconds and offsets as Go writes them', () => {
    const alert = sampleAlert('A', 'f1', { startsAt: '2026-11-24T18:02:17.123456789+01:00', endsAt: '0001-01-01T00:00:00Z' });
    expect(parsePayload(samplePayload('A', 'f1', [alert])).ok).toBe(true);
  });

  it('names the first problem only, however many there are', () => {
    const alerts = Array.from({ length: 2000 }, (_, i) => ({ ...sampleAlert('A', `f${i}`), fingerprint: i }));
    expect(details({ ...samplePayload('A', 'f1'), alerts })).toEqual(['alerts[0].fingerprint: 0 is not a string']);
    expect(details({ ...samplePayload('A', 'f1'), version: '5', alerts })).toEqual(['version: "5" is not "4"']);
  });
});
