// Turns the build stage's checkout into the tree the production image runs (deploy/Dockerfile):
// after `tsc -p deploy/image/tsconfig.build.json` has written each source file's JavaScript beside it,
// this drops every TypeScript source, test, bench, script and doc, and points each workspace
// package's `exports` at the JavaScript. What stays: the workspace manifests and lockfile (for the
// production-only install that follows), the patches the lockfile names, the shipped model, and
// apps/*/{src,bin} + libs/*/{src,bin} as .js. Plain JavaScript: it runs before anything is installed.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2] ?? '.';
const KEEP_AT_ROOT = new Set(['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', '.npmrc', 'patches', 'models', 'apps', 'libs', 'node_modules']);
const CODE_DIRS = new Set(['src', 'bin']);

for (const name of readdirSync(root)) if (!KEEP_AT_ROOT.has(name)) rmSync(join(root, name), { recursive: true, force: true });
rmSync(join(root, 'models', 'btcusdt-10s', 'charts'), { recursive: true, force: true });

/** Every .ts file below dir goes: its .js twin (tsc's output) stays. */
function dropTypeScript(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) dropTypeScript(path);
    else if (name.endsWith('.ts')) rmSync(path);
  }
}

/** "./src/index.ts" → "./src/index.js", recursively through an exports map. */
function toJavaScript(value) {
  if (typeof value === 'string') return value.replace(/\.ts$/, '.js');
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJavaScript(v)]));
  return value;
}

let packages = 0;
for (const group of ['apps', 'libs']) {
  for (const name of readdirSync(join(root, group))) {
    const dir = join(root, group, name);
    const manifestPath = join(dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (entry === 'package.json' || entry === 'node_modules') continue;
      if (CODE_DIRS.has(entry) && statSync(path).isDirectory()) dropTypeScript(path);
      else rmSync(path, { recursive: true, force: true });
    }
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.exports) manifest.exports = toJavaScript(manifest.exports);
    delete manifest.scripts;
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    packages++;
  }
}
console.log(`production tree: ${packages} workspace packages, JavaScript only`);
