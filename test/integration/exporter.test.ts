// The exporter as installed (hardened unit, user quantum-ess) next to real systemd: metrics follow the
// latch and the units, match the controller's state file, survive a hung systemctl, pass promtool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG, MONITOR, metricValue, Sandbox, TRADING } from '../../sandbox/sandbox.js';

const METRICS = 'http://127.0.0.1:10170/metrics';
let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-exporter');
  await box.requireExporter();
});
afterAll(async () => {
  await box?.shutdown();
});

const scrape = (): Promise<string> => box.scrape();
const sample = metricValue;

function currentState(text: string, unit: string): string[] {
  const re = new RegExp(`^ess_unit_state\\{unit="${unit.replace(/\./g, '\\.')}",role="[a-z]+",state="([a-z-]+)"\\} 1$`, 'gm');
  return [...text.matchAll(re)].map((m) => m[1] ?? '');
}

async function restartExporter(): Promise<void> {
  await box.mustRun('systemctl', 'restart', 'quantum-ess-exporter.service');
  await box.sh(`for i in $(seq 100); do curl -fs --max-time 1 ${METRICS} >/dev/null && exit 0; sleep 0.05; done; exit 1`);
}

describe('exporter on real systemd', () => {
  it('runs as the unprivileged quantum-ess user with a low systemd-analyze security exposure', async () => {
    const pid = await box.show('quantum-ess-exporter.service', 'MainPID');
    expect((await box.mustRun('ps', '-o', 'user=', '-p', pid)).trim()).toBe('quantum-ess');
    const security = await box.mustRun('systemd-analyze', 'security', '--no-pager', 'quantum-ess-exporter.service');
    const exposure = Number(/Overall exposure level for quantum-ess-exporter.service: ([0-9.]+)/.exec(security)?.[1]);
    console.log(`systemd-analyze security exposure: ${exposure}`);
    expect(exposure).toBeLessThanOrEqual(1.5);
    // who may connect is decided on the socket systemd holds; the service opens no IP socket itself
    for (const unit of ['quantum-ess-exporter.socket', 'quantum-ess-exporter.service']) {
      const list = async (property: string): Promise<string[]> => (await box.show(unit, property)).split(' ').sort();
      expect(await list('IPAddressDeny'), unit).toEqual(['0.0.0.0/0', '::/0']);
      expect(await list('IPAddressAllow'), unit).toEqual(['127.0.0.0/8', '::1/128']);
    }
  });

  it('cannot write or remove the latch flag, start or stop a unit, or touch the state', async () => {
    const as = ['systemd-run', '--wait', '--pipe', '--quiet', '-p', 'User=quantum-ess', '-p', 'Group=quantum-ess'];
    expect((await box.run(...as, 'touch', FLAG)).exitCode).not.toBe(0);
    expect((await box.run(...as, 'systemctl', 'stop', TRADING[0])).exitCode).not.toBe(0);
    expect(await box.exists(FLAG)).toBe(false);
    expect(await box.show(TRADING[0], 'ActiveState')).toBe('active');
    expect((await box.ess('activate', '--reason', 'privilege test')).exitCode).toBe(0);
    expect((await box.run(...as, 'rm', '-f', FLAG)).exitCode).not.toBe(0);
    expect((await box.run(...as, 'systemctl', 'start', TRADING[0])).exitCode).not.toBe(0);
    expect((await box.run(...as, 'touch', '/var/lib/quantum-ess/state.json')).exitCode).not.toBe(0);
    expect((await box.run(...as, 'ls', '/var/spool/quantum-ess/processed')).exitCode).not.toBe(0);
    expect(await box.exists(FLAG)).toBe(true);
    expect(await box.show(TRADING[0], 'ActiveState')).not.toBe('active');
    expect((await box.ess('deactivate', '--no-start')).exitCode).toBe(0);
    await box.mustRun('systemctl', 'start', ...TRADING);
  });

  it('passes promtool check metrics', async () => {
    const r = await box.sh(`curl -fsS ${METRICS} | promtool check metrics`);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('shows ess_active 0 -> 1 and the unit states flip on activation; latency equals the state file', async () => {
    const before = await scrape();
    expect(sample(before, 'ess_active')).toBe(0);
    expect(sample(before, 'ess_switch_armed')).toBe(1);
    for (const unit of [...TRADING, ...MONITOR]) expect(currentState(before, unit)).toEqual(['active']);

    expect((await box.ess('activate', '--reason', 'exporter test')).exitCode).toBe(0);
    const after = await scrape();
    expect(sample(after, 'ess_active')).toBe(1);
    expect(sample(after, 'ess_latch_violation')).toBe(0);
    for (const unit of TRADING) expect(['inactive', 'failed']).toContain(currentState(after, unit)[0]);
    for (const unit of MONITOR) expect(currentState(after, unit)).toEqual(['active']);
    const state = await box.stateJson();
    expect(sample(after, 'ess_last_activation_latency_seconds')).toBe(state.last_activation?.latency_seconds);
    expect(sample(after, 'ess_last_activation_timestamp_seconds')).toBe(state.last_activation?.trigger_time);
    expect(sample(after, 'ess_activations_total{source="cli"}')).toBe(state.activations_total.cli);

    expect((await box.ess('deactivate', '--no-start')).exitCode).toBe(0);
    const resumed = await scrape();
    expect(sample(resumed, 'ess_active')).toBe(0);
    expect(sample(resumed, 'ess_last_deactivation_timestamp_seconds')).toBeGreaterThan(0);
    await box.mustRun('systemctl', 'start', ...TRADING);
  });

  it('shows a touched flag on the next scrape', async () => {
    // Time from touching the flag to the first scrape that shows it, scraping back to back.
    const r = await box.sh(`
      t0=$(date +%s%N); touch ${FLAG}
      until curl -fs ${METRICS} | grep -qx 'ess_active 1'; do :; done
      echo $(( ($(date +%s%N) - t0) / 1000000 ))`);
    expect(Number(r.stdout.trim())).toBeLessThan(1000);
    await box.sh('until [ "$(systemctl is-active quantum-ess-trigger.service)" = active ]; do sleep 0.05; done');
    await box.ess('deactivate', '--no-start');
    await box.mustRun('systemctl', 'start', ...TRADING);
  });

  it('still reports masked and not-found units', async () => {
    await box.sh(
      "ln -sf /dev/null /etc/systemd/system/quantum-masked.service && systemctl daemon-reload && " +
        "sed -i 's/^MONITOR_UNITS=.*/MONITOR_UNITS=\"grafana-server quantum-rl-monitor redis-server prometheus quantum-masked quantum-ghost\"/' /etc/quantum/ess.conf",
    );
    try {
      await box.reinstall();
      await restartExporter();
      const text = await scrape();
      expect(currentState(text, 'quantum-masked.service')).toEqual(['masked']);
      expect(currentState(text, 'quantum-ghost.service')).toEqual(['not-found']);
    } finally {
      await box.sh(
        "sed -i 's/^MONITOR_UNITS=.*/MONITOR_UNITS=\"grafana-server quantum-rl-monitor redis-server prometheus\"/' /etc/quantum/ess.conf && " +
          'rm -f /etc/systemd/system/quantum-masked.service && systemctl daemon-reload',
      );
      await box.reinstall();
      await restartExporter();
    }
  });

  it('keeps serving /metrics quickly with last-known values when the bus is unavailable', async () => {
    // no bus at that address: the unit states are unknown, and a scrape does not wait for them
    await box.sh(
      "sed -i -e 's#\"system_bus_address\": .*#\"system_bus_address\": \"unix:path=/run/no-such-bus\",#' /etc/quantum/ess-exporter.json",
    );
    try {
      await restartExporter();
      const r = await box.sh(`
        for i in 1 2 3; do
          s=$(date +%s%N); curl -fsS --max-time 10 ${METRICS} > /tmp/m || exit 1; e=$(date +%s%N)
          echo $(( (e - s) / 1000000 ))
        done`);
      expect(r.exitCode).toBe(0);
      const worst = Math.max(...r.stdout.trim().split('\n').map(Number));
      expect(worst).toBeLessThan(3000); // dbus_timeout_seconds is 2
      const text = await box.readFile('/tmp/m');
      expect(sample(text, 'ess_exporter_unit_source{source="dbus"}')).toBe(0);
      expect(sample(text, 'ess_exporter_read_ok{source="systemd"}')).toBe(0);
      expect(sample(text, 'ess_exporter_read_errors_total{source="systemd"}')).toBeGreaterThan(0);
      expect(sample(text, 'ess_verdict{verdict="unknown"}')).toBe(1);
      expect(sample(text, 'ess_active')).toBe(0);
      const health = await box.run('curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:10170/healthz');
      expect(health.stdout).toBe('503');
    } finally {
      await box.sh(
        "sed -i -e 's#\"system_bus_address\": .*#\"system_bus_address\": \"unix:path=/run/dbus/system_bus_socket\",#' /etc/quantum/ess-exporter.json",
      );
      await restartExporter();
    }
  });

  it('keeps its address across restarts and crashes: a local user binding it in a loop never wins; status and the drill name one that holds it', async () => {
    // nobody, binding 127.0.0.1:10170 as fast as it can: prints its wins; with "hold", keeps the first
    const impostor = (mode: 'count' | 'hold', seconds: number): string =>
      `setpriv --reuid=65534 --regid=65534 --clear-groups node -e '
        const net = require("net"); let wins = 0; const end = Date.now() + ${seconds} * 1000;
        const attempt = () => {
          if (Date.now() > end) { console.log(wins); process.exit(0); }
          const s = net.createServer(() => {}); s.once("error", () => setImmediate(attempt));
          s.listen(10170, "127.0.0.1", () => { wins += 1; if ("${mode}" === "count") s.close(() => setImmediate(attempt)); });
        };
        attempt();'`;
    expect((await box.run('ss', '-Hltnp', 'sport = :10170')).stdout).toContain('"systemd",pid=1,');
    await box.mustRun('systemctl', 'reset-failed', 'quantum-ess-exporter.service');
    const restarts = `
      ${impostor('count', 12)} > /tmp/impostor-wins &
      sleep 0.5
      for i in 1 2 3 4 5; do systemctl restart quantum-ess-exporter.service; sleep 0.3; done
      for i in 1 2 3; do systemctl kill -s KILL quantum-ess-exporter.service; sleep 2.5; done
      systemctl reset-failed quantum-ess-exporter.service; systemctl start quantum-ess-exporter.service
      wait; cat /tmp/impostor-wins`;
    const raced = await box.sh(restarts);
    expect(raced.stdout.trim(), raced.stderr).toBe('0');
    const text = await box.sh(`for i in $(seq 100); do curl -fs --max-time 1 ${METRICS} && exit 0; sleep 0.05; done; exit 1`);
    expect(sample(text.stdout, 'ess_exporter_listener_systemd_socket')).toBe(1);
    const healthy = await box.ess('status');
    expect(healthy.stdout).not.toContain('exporter address');

    // a trip through the address still latches
    const body = JSON.stringify({
      version: '4', groupKey: '{}:{alertname="PortRace"}', truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess',
      groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am:9093',
      alerts: [{ status: 'firing', labels: { alertname: 'PortRace', ess_trip: 'true' }, annotations: {},
        startsAt: '2026-11-26T06:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://p', fingerprint: 'race1' }],
    });
    const trip = await box.sh(
      `curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat /etc/quantum/ess-webhook.token)" ` +
        `-H 'Content-Type: application/json' --data-binary '${body}' http://127.0.0.1:10170/alertmanager`,
    );
    expect(trip.stdout).toBe('200');
    await box.sh(`for i in $(seq 100); do test -e ${FLAG} && exit 0; sleep 0.05; done; exit 1`);
    expect(await box.exists(FLAG)).toBe(true);
    await box.reset();

    // the socket unit stopped (by hand): the port is free, a local user takes it; status and the drill say so
    await box.mustRun('systemctl', 'stop', 'quantum-ess-exporter.service', 'quantum-ess-exporter.socket');
    await box.sh(`${impostor('hold', 60)} >/dev/null 2>&1 & echo $! > /tmp/impostor.pid; sleep 1`);
    try {
      const warned = await box.ess('status');
      expect(warned.stdout).toMatch(/WARNING: {2}exporter address: 127\.0\.0\.1:10170 is listened on by node \(PID [0-9]+, user nobody\), not by systemd for the ESS/);
      const drill = await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run');
      expect(drill.stdout).toMatch(/exporter.*the exporter's address is not the ESS's/);
      // and the exporter cannot start without its socket
      expect((await box.run('systemctl', 'start', 'quantum-ess-exporter.service')).exitCode).not.toBe(0);
    } finally {
      await box.sh('kill "$(cat /tmp/impostor.pid)" 2>/dev/null; sleep 0.2');
      await box.mustRun('systemctl', 'reset-failed', 'quantum-ess-exporter.service', 'quantum-ess-exporter.socket');
      await box.mustRun('systemctl', 'start', 'quantum-ess-exporter.socket');
      await restartExporter();
    }
  });

  it('serves the webhook over HTTPS as user quantum-ess, trips only in its scope, and swaps the certificate on reload', async () => {
    const alert = (fingerprint: string, labels: Record<string, string>): string =>
      JSON.stringify({
        version: '4', groupKey: '{}:{alertname="FleetTest"}', truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess',
        groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am:9093',
        alerts: [{ status: 'firing', labels: { alertname: 'FleetTest', ess_trip: 'true', ...labels }, annotations: {},
          startsAt: '2026-11-26T06:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://p', fingerprint }],
      });
    const makeCert = (name: string): string =>
      // the sandbox has a fresh /etc: no openssl.cnf
      `OPENSSL_CONF=/dev/null openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /etc/quantum/tls/${name}.key ` +
      `-out /etc/quantum/tls/${name}.crt -days 2 -subj /CN=${name} -addext subjectAltName=IP:127.0.0.1 && ` +
      `chown root:quantum-ess /etc/quantum/tls/${name}.key && chmod 0640 /etc/quantum/tls/${name}.key`;
    const post = (body: string, cacert: string): string =>
      `curl -sS -o /tmp/answer -w '%{http_code}' --cacert /etc/quantum/tls/${cacert}.crt ` +
      `-H "Authorization: Bearer $(cat /etc/quantum/ess-webhook.token)" -H 'Content-Type: application/json' ` +
      `--data-binary '${body}' https://127.0.0.1:10170/alertmanager`;
    await box.mustRun('cp', '/etc/quantum/ess-exporter.json', '/etc/quantum/ess-exporter.json.orig');
    try {
      // the key is root:quantum-ess 0640: readable by the exporter under ProtectSystem=strict
      const made = await box.sh(`mkdir -p /etc/quantum/tls && ${makeCert('one')} && ${makeCert('two')} && ` +
        'cp /etc/quantum/tls/one.crt /etc/quantum/tls/live.crt && cp -p /etc/quantum/tls/one.key /etc/quantum/tls/live.key');
      expect(made.exitCode, made.stderr).toBe(0);
      await box.mustRun('node', '-e', `
        const fs = require('fs'); const f = '/etc/quantum/ess-exporter.json'; const c = JSON.parse(fs.readFileSync(f, 'utf8'));
        Object.assign(c, { host: 'h1', groups: ['exec'], tls_cert_file: '/etc/quantum/tls/live.crt', tls_key_file: '/etc/quantum/tls/live.key' });
        fs.writeFileSync(f, JSON.stringify(c, null, 2));`);
      // the tests before restarted it often: systemd's start rate limit would refuse this one
      await box.mustRun('systemctl', 'reset-failed', 'quantum-ess-exporter.service');
      await box.mustRun('systemctl', 'restart', 'quantum-ess-exporter.service');
      const https = await box.sh(
        'for i in $(seq 100); do curl -fs --max-time 1 --cacert /etc/quantum/tls/one.crt https://127.0.0.1:10170/metrics > /tmp/m && exit 0; sleep 0.05; done; exit 1',
      );
      expect(https.exitCode).toBe(0);
      expect(sample(await box.readFile('/tmp/m'), 'ess_identity_info{host="h1",groups="exec"}')).toBe(1);
      expect((await box.run('curl', '-fs', '--max-time', '2', METRICS)).exitCode).not.toBe(0);

      // scoped to another host: 200, not tripped, counted
      expect((await box.sh(post(alert('f1', { ess_host: 'h2' }), 'one'))).stdout).toBe('200');
      expect(await box.readFile('/tmp/answer')).toContain('"other_target":[{');
      expect(await box.exists(FLAG)).toBe(false);

      // the certificate is renewed; systemctl reload (SIGHUP) puts it in use without a restart
      const pid = await box.show('quantum-ess-exporter.service', 'MainPID');
      await box.mustRun('sh', '-c', 'cp /etc/quantum/tls/two.crt /etc/quantum/tls/live.crt.new && cp -p /etc/quantum/tls/two.key /etc/quantum/tls/live.key.new && ' +
        'mv /etc/quantum/tls/live.key.new /etc/quantum/tls/live.key && mv /etc/quantum/tls/live.crt.new /etc/quantum/tls/live.crt');
      await box.mustRun('systemctl', 'reload', 'quantum-ess-exporter.service');
      const renewed = await box.sh(
        'for i in $(seq 100); do curl -fs --max-time 1 --cacert /etc/quantum/tls/two.crt https://127.0.0.1:10170/metrics > /tmp/m && exit 0; sleep 0.05; done; exit 1',
      );
      expect(renewed.exitCode).toBe(0);
      expect(await box.show('quantum-ess-exporter.service', 'MainPID')).toBe(pid);
      expect(sample(await box.readFile('/tmp/m'), 'ess_webhook_tls_reload_total{result="ok"}')).toBeGreaterThanOrEqual(1);

      // scoped to this host: trips, and the scope reaches the controller's record
      expect((await box.sh(post(alert('f2', { ess_host: 'h1', ess_group: 'exec' }), 'two'))).stdout).toBe('200');
      for (let i = 0; i < 100 && (await box.stateJson().catch(() => null))?.last_activation?.scope !== 'host:h1'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await box.stateJson()).last_activation).toMatchObject({ source: 'alertmanager', scope: 'host:h1' });
    } finally {
      await box.mustRun('mv', '/etc/quantum/ess-exporter.json.orig', '/etc/quantum/ess-exporter.json');
      await box.ess('deactivate', '--no-start');
      await box.mustRun('systemctl', 'reset-failed', 'quantum-ess-exporter.service');
      await restartExporter();
    }
  });

  it('a web config from exporter-toolkit\'s docs (mutual TLS, basic auth): the drill scrapes with ess-drill.curlrc, names it when missing, refuses one others can write or one that sets more than how to reach it', async () => {
    const tls = '/etc/quantum/tls';
    const ssl = 'OPENSSL_CONF=/dev/null openssl';
    const made = await box.sh([
      `mkdir -p ${tls} && cd ${tls}`,
      `${ssl} req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.crt -days 2 -subj /CN=ess -addext subjectAltName=IP:127.0.0.1`,
      `${ssl} req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out clients-ca.crt -days 2 -subj /CN=clients`,
      `${ssl} req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout drill.key -out drill.csr -subj /CN=drill`,
      `${ssl} x509 -req -in drill.csr -CA clients-ca.crt -CAkey ca.key -CAcreateserial -out drill.crt -days 2`,
      'chown root:quantum-ess srv.key && chmod 0640 srv.key',
    ].join(' && '));
    expect(made.exitCode, made.stderr).toBe(0);
    const hash = (await box.mustRun('node', '-e', 'console.log(require("/opt/quantum-ess-src/node_modules/bcryptjs").hashSync("s3cret", 4))')).trim();
    const write = async (file: string, lines: string[]): Promise<void> => {
      expect((await box.sh(`cat > ${file} <<'EOF'\n${lines.join('\n')}\nEOF`)).exitCode).toBe(0);
    };
    const webConfig = '/etc/quantum/ess-web-config.yml';
    await box.mustRun('cp', webConfig, `${webConfig}.orig`);
    try {
      await write(webConfig, [
        'tls_server_config:',
        `  cert_file: ${tls}/srv.crt`,
        `  key_file: ${tls}/srv.key`,
        '  client_auth_type: RequireAndVerifyClientCert',
        `  client_ca_file: ${tls}/clients-ca.crt`,
        '  min_version: TLS12',
        'basic_auth_users:',
        `  prometheus: ${hash}`,
      ]);
      await box.mustRun('systemctl', 'reset-failed', 'quantum-ess-exporter.service');
      await box.mustRun('systemctl', 'restart', 'quantum-ess-exporter.service');
      const scrapeWith = `curl -fsS --max-time 2 --cacert ${tls}/srv.crt --cert ${tls}/drill.crt --key ${tls}/drill.key -u prometheus:s3cret https://127.0.0.1:10170/metrics`;
      expect((await box.sh(`for i in $(seq 100); do ${scrapeWith} >/dev/null && exit 0; sleep 0.05; done; exit 1`)).exitCode).toBe(0);
      // what Prometheus without the client certificate gets: the handshake refused
      expect((await box.sh(`curl -fsS --max-time 2 --cacert ${tls}/srv.crt -u prometheus:s3cret https://127.0.0.1:10170/metrics`)).exitCode).not.toBe(0);

      const drill = async (): Promise<string> => (await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run')).stdout;
      const without = await drill();
      expect(without).toMatch(/FAIL exporter .*does not answer \(unit active; curl: \(\d+\)[^)]*\).*fix: if its web config asks for TLS, a client certificate or a password, say how root scrapes it in \/etc\/quantum\/ess-drill\.curlrc/);

      const curlrc = '/etc/quantum/ess-drill.curlrc';
      const working = [
        'url = "https://127.0.0.1:10170/metrics"',
        `cacert = "${tls}/srv.crt"`,
        '# a client certificate the client_ca_file vouches for',
        `cert = "${tls}/drill.crt"`,
        `key = "${tls}/drill.key"`,
        'user = "prometheus:s3cret"',
      ];
      await write(curlrc, working);
      await box.mustRun('chmod', '0600', curlrc);
      const withIt = await drill();
      expect(withIt).toMatch(/PASS exporter +https:\/\/127\.0\.0\.1:10170\/metrics answers, ess_active=0/);
      expect(withIt).toMatch(/SUMMARY: PASS/);
      // --exporter-url still wins over the file's url, the file's credentials kept
      expect((await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run', '--exporter-url', 'https://localhost:10170/metrics')).stdout)
        .toMatch(/FAIL exporter .*https:\/\/localhost:10170\/metrics does not answer/);

      // a file others can change chooses what root runs curl with: never used
      await box.mustRun('chmod', '0666', curlrc);
      expect(await drill()).toMatch(/FAIL exporter +not scraped: \/etc\/quantum\/ess-drill\.curlrc is owned by uid 0 with mode 666.*fix: sudo chown root:root \/etc\/quantum\/ess-drill\.curlrc && sudo chmod 0600/);
      await box.mustRun('chmod', '0600', curlrc);

      // root's own file still only says how to reach the exporter: an option that would write a
      // file (even through a nested config), or outlast the drill's 2 s (curl takes an option's
      // last value), is refused whole and the drill neither writes nor hangs
      const nested = '/etc/quantum/ess-drill.nested';
      await write(nested, ['output = "/etc/quantum/written-by-nested"']);
      const hostile = [
        'output = "/etc/quantum/written-by-curlrc"',
        `config = "${nested}"`,
        `-K ${nested}`,
        'max-time = 600',
        'retry = 100',
      ];
      for (const line of hostile) {
        await write(curlrc, [...working, line]);
        const refused = await drill();
        expect(refused, line).toMatch(/FAIL exporter +not scraped: \/etc\/quantum\/ess-drill\.curlrc line 7 sets what the drill does not take from it \(only url, cacert, capath, cert, cert-type, key, key-type, pass, user,/);
      }
      expect((await box.sh('ls /etc/quantum/written-by-curlrc /etc/quantum/written-by-nested')).exitCode).not.toBe(0);
      // a path the file names that blocks curl on open (a FIFO no one writes): the drill still ends
      await box.mustRun('mkfifo', '/run/ess-drill-fifo');
      await write(curlrc, [...working.filter((l) => !l.startsWith('cacert')), 'cacert = "/run/ess-drill-fifo"']);
      expect(await drill()).toMatch(/FAIL exporter .*https:\/\/127\.0\.0\.1:10170\/metrics does not answer/);
      await box.mustRun('rm', '/run/ess-drill-fifo');
      await box.mustRun('rm', nested);
      await box.mustRun('rm', curlrc);
    } finally {
      await box.mustRun('mv', `${webConfig}.orig`, webConfig);
      await box.mustRun('systemctl', 'reset-failed', 'quantum-ess-exporter.service');
      await restartExporter();
    }
  }, 300_000);
});
