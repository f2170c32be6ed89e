#!/usr/bin/env node
// Loads the bundled CLI (dist/bundle/, made by `npm run build` from dist/; see
// native-scripts/bundle.mjs), or the unbundled dist/cli/ when that is newer (after a plain
// `tsc -p tsconfig.build.json`, e.g. in watch mode), so the CLI never runs stale code.
import { statSync } from 'node:fs';

const mtime = (rel) => {
  try {
    return statSync(new URL(rel, import.meta.url)).mtimeMs;
  } catch {
    return -1;
  }
};
const entry = mtime('../dist/bundle/main.js') >= mtime('../dist/cli/main.js') ? '../dist/bundle/main.js' : '../dist/cli/main.js';
const { main } = await import(entry);

main(process.argv).then((code) => {
  process.exitCode = code;
});
