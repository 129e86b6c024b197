/**
 * The slice of a trading unit's user (contract section 1, input user_slice): `user.slice/user-UID.slice`
 * holds the user's login sessions and its own manager, the only place an unprivileged service can move
 * a helper out of its cgroup to (a scope of the system manager needs root), and a process cannot leave
 * it. The exporter cannot see other users' /proc (ProtectProc=invisible), but the slice's path names
 * the uid and its cgroup.events is world-readable: one file per user, whatever the number of processes.
 */

/**
 * The uid of a User= value as the controller resolves it (deploy/lib/units.sh, units_uid_of_v): empty
 * is root, up to ten digits are the uid itself, a name is looked up in the passwd text; null when it
 * is not there (a DynamicUser=, a name from another NSS source), which is not judged.
 */
export function uidOfUser(user: string, passwd: () => string): string | null {
  if (user === '') return '0';
  if (/^[0-9]{1,10}$/.test(user)) return String(Number(user));
  const line = passwd()
    .split('\n')
    .find((entry) => entry.startsWith(`${user}:`));
  return line === undefined ? null : (line.split(':')[2] ?? '');
}

/** The cgroup of the user's slice below the hierarchy root; null for root or an unresolved user. */
export function userSliceOf(uid: string | null): string | null {
  return uid === null || uid === '' || uid === '0' ? null : `/user.slice/user-${uid}.slice`;
}
