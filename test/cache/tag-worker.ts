/**
 * Child process for the cross-process index test: tags `count` names `<prefix>-<i>` onto the image
 * named by argv[3], through its own Store instance. Run with `node --import tsx`.
 */
import { Store } from '../../src/cache/store/store.js';

const [root, source, prefix, count] = process.argv.slice(2) as [string, string, string, string];
const store = await Store.open(root);
for (let i = 0; i < Number(count); i++) await store.tag(source, `${prefix}-${i}`);
