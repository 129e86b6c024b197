// A stand-in trading venue for the on-trip action tests: open orders per account, a cancel-all and a
// list of open orders, behind a bearer token, with faults on demand. Plain node:http, no package.
//   node venue.mjs PORT TOKEN
//   GET    /orders?account=A        the account's open orders (a JSON list)
//   DELETE /orders?account=A        cancel-all: {"cancelled":N}
//   POST   /admin/seed?account=A&n=N  N more open orders
//   POST   /admin/fault?cancel=ok|hang|500|ignore   how the next cancels behave (ignore: 200, none cancelled)
//   GET    /admin/stats             {"cancels":N,"lists":N,"cancelled_mono_us":T}: T, CLOCK_MONOTONIC in
//                                    microseconds, when the last cancel-all emptied an account (0: never)
import { createServer } from 'node:http';

const [port = '18080', token = 'venue-token'] = process.argv.slice(2);
const orders = new Map();
const stats = { cancels: 0, lists: 0, cancelled_mono_us: 0 };
let fault = 'ok';
let next = 1;

function send(res, code, body) {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://venue');
  const account = url.searchParams.get('account') ?? 'default';
  if (url.pathname.startsWith('/admin/')) {
    if (url.pathname === '/admin/seed') {
      const list = orders.get(account) ?? [];
      for (let i = 0; i < Number(url.searchParams.get('n') ?? '1'); i++) list.push({ id: next++, account });
      orders.set(account, list);
      return send(res, 200, { open: list.length });
    }
    if (url.pathname === '/admin/fault') {
      fault = url.searchParams.get('cancel') ?? 'ok';
      return send(res, 200, { fault });
    }
    if (url.pathname === '/admin/stats') return send(res, 200, stats);
    return send(res, 404, { error: 'no such admin path' });
  }
  if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: 'unauthorized' });
  if (url.pathname !== '/orders') return send(res, 404, { error: 'not found' });
  if (req.method === 'GET') {
    stats.lists++;
    return send(res, 200, orders.get(account) ?? []);
  }
  if (req.method === 'DELETE') {
    stats.cancels++;
    if (fault === 'hang') return; // never answered: the action's timeout must end it
    if (fault === '500') return send(res, 500, { error: 'internal error' });
    const cancelled = fault === 'ignore' ? 0 : (orders.get(account) ?? []).length;
    if (fault !== 'ignore') {
      orders.set(account, []);
      // process.hrtime is CLOCK_MONOTONIC: the clock the bench reads its trigger time on
      stats.cancelled_mono_us = Number(process.hrtime.bigint() / 1000n);
    }
    return send(res, 200, { cancelled });
  }
  return send(res, 405, { error: 'method not allowed' });
}).listen(Number(port), '127.0.0.1');
