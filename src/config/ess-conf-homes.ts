import { ConfigError } from './config-error.js';
import { isWithin } from './ess-conf-values.js';

/** The path keys, in the order both sides judge them (deploy/lib/config.sh, config_check_path_homes). */
const PATH_KEYS = ['FLAG_FILE', 'LOCK_FILE', 'STATE_DIR', 'AUDIT_FILE', 'SPOOL_DIR'] as const;
type PathKey = (typeof PATH_KEYS)[number];

/** Trees of the kernel and of systemd: no path of the ESS lies in one (contract/README.md section 2). */
const FOREIGN_TREES = ['/proc', '/sys', '/dev', '/boot', '/etc/systemd', '/lib/systemd', '/usr/lib/systemd', '/run/systemd', '/run/user', '/run/dbus', '/var/lib/systemd'];
/** Writable by every user: whoever creates a path's directory first owns it. */
const SHARED_DIRS = ['/tmp', '/var/tmp', '/dev/shm'];
/** Emptied at every boot. */
const VOLATILE_DIRS = ['/run', '/var/run', '/tmp', '/var/tmp', '/dev/shm'];
/** System directories: a key's home (STATE_DIR and SPOOL_DIR themselves, a file's directory) is none. */
const SYSTEM_DIRS = new Set([
  ...['/', '/bin', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/media', '/mnt', '/opt', '/root', '/run', '/sbin', '/srv', '/tmp', '/usr', '/var'],
  ...['/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib64', '/usr/libexec', '/usr/include', '/usr/share', '/usr/src'],
  ...['/usr/local', '/usr/local/bin', '/usr/local/sbin', '/usr/local/lib', '/usr/local/share', '/usr/local/etc', '/usr/local/include'],
  ...['/var/lib', '/var/log', '/var/spool', '/var/cache', '/var/tmp', '/var/run', '/var/lock', '/var/mail', '/var/opt', '/var/backups', '/var/local', '/var/www'],
  ...['/run/lock', '/run/mount'],
]);
/**
 * The ESS's own install (from a checkout, then from the Debian package), configuration and runtime
 * directories (the lock's home is the last one).
 */
const ESS_DIRS = [
  ...['/usr/local/lib/quantum-ess', '/usr/local/lib/quantum-ess-exporter', '/usr/lib/quantum-ess', '/usr/share/quantum-ess'],
  ...['/etc/quantum', '/run/quantum-ess'],
];

const meets = (a: string, b: string): boolean => isWithin(a, b) || isWithin(b, a);

/**
 * Every path key has a dedicated location of its own: not in the kernel's or systemd's trees, not
 * where any user can create it, not a system directory (nor a file directly in one), not one of the
 * ESS's own directories; the audit trail outlives a boot.
 */
export function checkPathHomes(values: Readonly<Record<PathKey, string>>, defaults: Readonly<Record<PathKey, string>>, file: string): void {
  for (const key of PATH_KEYS) {
    const p = values[key];
    const home = key === 'STATE_DIR' || key === 'SPOOL_DIR' ? p : p.slice(0, p.lastIndexOf('/')) || '/';
    const foreign = FOREIGN_TREES.find((dir) => meets(p, dir));
    if (foreign !== undefined) throw new ConfigError(file, key, `${p} lies in ${foreign}, which belongs to the kernel or the system`);
    const shared = SHARED_DIRS.find((dir) => p.startsWith(`${dir}/`));
    if (shared !== undefined) throw new ConfigError(file, key, `${p} lies in ${shared}, where any user can create its directory first`);
    const volatile = VOLATILE_DIRS.find((dir) => p.startsWith(`${dir}/`));
    if (key === 'AUDIT_FILE' && volatile !== undefined) {
      throw new ConfigError(file, key, `${p} lies in ${volatile}, emptied at every boot: the audit trail must outlive it`);
    }
    if (SYSTEM_DIRS.has(home)) {
      throw new ConfigError(file, key, `${p}: ${home} is a system directory; give ${key} a directory of its own (such as the default, ${defaults[key]})`);
    }
    const own = ESS_DIRS.find((dir) => !(key === 'LOCK_FILE' && p.startsWith('/run/quantum-ess/')) && meets(p, dir));
    if (own !== undefined) throw new ConfigError(file, key, `${p} meets ${own}, one of the ESS's own directories`);
  }
}
