/** systemd's names on the system bus (org.freedesktop.systemd1(5)), shared with the tests' fake systemd. */
export const SYSTEMD = 'org.freedesktop.systemd1';
export const MANAGER_PATH = '/org/freedesktop/systemd1';
export const MANAGER = 'org.freedesktop.systemd1.Manager';
export const UNIT = 'org.freedesktop.systemd1.Unit';
export const PROPERTIES = 'org.freedesktop.DBus.Properties';
