/**
 * Alertmanager webhook payloads (version 4) as Alertmanager 0.25 sends them. Also used by bench/ to
 * build valid requests: keep samplePayload's signature stable.
 */

export interface SampleAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export type SamplePayload = ReturnType<typeof samplePayload>;

/** Go's zero time: endsAt of an alert that is still firing. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

export function sampleAlert(alertname: string, fingerprint: string, overrides: Partial<SampleAlert> = {}): SampleAlert {
  return {
    status: 'firing',
    labels: { alertname, ess_trip: 'true', instance: 'trading-01', severity: 'critical' },
    annotations: { summary: `${alertname} on trading-01` },
    startsAt: '2026-11-24T18:02:17.41Z',
    endsAt: GO_ZERO_TIME,
    generatorURL: `http://prometheus:9090/graph?g0.expr=${encodeURIComponent('quantum_strategy_drawdown_ratio > 0.2')}`,
    fingerprint,
    ...overrides,
  };
}

/** A firing trip alert (ess_trip="true", the default trip rule) in its own group, as the example routes it. */
export function samplePayload(alertname: string, fingerprint: string, alerts: SampleAlert[] = [sampleAlert(alertname, fingerprint)]) {
  const groupLabels = { alertname, ess_trip: 'true', instance: 'trading-01', severity: 'critical' };
  return {
    receiver: 'quantum-ess',
    status: alerts.some((alert) => alert.status === 'firing') ? 'firing' : 'resolved',
    alerts,
    groupLabels,
    commonLabels: groupLabels,
    commonAnnotations: { summary: `${alertname} on trading-01` },
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: `{}/{ess_trip="true"}:{alertname="${alertname}", ess_trip="true", instance="trading-01", severity="critical"}`,
    truncatedAlerts: 0,
  };
}
