/** The whole front end as one call, for benchmarks: text → node tree → instructions → stages → plan. */
import { parseContainerfile } from '../src/containerfile/parser.js';
import { parseInstructions } from '../src/instructions/index.js';
import { planBuild } from '../src/plan/index.js';

export function frontEnd(text: string): unknown {
  const file = parseInstructions(parseContainerfile(text, 'bench.Containerfile'));
  return planBuild(file, {});
}
