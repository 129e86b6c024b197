import { BlockList, isIP } from 'node:net';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses HOST:PORT, with IPv6 hosts in brackets ([::1]:10170). Port 0 asks the kernel for a free port
 * (tests and the benchmark use it). Returns an explanation instead of throwing so that callers can name
 * their own key or option in the message.
 */
export function parseListenAddress(value: string): ListenAddress | string {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(value);
  if (!match) return `'${value}' is not HOST:PORT (IPv6 as [ADDR]:PORT)`;
  const port = Number(match[3]);
  if (port > 65535) return `'${value}': port ${port} is not a TCP port`;
  return { host: match[1] ?? match[2] ?? '', port };
}

export function formatListenAddress({ host, port }: ListenAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether only this host can reach the address. A host name, localhost included, is not: it binds
 * wherever the hosts file points when the server starts, which can change under us; the address
 * actually bound is judged again once listening (checkBoundExposure).
 */
export function isLoopbackHost(host: string): boolean {
  const family = isIP(host);
  // BlockList also matches IPv4-mapped IPv6 (::ffff:127.0.0.1) and non-canonical spellings of ::1.
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}
