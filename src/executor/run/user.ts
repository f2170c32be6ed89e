/**
 * USER → uid, gid, supplementary groups and home, from the image's own /etc/passwd and
 * /etc/group, with the rules (and error messages) of github.com/moby/sys/user `GetExecUser`,
 * which docker and runc use, plus BuildKit's fast path (executor/oci/user.go): a fully numeric
 * `uid:gid` is taken as is, without reading any file and without supplementary groups.
 */
import { ErrorCodes, OboxError } from '../../errors.js';
import { readFileInRoot } from './in-root.js';
import type { ResolvedUser } from './types.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;
const NO_PASSWD = 'no matching entries in passwd file';
const NO_GROUP = 'no matching entries in group file';

/** Parses an id the way Go's strconv.Atoi does for these files (optional sign, decimal digits). */
function atoi(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

function lines(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.split(':'));
}

/** passwd(5): name:password:uid:gid:gecos:home:shell. Malformed ids read as 0, as moby's parser does. */
export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text).map((f) => ({
    name: f[0] ?? '',
    uid: atoi(f[2] ?? '') ?? 0,
    gid: atoi(f[3] ?? '') ?? 0,
    home: f[5] ?? '',
  }));
}

/** group(5): name:password:gid:member,member. */
export function parseGroup(text: string): GroupEntry[] {
  return lines(text).map((f) => ({
    name: f[0] ?? '',
    gid: atoi(f[2] ?? '') ?? 0,
    members: (f[3] ?? '').split(',').filter((m) => m !== ''),
  }));
}

function rangeError(): OboxError {
  return new OboxError(ErrorCodes.semantic, `uids and gids must be in range 0-${MAX_ID}`);
}

/**
 * Resolves a USER value against the file contents (null: the file does not exist).
 * Pure; `resolveUser` reads the files from a root filesystem.
 */
export function resolveUserFrom(spec: string, passwdText: string | null, groupText: string | null): ResolvedUser {
  const passwd = passwdText === null ? null : parsePasswd(passwdText);
  const group = groupText === null ? null : parseGroup(groupText);
  const colon = spec.indexOf(':');
  const userArg = colon === -1 ? spec : spec.slice(0, colon);
  const groupArg = colon === -1 ? '' : spec.slice(colon + 1);
  const uidArg = atoi(userArg);
  const gidArg = atoi(groupArg);

  // BuildKit: "" is root, and numeric uid:gid needs no lookup.
  if (spec === '' || (uidArg !== undefined && gidArg !== undefined)) {
    const uid = uidArg ?? 0;
    const gid = gidArg ?? 0;
    if (uid < 0 || uid > MAX_ID || gid < 0 || gid > MAX_ID) throw rangeError();
    return { uid, gid, additionalGids: [], home: homeOf(passwd, uid) };
  }

  const result: ResolvedUser = { uid: 0, gid: 0, additionalGids: [], home: '/' };
  const match = passwd?.find((u) => (uidArg === undefined ? u.name === userArg : u.uid === uidArg));
  if (match) {
    result.uid = match.uid;
    result.gid = match.gid;
    result.home = match.home;
    result.name = match.name;
  } else if (userArg !== '') {
    if (uidArg === undefined) {
      throw new OboxError(ErrorCodes.notFound, `unable to find user ${userArg}: ${NO_PASSWD}`, {
        hint: `add the user to the image first (for example RUN useradd ${userArg}) or use a numeric uid`,
      });
    }
    if (uidArg < 0 || uidArg > MAX_ID) throw rangeError();
    result.uid = uidArg;
  }

  if (groupArg !== '') {
    const g = group?.find((e) => (gidArg === undefined ? e.name === groupArg : e.gid === gidArg));
    if (g) {
      result.gid = g.gid;
    } else {
      if (gidArg === undefined) throw new OboxError(ErrorCodes.notFound, `unable to find group ${groupArg}: ${NO_GROUP}`);
      if (gidArg < 0 || gidArg > MAX_ID) throw rangeError();
      result.gid = gidArg;
    }
  } else if (result.name !== undefined && group) {
    // Supplementary groups only in the implicit form, from membership lists.
    const name = result.name;
    result.additionalGids = group.filter((g) => g.members.includes(name)).map((g) => g.gid);
  }
  return result;
}

function homeOf(passwd: PasswdEntry[] | null, uid: number): string {
  return passwd?.find((u) => u.uid === uid)?.home || '/';
}

/** Reads /etc/passwd and /etc/group inside `rootfs` (never following a symlink out of it) and resolves `spec`. */
export async function resolveUser(rootfs: string, spec: string): Promise<ResolvedUser> {
  const [passwd, group] = await Promise.all([readFileInRoot(rootfs, '/etc/passwd'), readFileInRoot(rootfs, '/etc/group')]);
  const user = resolveUserFrom(spec, passwd, group);
  if (user.home === '') user.home = '/';
  return user;
}
