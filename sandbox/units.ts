// The one list of trading and monitor units for tests and benchmarks: the documented defaults of
// deploy/ess.conf (contract/README.md section 2), which sandbox/provision.sh installs stand-ins for.
// test/contract/names.contract.test.ts holds these lists to deploy/ess.conf and the exporter's defaults.

export const TRADING = [
  'quantum-ai-engine.service',
  'quantum-execution.service',
  'quantum-apply-layer.service',
  'quantum-governor.service',
] as const;
export const MONITOR = [
  'grafana-server.service',
  'quantum-rl-monitor.service',
  'redis-server.service',
  'prometheus.service',
] as const;
export const START_ORDER = [
  'quantum-governor.service',
  'quantum-ai-engine.service',
  'quantum-apply-layer.service',
  'quantum-execution.service',
] as const;

/** The latch flag and the persisted latch at their default paths (contract/README.md section 4). */
export const FLAG = '/run/quantum/ESS_ON';
export const LATCHED = '/var/lib/quantum-ess/latched';
