/** `obox cache …`: look into the build cache and the store, free space, check integrity. */
import { Command, Option } from 'commander';
import type { CacheRow } from '../../cache/cache-list.js';
import type { DuReport } from '../../cache/cache-du.js';
import type { EntryDetails } from '../../cache/cache-inspect.js';
import type { PruneReport } from '../../cache/prune.js';
import type { VerifyReport } from '../../cache/verify.js';
import { ErrorCodes, OboxError } from '../../errors.js';
import { humanAge, humanSize, shortId, table } from '../format.js';
import { log } from '../log.js';
import { openStore } from '../store.js';
import { registerCacheWhy } from './cache-why.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const formatOption = (): Option => new Option('--format <format>', 'output format').choices(['table', 'json']).default('table');

let epipeIgnored = false;

/** Standard output; a reader that went away (`obox cache ls | head`) ends the output quietly. */
function out(text: string): void {
  if (!epipeIgnored) {
    epipeIgnored = true;
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
  process.stdout.write(text);
}

function json(value: unknown): void {
  out(`${JSON.stringify(value, null, 2)}\n`);
}

/** `docker.io/library/busybox:latest` → `busybox:latest` (lazily: the reference parser is not loaded for a plain listing). */
async function familiarNames(): Promise<(name: string) => string> {
  const { parseReference } = await import('../../image/reference.js');
  return (name) => {
    try {
      return parseReference(name).familiarString();
    } catch {
      return name;
    }
  };
}

function cut(s: string, n: number, trunc: boolean): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return trunc && flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
}

function cutStart(s: string, n: number, trunc: boolean): string {
  return trunc && s.length > n ? `…${s.slice(s.length - n + 1)}` : s;
}

/**
 * Columns padded like format.ts's table(), written for 10,000 rows: cells in one flat array,
 * column widths given (taken while the cells were made), each line built by concatenation.
 */
function fastTable(header: readonly string[], cells: readonly string[], widths: number[]): string {
  const cols = header.length;
  header.forEach((h, c) => {
    if (h.length > widths[c]!) widths[c] = h.length;
  });
  const spaces: string[] = [];
  const pad = (n: number): string => (spaces[n] ??= ' '.repeat(n));
  // Every piece of the output in one array, joined once: no string is built per line or per cell.
  const parts: string[] = [];
  const line = (row: readonly string[], at: number): void => {
    let owed = 0; // spaces before the next non-empty cell (none after the last one)
    for (let c = 0; c < cols; c++) {
      const v = row[at + c]!;
      if (v !== '') {
        if (owed > 0) parts.push(pad(owed));
        parts.push(v);
        owed = 0;
      }
      owed += widths[c]! - v.length + 3;
    }
    parts.push('\n');
  };
  line(header, 0);
  for (let r = 0; r < cells.length; r += cols) line(cells, r);
  parts.pop();
  return parts.join('');
}

/** Whitespace to fold into single spaces (tested without a regex: this runs per row). */
const needsFolding = (s: string): boolean => s.includes('  ') || s.includes('\n') || s.includes('\t') || s.includes('\r');

/** humanAge's units: seconds, minutes, hours, days, months, years. */
const AGE_STEPS = [60, 60, 24, 30, 12, Infinity];

/** format.ts's humanAge for many rows: the same text, each distinct one built once. */
function ageFormatter(now: number): (iso: string | undefined) => string {
  const made = new Map<number, string>();
  return (iso) => {
    const t = iso === undefined ? Number.NaN : Date.parse(iso);
    if (Number.isNaN(t)) return 'N/A';
    const seconds = Math.max(0, Math.round((now - t) / 1000));
    let v = seconds;
    for (let u = 0; u < AGE_STEPS.length; u++) {
      if (v < AGE_STEPS[u]!) {
        const id = u * 1e9 + v;
        let text = made.get(id);
        if (text === undefined) made.set(id, (text = humanAge(new Date(now - seconds * 1000).toISOString(), now)));
        return text;
      }
      v = Math.floor(v / AGE_STEPS[u]!);
    }
    return 'N/A';
  };
}

function lsTable(rows: readonly CacheRow[], familiar: (n: string) => string, trunc: boolean): string {
  const age = ageFormatter(Date.now());
  const sizes = new Map<number, string>();
  const size = (n: number): string => {
    let t = sizes.get(n);
    if (t === undefined) sizes.set(n, (t = humanSize(n)));
    return t;
  };
  const cells: string[] = [];
  const widths = new Array<number>(11).fill(0);
  const cell = (c: number, v: string): void => {
    if (v.length > widths[c]!) widths[c] = v.length;
    cells.push(v);
  };
  const text = (s: string, n: number): string => {
    const flat = needsFolding(s) ? s.replace(/\s+/g, ' ').trim() : s;
    return trunc && flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
  };
  for (const r of rows) {
    if (r.type === 'cache-mount') {
      [text(r.id, 24), 'cache-mount', size(r.size), '0B', age(r.lastUsedAt), '', '', '', '', '', `(cache mount, used by ${r.usedBy.length} step${r.usedBy.length === 1 ? '' : 's'})`].forEach((v, c) => cell(c, v));
      continue;
    }
    let images = '';
    if (r.images.length > 0) {
      const names = r.images.map(familiar);
      images = trunc && names.length > 2 ? `${names.slice(0, 2).join(',')} +${names.length - 2}` : names.join(',');
    }
    cell(0, r.key.slice(7, 19));
    cell(1, 'step');
    cell(2, size(r.size));
    cell(3, size(r.sharedSize));
    cell(4, age(r.lastUsedAt));
    cell(5, age(r.createdAt));
    cell(6, r.stage ?? '');
    cell(7, r.containerfile !== undefined ? `${cutStart(r.containerfile, 32, trunc)}${r.line !== undefined ? `:${r.line}` : ''}` : '');
    cell(8, images);
    cell(9, r.cacheMounts.length > 0 ? r.cacheMounts.join(',') : '');
    cell(10, text(r.text ?? '', 60));
  }
  return fastTable(['ID', 'TYPE', 'SIZE', 'SHARED', 'LAST USED', 'CREATED', 'STAGE', 'SOURCE', 'IMAGES', 'MOUNTS', 'STEP'], cells, widths);
}

function duTable(r: DuReport, familiar: (n: string) => string): string {
  const lines = [
    table(
      ['TYPE', 'SIZE', 'IN USE BY IMAGES', 'RECLAIMABLE', 'ITEMS'],
      r.categories.map((c) => [c.category, humanSize(c.bytes), humanSize(c.inUseByImages), humanSize(c.reclaimable), String(c.items)]),
    ),
    '',
    `Total:          ${humanSize(r.total)} (${r.total} bytes) in ${r.root}`,
    `In use by images: ${humanSize(r.inUseByImages)}`,
    `Build cache:    ${humanSize(r.cacheBytes)} (what prune --keep-storage limits)`,
    `Reclaimable:    ${humanSize(r.reclaimable)}`,
  ];
  if (r.problems > 0) lines.push(`${r.problems} cache entr${r.problems === 1 ? 'y is' : 'ies are'} unreadable (run obox cache verify)`);
  if (r.items) {
    lines.push('');
    const items = [...r.items].sort((a, b) => a.category.localeCompare(b.category) || b.bytes - a.bytes);
    lines.push(
      table(
        ['TYPE', 'NAME', 'SIZE', 'RECLAIMABLE', 'USED BY'],
        items.map((i) => {
          const users = [...(i.images ?? []).map(familiar), ...(i.entries ? [`${i.entries} cache entr${i.entries === 1 ? 'y' : 'ies'}`] : [])];
          return [i.category, i.name.startsWith('sha256:') ? shortId(i.name) : i.name, humanSize(i.bytes), i.reclaimable ? 'yes' : 'no', users.join(', ')];
        }),
      ),
    );
  }
  return lines.join('\n');
}

function inspectText(d: EntryDetails, familiar: (n: string) => string): string {
  const e = d.entry;
  const i = e.inputs;
  const lines: string[] = [];
  const row = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') lines.push(`${`${k}:`.padEnd(16)}${v}`);
  };
  row('Key', e.key);
  row('Step', e.text);
  row('Source', e.containerfile !== undefined ? `${e.containerfile}${e.line !== undefined ? `:${e.line}` : ''}` : undefined);
  row('Stage', e.stage);
  row('Created', `${e.createdAt} (${humanAge(e.createdAt)})`);
  row('Last used', `${d.lastUsedAt} (${humanAge(d.lastUsedAt)})`);
  if (e.layer === null) row('Layer', 'none (the step changed metadata only)');
  else {
    row('Layer diffID', e.layer.diffId);
    row('Layer dir', d.layer?.dirBytes !== undefined ? `${d.layer.dirPath} (${humanSize(d.layer.dirBytes)})` : 'not on disk');
    row('Layer blob', e.layer.digest !== undefined ? `${e.layer.digest} (${d.layer?.blobBytes !== undefined ? humanSize(d.layer.blobBytes) : 'not in the store'})` : 'none written (an intermediate stage layer)');
  }
  row('Images', d.images.map(familiar).join(', ') || undefined);
  row('Cache mounts', (e.cacheMounts ?? []).join(', ') || undefined);
  lines.push('', 'Inputs that made the key:');
  const parent = i.parent.kind === 'step' ? `step ${i.parent.key}${d.parentText !== undefined ? ` (${cut(d.parentText, 60, true)})` : ''}` : i.parent.kind === 'image' ? `image ${i.parent.digest}` : 'scratch';
  const irow = (k: string, v: string): void => {
    lines.push(`  ${`${k}:`.padEnd(14)}${v}`);
  };
  irow('Parent', parent);
  irow('Instruction', i.instruction);
  irow('Platform', [i.platform.os, i.platform.architecture, i.platform.variant].filter(Boolean).join('/'));
  const pairs = (r: Record<string, string>): string => Object.entries(r).map(([k, v]) => `${k}=${v}`).join(', ');
  irow('Build args', Object.keys(i.args).length > 0 ? pairs(i.args) : '(none read)');
  if (i.sources !== undefined) irow('Sources', i.sources);
  if (i.fromStages !== undefined) irow('From stages', pairs(i.fromStages));
  if (i.mounts !== undefined) irow('Bind mounts', pairs(i.mounts));
  const known = new Set(['parent', 'instruction', 'platform', 'args', 'sources', 'fromStages', 'mounts']);
  for (const [k, v] of Object.entries(i)) if (!known.has(k) && v !== undefined) irow(k, typeof v === 'string' ? v : JSON.stringify(v));
  return lines.join('\n');
}

function pruneText(r: PruneReport, verbose: boolean): string {
  const lines: string[] = [];
  const what = r.dryRun ? 'Would remove' : 'Removed';
  if (verbose) {
    for (const e of r.entries) lines.push(`${what} cache entry ${shortId(e.key)}  ${cut(e.text ?? '', 60, true)}`);
    for (const e of r.badEntries) lines.push(`${what} unreadable cache entry ${shortId(e.key)}`);
    for (const d of r.layerDirs) lines.push(`${what} layer dir ${shortId(d.diffId)}${d.image ? ' (of an image; unpacked again on demand)' : ''}  ${humanSize(d.bytes)}`);
    for (const b of r.blobs) lines.push(`${what} blob ${shortId(b.digest)}  ${humanSize(b.bytes)}`);
    for (const m of r.cacheMounts) lines.push(`${what} cache mount ${m.id}  ${humanSize(m.bytes)}`);
    for (const t of r.tmp) lines.push(`${what} temp item tmp/${t.name}  ${humanSize(t.bytes)}`);
  }
  const counts = [
    [r.entries.length, 'cache entries'],
    [r.badEntries.length, 'unreadable entries'],
    [r.layerDirs.length, 'layer dirs'],
    [r.blobs.length, 'blobs'],
    [r.cacheMounts.length, 'cache mounts'],
    [r.tmp.length, 'temp items'],
    [r.links, 'dangling links'],
    [r.metadataFiles, 'orphaned metadata files'],
    [r.staleLeases, 'stale build leases'],
  ] as const;
  const parts = counts.filter(([n]) => n > 0).map(([n, s]) => `${n} ${s}`);
  lines.push(`${what}: ${parts.length > 0 ? parts.join(', ') : 'nothing'}`);
  lines.push(`${r.dryRun ? 'Would free' : 'Freed'}: ${humanSize(r.freedBytes)}; build cache ${humanSize(r.cacheBytesBefore)} → ${humanSize(r.cacheBytesAfter)}`);
  const kept = [
    [r.kept.leased, 'held by running builds'],
    [r.kept.newer, 'newer than the oldest running build'],
    [r.kept.mountsInUse, 'cache mounts while a build runs'],
  ] as const;
  const keptParts = kept.filter(([n]) => n > 0).map(([n, s]) => `${n} ${s}`);
  if (keptParts.length > 0) lines.push(`Kept: ${keptParts.join(', ')}`);
  return lines.join('\n');
}

function verifyText(r: VerifyReport): string {
  const lines: string[] = [];
  for (const p of r.problems) lines.push(`${p.repaired ? 'REPAIRED' : 'PROBLEM '} ${p.kind} ${p.id}: ${p.problem}${p.repaired ? ` (${p.repaired})` : ''}`);
  for (const n of r.notes) lines.push(`${n.repaired ? 'CLEANED ' : 'NOTE    '} ${n.kind} ${n.id}: ${n.note}${n.repaired ? ` (${n.repaired})` : ''}`);
  const c = r.checked;
  lines.push(
    `Checked ${c.blobs} blobs, ${c.layerDirs} layer dirs (${c.unverifiable} unverifiable: no blob to compare with), ${c.entries} cache entries, ${c.images} images, ${c.links} links`,
  );
  lines.push(r.remaining === 0 ? (r.problems.length === 0 ? 'No problems found.' : 'All problems repaired.') : `${r.remaining} problem${r.remaining === 1 ? '' : 's'} remain${r.remaining === 1 ? 's' : ''}${r.repairRun ? '' : ' (run with --repair to fix what can be fixed)'}.`);
  return lines.join('\n');
}

interface PruneFlags {
  all?: boolean;
  filter: string[];
  keepStorage?: string;
  maxUsed?: string;
  minFree?: string;
  maxAge?: string;
  keepLast?: string;
  dryRun?: boolean;
  verbose?: boolean;
  format: 'table' | 'json';
}

export function registerCacheCommands(program: Command): void {
  const cache = program.command('cache').description('inspect and maintain the build cache and the store: ls, du, inspect, prune, verify, why');

  cache
    .command('ls')
    .description('list build-cache entries (one per step) and cache mounts, most recently used first')
    .addOption(formatOption())
    .option('--filter <key=value>', 'type=step|cache-mount, until=DURATION, since=DURATION, image=NAME, stage=NAME, containerfile=PATH, id=PREFIX (repeatable)', collect, [])
    .option('--no-trunc', 'do not truncate long columns')
    .addHelpText(
      'after',
      '\nSIZE is the step layer\'s unpacked dir plus its blob, as allocated on disk; SHARED is the part another\n' +
        'entry or an image also uses. DURATION: 30m, 24h, 7d, 1h30m (or an ISO time for until/since).',
    )
    .action(async (opts: { format: string; filter: string[]; trunc: boolean }, cmd: Command) => {
      const [{ parseFilters }, { listCache }] = await Promise.all([import('../../cache/cache-filter.js'), import('../../cache/cache-list.js')]);
      const filter = parseFilters(opts.filter);
      const listing = await listCache(await openStore(cmd), { filter });
      if (listing.problems.length > 0) log.warn(`${listing.problems.length} cache entries could not be read and are not listed (obox cache verify says more)`);
      if (opts.format === 'json') return out(`${JSON.stringify(listing.rows)}\n`); // thousands of rows: compact
      out(`${lsTable(listing.rows, await familiarNames(), opts.trunc)}\n`);
    });

  cache
    .command('du')
    .description('show the disk space the store takes: blobs, layer dirs, cache index, metadata, cache mounts, build records, temp, other')
    .addOption(formatOption())
    .option('-v, --verbose', 'also list every blob, layer dir, cache mount and temp item')
    .action(async (opts: { format: string; verbose?: boolean }, cmd: Command) => {
      const { diskUsage } = await import('../../cache/cache-du.js');
      const report = await diskUsage(await openStore(cmd), { verbose: opts.verbose ?? false });
      if (opts.format === 'json') return json(report);
      out(`${duTable(report, await familiarNames())}\n`);
    });

  cache
    .command('inspect')
    .description('show a cache entry and the inputs that made its key')
    .argument('<key>', 'the key, or a unique prefix of at least 8 hex digits (sha256: optional)')
    .addOption(formatOption())
    .action(async (key: string, opts: { format: string }, cmd: Command) => {
      const { inspectEntry } = await import('../../cache/cache-inspect.js');
      const details = await inspectEntry(await openStore(cmd), key);
      if (opts.format === 'json') return json(details);
      out(`${inspectText(details, await familiarNames())}\n`);
    });

  cache
    .command('prune')
    .description('remove build-cache entries, least recently used first, and the layers, blobs and cache mounts nothing uses any more')
    .option('-a, --all', 'also remove the unpacked layer dirs of images (never their blobs: a dir is unpacked again from its blob when a build needs it)')
    .option('--filter <key=value>', 'only what matches, as for cache ls (repeatable)', collect, [])
    .option('--keep-storage <size>', 'prune until the build cache takes at most SIZE (as docker builder prune)')
    .option('--max-used <size>', 'the same as --keep-storage (as buildctl prune)')
    .option('--min-free <size>', 'prune until the store\'s file system has SIZE free')
    .option('--max-age <duration>', 'only what has not been used for DURATION')
    .option('--keep-last <n>', 'keep the N most recently used entries')
    .option('--dry-run', 'show what would be removed; remove nothing')
    .option('-v, --verbose', 'list every item removed')
    .addOption(formatOption())
    .addHelpText(
      'after',
      '\nWithout a size limit, everything selected goes; with --keep-storage, --max-used or --min-free, items go\n' +
        'least recently used first until the limit holds. Unreferenced layer dirs and blobs go first.\n' +
        'Never removed: what running builds hold or made, blobs and (without --all) layer dirs of images in\n' +
        '`obox images`, cache mounts while a build runs. Also removes stale build leases, links to removed\n' +
        'layer dirs and temp items of processes that are gone.\n' +
        'SIZE: 512MB (10^6), 2GiB or 2G (2^30), 1.5G, or bytes. DURATION: 30m, 24h, 7d, 1h30m.',
    )
    .action(async (opts: PruneFlags, cmd: Command) => {
      const [{ parseFilters }, { parseSize, parseDuration }, { pruneCache }] = await Promise.all([
        import('../../cache/cache-filter.js'),
        import('../../util/units.js'),
        import('../../cache/prune.js'),
      ]);
      const sizes = [opts.keepStorage && parseSize(opts.keepStorage, '--keep-storage'), opts.maxUsed && parseSize(opts.maxUsed, '--max-used')].filter((s): s is number => typeof s === 'number');
      let keepLast: number | undefined;
      if (opts.keepLast !== undefined) {
        if (!/^\d+$/.test(opts.keepLast)) throw new OboxError(ErrorCodes.usage, `--keep-last: ${JSON.stringify(opts.keepLast)} is not a whole number`);
        keepLast = Number(opts.keepLast);
      }
      const report = await pruneCache(await openStore(cmd), {
        all: opts.all ?? false,
        filter: parseFilters(opts.filter),
        ...(sizes.length > 0 ? { maxUsed: Math.min(...sizes) } : {}),
        ...(opts.minFree !== undefined ? { minFree: parseSize(opts.minFree, '--min-free') } : {}),
        ...(opts.maxAge !== undefined ? { maxAgeMs: parseDuration(opts.maxAge, '--max-age') } : {}),
        ...(keepLast !== undefined ? { keepLast } : {}),
        dryRun: opts.dryRun ?? false,
      });
      if (opts.format === 'json') return json(report);
      out(`${pruneText(report, opts.verbose ?? false)}\n`);
    });

  cache
    .command('verify')
    .description('check the store: re-hash every blob, re-tar every layer dir, check every cache entry and image')
    .option('--repair', 'remove what is corrupt (re-unpacking layer dirs from good blobs), entries whose layer is gone, dangling links')
    .addOption(formatOption())
    .addHelpText('after', '\nExits 3 when problems remain (after --repair: those it could not fix, such as an image whose blob is corrupt).')
    .action(async (opts: { repair?: boolean; format: string }, cmd: Command) => {
      const { verifyStore } = await import('../../cache/verify.js');
      const report = await verifyStore(await openStore(cmd), { repair: opts.repair ?? false });
      if (opts.format === 'json') json(report);
      else out(`${verifyText(report)}\n`);
      if (report.remaining > 0) {
        throw new OboxError(ErrorCodes.store, `cache verify: ${report.remaining} problem${report.remaining === 1 ? '' : 's'} remain${report.remaining === 1 ? 's' : ''}`);
      }
    });

  registerCacheWhy(cache);
}
