/**
 * `--chown=user[:group]`, resolved against the DESTINATION root filesystem's /etc/passwd and
 * /etc/group, as BuildKit does (llb.WithUser + solver/llbsolver/file readUser):
 *
 * - `root` and numbers are ids without any lookup; a numeric user without a group gives gid = uid
 *   (`--chown=1000` is 1000:1000), and so does BuildKit.
 * - A user name gives its passwd uid and primary gid; a group part (name or number) then
 *   overrides the gid. `:group` alone leaves the uid 0.
 * - Differences from BuildKit, on purpose: an unknown user or group name is an error (BuildKit
 *   silently uses 0, moby/buildkit#3555; the classic builder errored too), and `user:` with an
 *   empty group means the user's primary group, as chown(1) does (BuildKit gives gid 0, which
 *   moby/buildkit#7002 calls a bug).
 */
import { ErrorCodes } from '../../errors.js';
import { parseGroup, parsePasswd, readFileInRoot } from '../run/index.js';
import { CopyError } from './errors.js';

export interface Owner {
  uid: number;
  gid: number;
}

const MAX_ID = 2 ** 31 - 1;

/** BuildKit's parseUID: "root" is 0, else a decimal that fits an int32. undefined for a name. */
function parseId(s: string, what: string, spec: string): number | undefined {
  if (s === 'root') return 0;
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  if (n < 0 || n > MAX_ID) {
    throw new CopyError(ErrorCodes.semantic, `invalid --chown=${spec}: ${what} ${s} is out of range 0-${MAX_ID}`);
  }
  return n;
}

export interface ChownSpec {
  user: { id: number } | { name: string } | undefined;
  group: { id: number } | { name: string } | undefined;
}

/** Splits and classifies a --chown value (no lookups). */
export function parseChown(spec: string): ChownSpec {
  const colon = spec.indexOf(':');
  const userPart = colon === -1 ? spec : spec.slice(0, colon);
  const groupPart = colon === -1 ? undefined : spec.slice(colon + 1);
  const classify = (s: string, what: string) => {
    const id = parseId(s, what, spec);
    return id === undefined ? { name: s } : { id };
  };
  return {
    user: userPart === '' ? undefined : classify(userPart, 'uid'),
    group: groupPart === undefined || groupPart === '' ? undefined : classify(groupPart, 'gid'),
  };
}

/** Whether resolving this --chown needs /etc/passwd or /etc/group. */
export function chownNeedsLookup(spec: string): boolean {
  const s = parseChown(spec);
  return (s.user !== undefined && 'name' in s.user) || (s.group !== undefined && 'name' in s.group);
}

/** Resolves a --chown value with the passwd and group files' text (null: the file is missing). */
export function resolveChownFrom(spec: string, passwdText: string | null, groupText: string | null): Owner {
  const s = parseChown(spec);
  const owner: Owner = { uid: 0, gid: 0 };
  if (s.user !== undefined) {
    if ('id' in s.user) {
      owner.uid = s.user.id;
      owner.gid = s.user.id;
    } else {
      const name = s.user.name;
      const entry = parsePasswd(passwdText ?? '').find((u) => u.name === name);
      if (!entry) {
        throw new CopyError(ErrorCodes.notFound, `unable to find user ${name}: no matching entries in passwd file`, {
          hint: `--chown names are looked up in the image's /etc/passwd; create the user first (RUN useradd ${name}) or use numeric ids`,
        });
      }
      owner.uid = entry.uid;
      owner.gid = entry.gid;
    }
  }
  if (s.group !== undefined) {
    if ('id' in s.group) {
      owner.gid = s.group.id;
    } else {
      const name = s.group.name;
      const entry = parseGroup(groupText ?? '').find((g) => g.name === name);
      if (!entry) {
        throw new CopyError(ErrorCodes.notFound, `unable to find group ${name}: no matching entries in group file`, {
          hint: `--chown group names are looked up in the image's /etc/group; create the group first (RUN groupadd ${name}) or use a numeric gid`,
        });
      }
      owner.gid = entry.gid;
    }
  }
  return owner;
}

/** Resolves a --chown value against `rootfs` (the destination), reading only what it needs. */
export async function resolveChown(spec: string, rootfs: string | undefined): Promise<Owner> {
  const s = parseChown(spec);
  const needsPasswd = s.user !== undefined && 'name' in s.user;
  const needsGroup = s.group !== undefined && 'name' in s.group;
  if ((needsPasswd || needsGroup) && rootfs === undefined) {
    throw new CopyError(ErrorCodes.semantic, `--chown=${spec} names a user or group, but no root filesystem was given to look it up in`);
  }
  const [passwd, group] = await Promise.all([
    needsPasswd ? readFileInRoot(rootfs as string, '/etc/passwd') : Promise.resolve(null),
    needsGroup ? readFileInRoot(rootfs as string, '/etc/group') : Promise.resolve(null),
  ]);
  return resolveChownFrom(spec, passwd, group);
}
