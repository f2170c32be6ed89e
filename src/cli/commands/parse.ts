import type { Command } from 'commander';
import { readStdin } from '../stdin.js';
import { log } from '../log.js';

interface ParseOptions {
  file?: string;
  json?: boolean;
}

export function registerParse(program: Command): void {
  program
    .command('parse')
    .description('parse a Containerfile and print its instructions and stages (no build, no expansion)')
    .argument('[context]', 'build context directory, where the default Containerfile is looked up', '.')
    .option('-f, --file <file>', 'the Containerfile (default: CONTEXT/Containerfile, then CONTEXT/Dockerfile; - reads stdin)')
    .option('--json', 'print a JSON object: directives, stages, instructions')
    .action(async (context: string, opts: ParseOptions) => {
      const { readContainerfile } = await import('../../containerfile/locate.js');
      const { parseContainerfile } = await import('../../containerfile/parser.js');
      const { parseInstructions } = await import('../../instructions/index.js');
      const { describeContainerfile, formatContainerfile } = await import('../../containerfile/describe.js');
      const source = await readContainerfile({ file: opts.file, contextDir: context, readStdin });
      const parsed = parseContainerfile(source.text, source.display);
      parseInstructions(parsed); // validates every instruction and flag; throws located errors
      for (const d of parsed.directives) {
        if (d.name === 'syntax') log.debug(`ignoring "# syntax=${d.value}": obox has its own front end and never fetches one`);
      }
      for (const w of parsed.warnings) log.warn(`${parsed.file}:${w.line}: ${w.message}`);
      const described = describeContainerfile(parsed);
      process.stdout.write(opts.json ? `${JSON.stringify(described, null, 2)}\n` : `${formatContainerfile(described)}\n`);
    });
}
