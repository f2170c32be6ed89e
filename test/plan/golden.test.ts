/**
 * Golden: the plan of a realistic multi-stage Containerfile (cross-compiling for linux/arm64 on
 * linux/amd64 with build args), and every step's environment reads and expanded form.
 * Regenerate with UPDATE_GOLDEN=1 and review the diff.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { formatPlatform } from '../../src/plan/index.js';
import { expectGolden } from '../helpers/golden.js';
import { meaning } from '../instructions/helpers.js';
import { ARM64, args, obj, plan, walk } from './helpers.js';

const dir = fileURLToPath(new URL('../../fixtures/containerfiles/', import.meta.url));

describe('plan golden', () => {
  it('plans multi-stage.Containerfile', () => {
    const text = readFileSync(`${dir}multi-stage.Containerfile`, 'utf8');
    const p = plan(text, {
      targetPlatform: ARM64,
      buildArgs: args({ VERSION: '1.2.3', GO_VERSION: '1.23', HTTPS_PROXY: 'http://proxy:3128', UNUSED: 'x' }),
    });
    const steps = walk(p, ['PATH=/usr/local/go/bin:/usr/bin:/bin', 'GOLANG_VERSION=1.23.0']);
    const view = {
      target: p.target.displayName,
      buildPlatform: formatPlatform(p.buildPlatform),
      targetPlatform: formatPlatform(p.targetPlatform),
      globalArgs: obj(p.globalArgs),
      unusedBuildArgs: p.unusedBuildArgs,
      warnings: p.warnings,
      allStages: p.allStages.map((s) => s.displayName),
      stages: p.stages.map((s) => ({
        stage: s.displayName,
        line: s.stage.from.location.startLine,
        base: s.base,
        platform: formatPlatform(s.platform),
        fromArgsRead: obj(s.fromArgsRead),
        dependencies: s.dependencies.map((d) => ({ stage: p.allStages[d.stage]!.displayName, via: d.via, line: d.location.startLine })),
        externalImages: s.externalImages,
        steps: steps.get(s.displayName)!.map((step) => ({
          line: step.instruction.location.startLine,
          instruction: step.instruction.original,
          argsRead: obj(step.argsRead),
          ...(step.proxyEnv.size > 0 ? { proxyEnv: obj(step.proxyEnv) } : {}),
          ...(step.unmatched.size > 0 ? { unmatched: [...step.unmatched] } : {}),
          expanded: meaning(step.expanded),
        })),
      })),
    };
    expectGolden(`${JSON.stringify(view, null, 2)}\n`, `${dir}multi-stage.plan.json`);
  });
});
