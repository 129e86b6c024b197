// Types of the prom-client process collectors src/collectors/process-metrics.ts imports one by one
// (prom-client types only its package entry point): each registers its metrics in the registry given.
type ProcessCollector = (registry: import('prom-client').Registry, config: Record<string, never>) => void;

declare module 'prom-client/lib/metrics/processCpuTotal.js' {
  const collector: ProcessCollector;
  export default collector;
}
declare module 'prom-client/lib/metrics/processStartTime.js' {
  const collector: ProcessCollector;
  export default collector;
}
declare module 'prom-client/lib/metrics/osMemoryHeap.js' {
  const collector: ProcessCollector;
  export default collector;
}
declare module 'prom-client/lib/metrics/processOpenFileDescriptors.js' {
  const collector: ProcessCollector;
  export default collector;
}
declare module 'prom-client/lib/metrics/processMaxFileDescriptors.js' {
  const collector: ProcessCollector;
  export default collector;
}
