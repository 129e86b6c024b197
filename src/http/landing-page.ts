const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

export function landingPage(version: string, telemetryPath = '/metrics'): string {
  const metrics = escapeHtml(telemetryPath);
  // relative, as the other links: the page also works behind a proxy that adds a prefix
  const href = metrics.slice(1);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Quantum ESS exporter</title></head>
<body>
<h1>Quantum ESS exporter</h1>
<p>Emergency Stop System state for Prometheus. Version ${escapeHtml(version)}.</p>
<ul>
<li><a href="${href}">${metrics}</a> &ndash; Prometheus metrics</li>
<li><a href="healthz">/healthz</a> &ndash; health of the exporter's own reads (503 while failing)</li>
<li>POST /alertmanager &ndash; Alertmanager webhook receiver: trips the ESS on configured alerts</li>
</ul>
</body>
</html>
`;
}
