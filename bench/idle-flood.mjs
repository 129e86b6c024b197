// A local user's connection flood: opens --connections idle TCP connections to --host:--port (sending
// nothing) and holds them, and prints one JSON line once all were opened; with --reopen, every one the
// server closes comes straight back (a churn that never ends); with --pipeline N, each connection
// sends N pipelined `GET /metrics` at once and never reads an answer (a non-reading client, whose
// responses fill the socket buffers). Runs until killed. Each process can hold only as many as its descriptor limit allows: run several.
//   node idle-flood.mjs --port 10170 --connections 15000
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    connections: { type: 'string', default: '15000' },
    reopen: { type: 'boolean', default: false },
    pipeline: { type: 'string', default: '0' },
  },
});
const port = Number(values.port);
const wanted = Number(values.connections);
const pipelined = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(Number(values.pipeline));
let open = 0;
let opened = 0;
let closedByServer = 0;
let failed = 0;

function one() {
  return new Promise((resolve) => {
    const socket = connect({ host: values.host, port });
    let connected = false;
    socket.on('error', () => {});
    socket.once('connect', () => {
      connected = true;
      open += 1;
      opened += 1;
      if (pipelined !== '') socket.write(pipelined);
      resolve(true);
    });
    socket.once('close', () => {
      if (!connected) {
        failed += 1;
        resolve(false);
        return;
      }
      open -= 1;
      closedByServer += 1;
      if (values.reopen) setImmediate(() => void one());
    });
    // a non-reading client: nothing is read, so a close by the server is seen only as a reset
    if (pipelined === '') socket.resume();
  });
}

for (let i = 0; i < wanted; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, wanted - i) }, one));
}
process.stdout.write(`${JSON.stringify({ ready: true, opened, open, closedByServer, failed })}\n`);
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ opened, open, closedByServer, failed })}\n`);
  process.exit(0);
});
setInterval(() => {}, 1 << 30);
