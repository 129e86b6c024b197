// The trip spool is a small tmpfs that the unprivileged side can write into. Whoever fills it (a member
// of group quantum-ess with one dd, a holder of the webhook token with thousands of distinct alerts),
// the next genuine trip must still latch at once, and every surface must say what was dropped. And a
// writer can never withdraw a request it put into incoming/: every request that latched is recorded.
// All on REAL systemd with the installed ESS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, TRADING } from '../../sandbox/sandbox.js';

const SPOOL = '/var/spool/quantum-ess';
const FLAG = '/run/quantum/ESS_ON';
// a member of the group that is not the exporter's user: what the spool's permissions must hold against
const MEMBER = 'setpriv --reuid=spoolfiller --regid=quantum-ess --init-groups';
let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-spool-full');
  await box.requireExporter();
  await box.mustRun('useradd', '-M', '-G', 'quantum-ess', 'spoolfiller');
});
afterAll(async () => {
  await box?.shutdown();
});

function payload(fingerprints: readonly string[], startsAt = '2026-01-01T00:00:00Z'): string {
  const alerts = fingerprints.map((fingerprint, i) => ({
    status: 'firing', labels: { alertname: 'SpoolTest', ess_trip: 'true', n: String(i) }, annotations: {},
    startsAt, endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint,
  }));
  return JSON.stringify({
    version: '4', groupKey: 'g', status: 'firing', receiver: 'ess', groupLabels: {}, commonLabels: {},
    commonAnnotations: {}, externalURL: 'http://am', alerts,
  });
}

/** POSTs as Alertmanager does; the HTTP status and the time until the flag exists, in seconds. */
async function trip(fingerprint: string): Promise<{ code: string; latchedAfter: number }> {
  await box.sh(`cat > /tmp/body.json <<'EOF'\n${payload([fingerprint], new Date().toISOString())}\nEOF`);
  const r = await box.sh(
    't0=$(date +%s%N); code=$(curl -sS -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $(cat /etc/quantum/ess-webhook.token)" ' +
      '-H "Content-Type: application/json" --data-binary @/tmp/body.json http://127.0.0.1:10170/alertmanager); ' +
      `for i in $(seq 500); do [ -e ${FLAG} ] && break; sleep 0.01; done; echo "$code $(( ($(date +%s%N) - t0) / 1000000 ))"`,
  );
  const [code = '', ms = ''] = r.stdout.trim().split(' ');
  return { code, latchedAfter: Number(ms) / 1000 };
}

async function metric(name: string): Promise<number> {
  const text = await box.scrape();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

async function fresh(): Promise<void> {
  await box.ess('deactivate', '--no-start', '--reason', 'next case');
  expect(await box.exists(FLAG)).toBe(false);
}

type AuditEvent = { seq: number; event: string; room?: string; tmp_entries?: number; count?: number };

async function audit(): Promise<AuditEvent[]> {
  const text = await box.readFile('/var/log/quantum-ess/audit.jsonl').catch(() => '');
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
}

/** Polls the audit trail until predicate holds of it (or the time is up); returns it. */
async function auditUntil(predicate: (events: AuditEvent[], text: string) => boolean, timeoutMs = 10_000): Promise<AuditEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await box.readFile('/var/log/quantum-ess/audit.jsonl').catch(() => '');
    const events = text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
    if (predicate(events, text) || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The sweep (every 5 s) has cleaned up after audit line AFTER: the audit line and the journal say what went. */
async function expectCleanupSaid(after: number, room: 'low' | 'ok', tmpEntries: string): Promise<void> {
  let cleanup: AuditEvent | undefined;
  for (let i = 0; i < 150 && cleanup === undefined; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    cleanup = (await audit()).find((e) => e.event === 'spool-cleanup' && e.seq > after);
  }
  expect(cleanup?.room).toBe(room);
  expect(String(cleanup?.tmp_entries)).toMatch(new RegExp(`^${tmpEntries}$`));
  const journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '-o', 'cat', '--no-pager');
  expect(journal).toMatch(new RegExp(`trip spool ${SPOOL} \\(room: ${room}\\): removed ${tmpEntries} entries of tmp/`));
}

/**
 * The sweep (every 5 s) would clean up between the fill and the trip now and then: held while a case
 * needs the spool full at the instant of its trip, started again to see it clean up.
 */
async function holdSweep(): Promise<void> {
  await box.mustRun('systemctl', 'stop', 'quantum-ess-trip-sweep.timer');
  await box.sh('while [ "$(systemctl show -P ActiveState quantum-ess-trip.service)" = activating ]; do sleep 0.05; done');
}

async function lastSeq(): Promise<number> {
  return (await audit()).at(-1)?.seq ?? 0;
}

describe('a full trip spool on real systemd', () => {
  it('bytes filled by a group member (one dd): the next trip latches at once, delivered empty, and the sweep empties tmp/', async () => {
    const seq = await lastSeq();
    await holdSweep();
    await box.sh(`${MEMBER} dd if=/dev/zero of=${SPOOL}/tmp/junk bs=1M count=40 2>/dev/null; true`);
    expect((await box.mustRun('df', '--output=avail', SPOOL)).split('\n')[1]?.trim()).toBe('0');
    const before = await metric('ess_webhook_trip_fallbacks_total{how="emptied"}');
    const r = await trip('bytesfull');
    expect(r.code).toBe('200');
    expect(r.latchedAfter).toBeLessThan(2);
    await box.waitFor(TRADING, ['inactive', 'failed'], 5000);
    expect(await metric('ess_webhook_trip_fallbacks_total{how="emptied"}')).toBe(before + 1);
    const exporterLog = await box.mustRun('journalctl', '-u', 'quantum-ess-exporter', '-o', 'cat', '--no-pager');
    expect(exporterLog).toMatch(/ERROR trip request incoming\/\d+-bytesfull-[0-9a-f]+ delivered EMPTY.*ENOSPC/);
    await box.mustRun('systemctl', 'start', 'quantum-ess-trip-sweep.timer');
    await expectCleanupSaid(seq, 'low', '1');
    expect(await box.exists(`${SPOOL}/tmp/junk`)).toBe(false);
    const journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '-o', 'cat', '--no-pager');
    expect(journal).toMatch(/trip request \d+-bytesfull-[0-9a-f]+: source=trip-request scope=unknown reason=trip request .* without a reason/);
    await fresh();
  });

  it('inodes and bytes filled by a group member: the receiver\'s reserve carries the trip, whole', async () => {
    const seq = await lastSeq();
    await holdSweep();
    await box.sh(`${MEMBER} bash -c 'cd ${SPOOL}/tmp && for ((i = 0; ; i++)); do : 2>/dev/null > f$i || break; done; dd if=/dev/zero of=f0 bs=1M count=40 2>/dev/null; true'`);
    expect((await box.mustRun('df', '--output=iavail', SPOOL)).split('\n')[1]?.trim()).toBe('0');
    expect(await metric('ess_webhook_trip_reserve')).toBe(4);
    const r = await trip('inodesfull');
    expect(r.code).toBe('200');
    expect(r.latchedAfter).toBeLessThan(2);
    await box.waitFor(TRADING, ['inactive', 'failed'], 5000);
    expect(await metric('ess_webhook_trip_fallbacks_total{how="reserve"}')).toBe(1);
    await box.mustRun('systemctl', 'start', 'quantum-ess-trip-sweep.timer');
    // the claim found no room for its batch and made some; the request is recorded with its own reason
    await auditUntil((_, text) => text.includes('fingerprint=inodesfull'));
    const journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '-o', 'cat', '--no-pager');
    expect(journal).toMatch(/trip request \d+-inodesfull-[0-9a-f]+: source=alertmanager scope=unscoped reason=alert SpoolTest fingerprint=inodesfull/);
    await expectCleanupSaid(seq, 'low', '[0-9]{4,5}');
    // the reserve is topped up again once there is room
    await box.sh('for i in $(seq 100); do [ "$(ls /var/spool/quantum-ess/reserve | wc -l)" -ge 4 ] && exit 0; sleep 0.1; done; exit 1');
    expect(await metric('ess_webhook_trip_reserve')).toBe(4);
    await fresh();
  });

  it('inodes held open by a group member across an exporter restart: the adopted reserve carries the trips, and once spent every surface says so', async () => {
    // files held open keep their inodes whatever the sweep unlinks: the spool stays full
    await box.mustRun(
      'systemd-run', '--unit=spool-hold', '-p', 'User=spoolfiller', '-p', 'Group=users', '-p', 'SupplementaryGroups=quantum-ess',
      '-p', 'LimitNOFILE=20000', 'node', '-e',
      `const fs=require("fs"),k=[];let n=0;const g=()=>{for(;;){try{k.push(fs.openSync("${SPOOL}/tmp/h"+n++,"wx"))}catch{break}}};g();setInterval(g,5)`,
    );
    try {
      await box.sh(`for i in $(seq 200); do [ "$(df --output=iavail ${SPOOL} | tail -n 1 | tr -d ' ')" = 0 ] && exit 0; sleep 0.05; done; exit 1`);
      // the member cannot reach the reserve at all
      expect((await box.sh(`${MEMBER} sh -c ': > ${SPOOL}/reserve/mine' 2>&1`)).stdout).toMatch(/Permission denied/);
      await box.mustRun('systemctl', 'restart', 'quantum-ess-exporter');
      let adopted = Number.NaN;
      // the restarted receiver adopts the spares in its first moments
      for (let i = 0; i < 50 && !(adopted >= 4); i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
        adopted = await metric('ess_webhook_trip_reserve');
      }
      expect(adopted).toBeGreaterThanOrEqual(4);
      const first = await trip('heldfull0');
      expect(first.code).toBe('200');
      expect(first.latchedAfter).toBeLessThan(2);
      // Each consumed request frees an inode, and the receiver tops up at once: it may win one back from
      // the holder, which is right (room is room). So spend until a trip finds no spare, within a bound.
      const codes: string[] = [];
      for (let i = 1; i < adopted + 10 && codes.at(-1) !== '500'; i++) codes.push((await trip(`heldfull${i}`)).code);
      expect(codes.at(-1)).toBe('500');
      expect(codes.slice(0, -1).every((c) => c === '200')).toBe(true);
      expect(codes.length).toBeGreaterThanOrEqual(adopted);
      expect(await metric('ess_webhook_trip_reserve')).toBe(0);
      const health = await box.sh('curl -sS http://127.0.0.1:10170/healthz');
      expect(health.stdout).toMatch(/"status":"failing".*"trip_path":\{"ok":false,"dry_run":false,"reserve":0,"problem":"no spare trip request ready/);
      const status = await box.ess('status');
      expect(status.stdout).toMatch(/WARNING: {2}webhook trip path: no spare trip request in \/var\/spool\/quantum-ess\/reserve \(0 of \d+ inodes.*fix: sudo fuser -vm/);
      const drill = await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run');
      expect(drill.stdout).toMatch(/FAIL webhook trip path +no spare trip request/);
    } finally {
      await box.run('systemctl', 'stop', 'spool-hold');
    }
    // room again: the reserve refills by itself, and the surfaces say nothing more
    await box.sh('for i in $(seq 200); do [ "$(find /var/spool/quantum-ess/reserve -type f | wc -l)" -ge 4 ] && exit 0; sleep 0.1; done; exit 1');
    expect((await box.ess('status')).stdout).not.toMatch(/webhook trip path/);
    await fresh();
  });

  it('webhook_dry_run left on: a gauge, the exporter\'s health, status and the dry-run drill name the key and the file', async () => {
    const conf = '/etc/quantum/ess-exporter.json';
    await box.sh(`cp ${conf} /tmp/exporter.json.bak && sed -i 's/"webhook_dry_run": false/"webhook_dry_run": true/' ${conf}`);
    try {
      await box.mustRun('systemctl', 'restart', 'quantum-ess-exporter');
      expect(await metric('ess_webhook_dry_run')).toBe(1);
      expect((await box.sh('curl -sS http://127.0.0.1:10170/healthz')).stdout).toMatch(/"trip_path":\{"ok":false,"dry_run":true,.*"problem":"webhook_dry_run is true/);
      const status = await box.ess('status');
      expect(status.stdout).toContain(`WARNING:  webhook trip path: webhook_dry_run is true in ${conf}`);
      const drill = await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run');
      expect(drill.stdout).toMatch(new RegExp(`FAIL webhook trip path +webhook_dry_run is true in ${conf}.*fix: set "webhook_dry_run": false there`));
      expect(drill.stdout).toMatch(/SUMMARY: FAIL/);
    } finally {
      await box.sh(`cp /tmp/exporter.json.bak ${conf}`);
      await box.mustRun('systemctl', 'restart', 'quantum-ess-exporter');
    }
    expect(await metric('ess_webhook_dry_run')).toBe(0);
    expect((await box.ess('status')).stdout).not.toMatch(/webhook trip path/);
  });

  it('a writer cannot withdraw a request it put into incoming/: every one that latched is recorded', async () => {
    const withdraw = await box.sh(
      `${MEMBER} sh -c 'printf "reason=now you see me\\n" > ${SPOOL}/tmp/w && mv ${SPOOL}/tmp/w ${SPOOL}/incoming/w && ` +
        `(rm -f ${SPOOL}/incoming/w; mv ${SPOOL}/incoming/w ${SPOOL}/incoming/.w; mv ${SPOOL}/incoming/w ${SPOOL}/tmp/w; ` +
        `: > ${SPOOL}/incoming/.hidden; rm -f ${SPOOL}/incoming/.hidden) 2>&1; true'`,
    );
    expect(withdraw.stdout).toMatch(/cannot remove .*incoming\/w': Operation not permitted/);
    expect(withdraw.stdout).toMatch(/cannot move .*incoming\/w.*Operation not permitted/);
    await box.sh(`for i in $(seq 100); do [ -e ${FLAG} ] && exit 0; sleep 0.05; done; exit 1`);
    await auditUntil((_, text) => text.includes('"request":"w"') && text.includes('"request":".hidden"'));
    const trail = await box.readFile('/var/log/quantum-ess/audit.jsonl');
    expect(trail).toContain('"request":"w","source":"trip-request","scope":"unknown","reason":"now you see me"');
    expect(trail).toContain('"request":".hidden"');
    expect(await box.mustRun('lsattr', '-d', `${SPOOL}/incoming`)).toMatch(/^-*a/);
    await fresh();
  });

  it('a token holder\'s storm of distinct alerts never leaves the spool without room: a later trip latches at once', async () => {
    for (let d = 0; d < 5; d++) {
      // 2000 alerts are far more than one argument may hold: the box writes the body itself
      const alert = (JSON.parse(payload(['FP'])) as { alerts: unknown[] }).alerts[0];
      const made = await box.run('node', '-e', `const body = ${payload([])}; const a = ${JSON.stringify(alert)};
        body.alerts = Array.from({ length: 2000 }, (_, i) => ({ ...a, labels: { ...a.labels, n: String(i) }, fingerprint: 'storm${d}x' + i }));
        require('fs').writeFileSync('/tmp/storm.json', JSON.stringify(body));`);
      expect(made.exitCode, made.stderr).toBe(0);
      const r = await box.sh(
        'curl -sS -o /dev/null -w "%{http_code}" --max-time 60 -H "Authorization: Bearer $(cat /etc/quantum/ess-webhook.token)" ' +
          '-H "Content-Type: application/json" --data-binary @/tmp/storm.json http://127.0.0.1:10170/alertmanager',
      );
      expect(r.stdout, `delivery ${d}`).toBe('200');
    }
    // every request is claimed and audited (500 a run), then an operator clears the latch
    await box.sh(`for i in $(seq 1800); do [ -z "$(ls -A ${SPOOL}/incoming)" ] && exit 0; sleep 0.1; done; exit 1`);
    const count = (events: AuditEvent[]): number => events.filter((e) => e.event === 'trip-requests').reduce((n, e) => n + (e.count ?? 0), 0);
    expect(count(await auditUntil((events) => count(events) >= 10_000, 30_000))).toBeGreaterThanOrEqual(10_000);
    await box.sh('while [ "$(systemctl show -P ActiveState quantum-ess-trip.service)" = activating ]; do sleep 0.1; done');
    await fresh();
    // claimed batches are bounded: the spool keeps most of its room
    const used = Number((await box.mustRun('df', '--output=pcent', SPOOL)).split('\n')[1]?.replace('%', '').trim());
    expect(used).toBeLessThan(50);
    const r = await trip('genuine');
    expect(r.code).toBe('200');
    expect(r.latchedAfter).toBeLessThan(2);
    await box.waitFor(TRADING, ['inactive', 'failed'], 5000);
    // the activation is recorded after the stop (the flag and the stop jobs come first)
    let reason: string | undefined;
    for (let i = 0; i < 100 && !reason?.includes('fingerprint=genuine'); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      reason = (await box.stateJson()).last_activation?.reason;
    }
    expect(reason).toContain('fingerprint=genuine');
  }, 300_000);
});
