/**
 * Regenerates every committed codec from sbe-schemas/. Usage:
 *   pnpm generate            # write files
 *   pnpm generate --check    # exit 1 if any committed file differs
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSchema, parseSchema } from '../src/codegen/index.ts';
import { GENERATION_TARGETS } from '../src/codegen/targets.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const check = process.argv.includes('--check');
let stale = 0;

for (const target of GENERATION_TARGETS) {
  const xml = readFileSync(join(repoRoot, target.schema), 'utf8');
  const files = generateSchema(parseSchema(xml), xml, target.schema);
  const outDir = join(repoRoot, target.outDir);
  if (check) {
    const expected = new Set(files.map((f) => f.path));
    for (const f of files) {
      const path = join(outDir, f.path);
      if (!existsSync(path) || readFileSync(path, 'utf8') !== f.text) {
        console.error(`stale: ${join(target.outDir, f.path)}`);
        stale++;
      }
    }
    if (existsSync(outDir)) {
      for (const name of readdirSync(outDir)) {
        if (!expected.has(name)) {
          console.error(`unexpected: ${join(target.outDir, name)}`);
          stale++;
        }
      }
    }
    continue;
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const f of files) writeFileSync(join(outDir, f.path), f.text);
  console.log(`${target.schema} → ${target.outDir} (${files.length} files)`);
}

if (check && stale > 0) {
  console.error(`${stale} generated file(s) out of date: run \`pnpm generate\``);
  process.exit(1);
}
