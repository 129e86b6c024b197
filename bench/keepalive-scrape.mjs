// One scraper over a single keep-alive connection, as Prometheus scrapes: what the freshness benches
// share, so a change is timed against the same client whichever exporter or reader they measure.
import { Agent, request } from 'node:http';

/** scrape() resolves the body of url; close() ends the connection. */
export function keepAliveScraper(url) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const scrape = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, agent, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(body));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  return { scrape, close: () => agent.destroy() };
}
