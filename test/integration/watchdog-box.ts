// What the dead man's switch tests read and set in their sandbox: the watchdog's keys, its last
// check (watchdog.json), the receiver's heartbeat record, and whether and how it tripped.
import { type Sandbox, TRADING } from '../../sandbox/sandbox.js';

const DOWN = ['inactive', 'failed'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WatchdogState {
  readonly time: number;
  readonly state: string;
  readonly silence_sec: number | null;
  readonly paused_until: number;
}

/** The root side's last check (/run/quantum-ess/watchdog.json). */
export async function watchdogState(box: Sandbox): Promise<WatchdogState> {
  return JSON.parse(await box.readFile('/run/quantum-ess/watchdog.json')) as WatchdogState;
}

/** The receiver's record of the newest heartbeat: when it arrived (the exporter's clock) and its path. */
export async function lastHeartbeat(box: Sandbox): Promise<{ received: number; path: string }> {
  return JSON.parse(await box.readFile('/var/spool/quantum-ess/heartbeat/last')) as { received: number; path: string };
}

/** Sets the watchdog's keys in /etc/quantum/ess.conf and installs it (the configuration in force). */
export async function setWatchdogKeys(box: Sandbox, action: string, limitSec: number, graceSec: number): Promise<void> {
  await box.mustRun('sed', '-i', '-E',
    `-e s/^WATCHDOG_ACTION=.*/WATCHDOG_ACTION=${action}/`, `-e s/^WATCHDOG_MAX_SILENCE_SEC=.*/WATCHDOG_MAX_SILENCE_SEC=${limitSec}/`,
    `-e s/^WATCHDOG_GRACE_SEC=.*/WATCHDOG_GRACE_SEC=${graceSec}/`, '/etc/quantum/ess.conf');
  await box.reinstall();
}

/** Until every trading unit is down, or the timeout; ms from `since` to then (null: not all down). */
export async function tripped(box: Sandbox, since: number, timeoutMs: number): Promise<number | null> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(250)) {
    const states = await box.activeStates(TRADING);
    if (Object.values(states).every((s) => DOWN.includes(s))) return Date.now() - since;
  }
  return null;
}

export interface WatchdogActivation {
  readonly id: string;
  readonly source: string;
  readonly reason: string;
  readonly trigger_time: number;
  readonly all_stopped_time: number | null;
}

/**
 * The last activation's record once the controller has written it (it writes after the stop): one
 * with source watchdog, other than the activation `notId` (an earlier one).
 */
export async function lastActivation(box: Sandbox, notId?: string): Promise<WatchdogActivation> {
  for (let i = 0; i < 50; i += 1, await sleep(100)) {
    if (!(await box.exists('/var/lib/quantum-ess/state.json'))) continue;
    const last = (await box.stateJson()).last_activation;
    if (last?.source === 'watchdog' && last.id !== notId) return last;
  }
  throw new Error('no activation with source watchdog recorded in state.json');
}
