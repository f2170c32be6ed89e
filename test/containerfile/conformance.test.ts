/**
 * BuildKit's own shell-lexer vectors (../shared/conformance/buildkit-shell, see its README): every A and U
 * row of envVarTest through expandWord, every row of wordsTest through expandWords; W rows are skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ExpansionError, expandWord, expandWords } from '../../src/containerfile/expand.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const vectorsDir = path.resolve(repoRoot, '..', 'shared', 'conformance', 'buildkit-shell');
const envVarFile = path.join(vectorsDir, 'envVarTest');
const wordsFile = path.join(vectorsDir, 'wordsTest');
const present = existsSync(envVarFile) && existsSync(wordsFile);

/** Lines as Go's bufio.Scanner gives them: split on \n, one trailing \r dropped, no final empty line. */
function lines(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

interface EnvVarRow {
  line: number;
  platform: string;
  input: string;
  expected: string;
}

function envVarRows(): EnvVarRow[] {
  const rows: EnvVarRow[] = [];
  lines(envVarFile).forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    const line = raw.trim();
    if (line === '') return;
    const fields = line.split('|');
    if (fields.length !== 3) throw new Error(`envVarTest line ${i + 1}: expected 3 fields: ${JSON.stringify(raw)}`);
    const platform = fields[0]!.trim();
    if (platform !== 'A' && platform !== 'U' && platform !== 'W') {
      throw new Error(`envVarTest line ${i + 1}: bad platform ${JSON.stringify(platform)}`);
    }
    rows.push({ line: i + 1, platform, input: fields[1]!.trim(), expected: fields[2]!.trim() });
  });
  return rows;
}

interface WordsRow {
  line: number;
  input: string;
  expected: string[];
  env: Map<string, string>;
}

function wordsRows(): WordsRow[] {
  const rows: WordsRow[] = [];
  const env = new Map<string, string>();
  lines(wordsFile).forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    if (raw.startsWith('ENV ')) {
      // NAME=VALUE: leading spaces trimmed, trailing spaces kept.
      const kv = raw.slice(3).replace(/^ +/, '');
      const eq = kv.indexOf('=');
      if (eq < 0) env.set(kv, '');
      else env.set(kv.slice(0, eq), kv.slice(eq + 1));
      return;
    }
    const fields = raw.split('|');
    if (fields.length !== 2) throw new Error(`wordsTest line ${i + 1}: expected exactly one |: ${JSON.stringify(raw)}`);
    rows.push({
      line: i + 1,
      input: fields[0]!.trim(),
      expected: fields[1]!.replace(/^ +/, '').split(','),
      env: new Map(env),
    });
  });
  return rows;
}

const ENV_VAR_ENV = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['KOREAN', '한국어'],
  ['NULL', ''],
]);

if (!present) {
  describe('buildkit-shell conformance vectors', () => {
    if (process.env.CI === 'true') {
      it('needs ../shared/conformance/buildkit-shell', () => {
        throw new Error(`CI=true and the conformance vectors are missing: ${vectorsDir}`);
      });
    } else {
      it.skip(`needs ${vectorsDir}`, () => {});
    }
  });
} else {
  const envRows = envVarRows();
  const runnable = envRows.filter((r) => r.platform !== 'W');
  const windowsOnly = envRows.filter((r) => r.platform === 'W');
  const wRows = wordsRows();

  describe('buildkit-shell/envVarTest (expandWord)', () => {
    it('has the rows the README describes', () => {
      expect(runnable.length).toBeGreaterThan(200);
    });

    it.each(runnable.map((r) => ({ ...r, name: `line ${r.line} ${r.platform}| ${r.input} -> ${r.expected}` })))(
      '$name',
      ({ input, expected }) => {
        if (expected === 'error') {
          expect(() => expandWord(input, ENV_VAR_ENV)).toThrow(ExpansionError);
        } else {
          expect(expandWord(input, ENV_VAR_ENV).value).toBe(expected);
        }
      },
    );

    // W rows describe Windows behaviour; obox builds Linux images only, so they are not cases here.
    it('keeps W rows out (Windows only)', () => {
      expect(windowsOnly.every((r) => r.platform === 'W')).toBe(true);
    });
  });

  describe('buildkit-shell/wordsTest (expandWords)', () => {
    it('has the rows the README describes', () => {
      expect(wRows.length).toBeGreaterThan(20);
    });

    it.each(wRows.map((r) => ({ ...r, name: `line ${r.line}| ${r.input} -> ${r.expected.join(',')}` })))(
      '$name',
      ({ input, expected, env }) => {
        if (expected.length === 1 && expected[0] === 'error') {
          expect(() => expandWords(input, env)).toThrow(ExpansionError);
        } else {
          expect(expandWords(input, env).words).toEqual(expected);
        }
      },
    );
  });
}
