/**
 * Instruction values that can only be checked once expanded: EXPOSE port specs and USER
 * `user[:group]`. Pure string → value functions; callers locate the errors.
 */

export class ValueError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ValueError';
  }
}

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

function parsePort(text: string, raw: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new ValueError(`invalid containerPort: ${raw}`, 'a port is a number from 0 to 65535, optionally a range (8000-8010) and /tcp, /udp or /sctp');
  }
  return Number(text);
}

/**
 * One expanded EXPOSE word → the image config keys it adds (`80/tcp`; a range gives one key per
 * port), as BuildKit's port-spec parsing does. Protocol defaults to tcp and is lowercased.
 */
export function parseExposePort(word: string): string[] {
  if (word.includes(':')) {
    throw new ValueError(`EXPOSE does not take an IP or host port: ${word}`, 'publish ports when running the container (docker run -p); EXPOSE takes port[/protocol]');
  }
  const slash = word.indexOf('/');
  const portText = slash === -1 ? word : word.slice(0, slash);
  const proto = slash === -1 ? 'tcp' : word.slice(slash + 1).toLowerCase();
  if (!PROTOCOLS.includes(proto)) throw new ValueError(`invalid proto: ${proto}`, 'the protocol is tcp, udp or sctp');
  if (portText === '') throw new ValueError(`no port specified: ${word}<empty>`, 'write e.g. EXPOSE 8080/tcp');
  const dash = portText.indexOf('-');
  const start = parsePort(dash === -1 ? portText : portText.slice(0, dash), word);
  const end = dash === -1 ? start : parsePort(portText.slice(dash + 1), word);
  if (end < start) throw new ValueError(`invalid range specified for container port: ${word}`, 'a range is LOW-HIGH, e.g. 8000-8010');
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

export interface UserSpec {
  user: string;
  /** Undefined when no `:group` was given. */
  group: string | undefined;
}

/** Expanded `USER` value → user and optional group (split at the first `:`). */
export function parseUserSpec(text: string): UserSpec {
  const colon = text.indexOf(':');
  const user = colon === -1 ? text : text.slice(0, colon);
  if (user === '') throw new ValueError(`USER needs a user name or uid: ${JSON.stringify(text)}`, 'write USER name, USER uid or USER name:group');
  return { user, group: colon === -1 ? undefined : text.slice(colon + 1) };
}
