/**
 * COPY and ADD: sources and destination (JSON array or words; heredocs are sources), and their flags.
 */
import { chompHeredocContent, parseHeredocMarker } from '../containerfile/heredoc.js';
import type { NodeContext } from './node-context.js';
import type { AddInstruction, CopyInstruction, CopySource } from './types.js';

interface SourcesAndDest {
  sources: CopySource[];
  dest: string;
  json: boolean;
}

function sourcesAndDest(ctx: NodeContext): SourcesAndDest {
  const args = ctx.list();
  if (args.length < 2) {
    throw ctx.syntaxError(
      `${ctx.keyword} requires at least two arguments, but only one was provided. Destination could not be determined`,
      ctx.usage(),
    );
  }
  const json = ctx.json;
  // Heredoc markers only exist in the words form: the parser reads no bodies for a JSON array.
  const marker = (word: string) => (json ? undefined : parseHeredocMarker(word));
  const dest = args[args.length - 1]!;
  if (marker(dest)) throw ctx.wordError(dest, `${ctx.keyword} cannot accept a heredoc as a destination`, { hint: `write ${ctx.keyword} <<EOF /path/to/file` });

  const bodies = new Map(ctx.node.heredocs.map((h) => [h.name, h]));
  const sources = args.slice(0, -1).map((word): CopySource => {
    const m = marker(word);
    if (!m) return { kind: 'path', path: word };
    const content = bodies.get(m.name)?.content ?? '';
    return { kind: 'heredoc', name: m.name, content: m.chomp ? chompHeredocContent(content) : content, expand: m.expand };
  });
  return { sources, dest, json };
}

/** `--flag=` (empty) means the same as no flag, as in BuildKit. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

export function parseCopy(ctx: NodeContext): CopyInstruction {
  const flags = ctx.flags({ from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' } as const);
  return {
    ...ctx.base('copy'),
    ...sourcesAndDest(ctx),
    from: nonEmpty(flags.from),
    chown: nonEmpty(flags.chown),
    chmod: nonEmpty(flags.chmod),
    link: flags.link ?? false,
    parents: flags.parents ?? false,
    excludes: flags.exclude,
  };
}

export function parseAdd(ctx: NodeContext): AddInstruction {
  const flags = ctx.flags({
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    unpack: 'bool',
    exclude: 'strings',
  } as const);
  return {
    ...ctx.base('add'),
    ...sourcesAndDest(ctx),
    chown: nonEmpty(flags.chown),
    chmod: nonEmpty(flags.chmod),
    link: flags.link ?? false,
    excludes: flags.exclude,
    checksum: nonEmpty(flags.checksum),
    keepGitDir: flags['keep-git-dir'] ?? false,
    unpack: flags.unpack,
  };
}
