import { fstatSync } from 'node:fs';

/** The first descriptor systemd passes (sd_listen_fds(3)). */
export const SD_LISTEN_FDS_START = 3;

/** A socket systemd was meant to pass and did not, or passed in a form the exporter cannot serve on. */
export class SystemdSocketError extends Error {
  override name = 'SystemdSocketError';
}

/**
 * The listening socket systemd passed to this process (socket activation, LISTEN_PID and LISTEN_FDS),
 * as a descriptor; the variables are then removed so that no child inherits them. Exactly one socket
 * is expected: quantum-ess-exporter.socket has one ListenStream.
 */
export function takeSystemdSocket(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number {
  const { LISTEN_PID: listenPid, LISTEN_FDS: listenFds } = env;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (listenFds === undefined || listenPid === undefined) {
    throw new SystemdSocketError(
      '--systemd-socket: systemd passed no socket (LISTEN_FDS unset): start quantum-ess-exporter.socket, which holds the address for the ESS across restarts',
    );
  }
  if (listenPid !== String(pid)) {
    throw new SystemdSocketError(`--systemd-socket: the sockets passed are for PID ${listenPid}, not this process (${pid})`);
  }
  if (listenFds !== '1') {
    throw new SystemdSocketError(`--systemd-socket: expected exactly one socket from quantum-ess-exporter.socket, got LISTEN_FDS=${listenFds}`);
  }
  let isSocket: boolean;
  try {
    isSocket = fstatSync(SD_LISTEN_FDS_START).isSocket();
  } catch (error) {
    throw new SystemdSocketError(`--systemd-socket: descriptor ${SD_LISTEN_FDS_START} is not open`, { cause: error });
  }
  if (!isSocket) throw new SystemdSocketError(`--systemd-socket: descriptor ${SD_LISTEN_FDS_START} is not a socket`);
  return SD_LISTEN_FDS_START;
}
