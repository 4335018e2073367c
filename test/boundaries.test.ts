/**
 * The workspace keeps its boundaries (docs/architecture.md, "Layout and
 * dependency rule"): checked on the repository, and the checker itself shown
 * to fail on small in-memory workspaces that break each rule.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { boundaryViolations, importsOf, readWorkspace, type BoundaryRule, type PackageManifest, type SourceFile, type Workspace } from './support/boundaries.ts';

describe('the repository', () => {
  const violations = boundaryViolations(readWorkspace(fileURLToPath(new URL('..', import.meta.url))));
  const broken = (rule: BoundaryRule): string[] => violations.filter((v) => v.rule === rule).map((v) => v.message);

  it('no app imports another app, no lib imports an app (apps/*/src and bin; tests may use another app)', () => {
    expect(broken('app-imports-app')).toEqual([]);
  });

  it('no import cycle between workspace packages, tests included', () => {
    expect(broken('package-cycle')).toEqual([]);
  });

  it('no import cycle among the modules of one package, type-only imports included', () => {
    expect(broken('module-cycle')).toEqual([]);
  });

  it('every package declares each package it imports: runtime code in dependencies (the production image installs only those), tests in either', () => {
    expect(broken('undeclared-import')).toEqual([]);
  });

  it('packages meet only at what they export (no deep imports, no paths into another package but its test support)', () => {
    expect(broken('unexported-path')).toEqual([]);
  });

  it('every path a package exports exists', () => {
    expect(broken('missing-export')).toEqual([]);
  });
});

const manifest = (dir: string, name: string, dependencies: string[] = [], devDependencies: string[] = []): PackageManifest => ({
  name,
  dir,
  dependencies,
  devDependencies,
  exports: { '.': './src/index.ts' },
});

/** A file whose imports are given as specifiers, `type x` for a type-only one. */
const file = (path: string, ...specifiers: string[]): SourceFile => ({
  path,
  imports: specifiers.map((s) => (s.startsWith('type ') ? { specifier: s.slice(5), typeOnly: true } : { specifier: s, typeOnly: false })),
});

/** Two apps over two libs, keeping every rule; each test breaks one (`changed` files replace those at the same path). */
function workspace(changed: SourceFile[] = [], packages: Partial<Record<string, PackageManifest>> = {}): Workspace {
  const base = {
    root: { ...manifest('', 'root', [], ['sim', 'trainer', '@x/market', 'vitest', 'ws']), exports: {} },
    sim: manifest('apps/sim', 'sim', ['@x/market']),
    trainer: manifest('apps/trainer', 'trainer', ['@x/market', '@x/model'], ['sim']),
    market: manifest('libs/market', '@x/market', ['ws']),
    model: manifest('libs/model', '@x/model', [], ['@x/market']),
  };
  const files = new Map(
    [
      file('apps/sim/src/index.ts', '@x/market', './server.ts'),
      file('apps/sim/src/server.ts', 'node:http', 'type @x/market'),
      file('apps/sim/test/support/client.ts', 'ws'),
      file('apps/trainer/src/index.ts', '@x/market', '@x/model'),
      file('apps/trainer/test/train.test.ts', 'vitest', 'sim', '../../sim/test/support/client.ts'),
      file('libs/market/src/index.ts', 'ws', './feed.ts'),
      file('libs/market/src/feed.ts', 'type ./book.ts'),
      file('libs/market/src/book.ts'),
      file('libs/model/src/index.ts', 'fs'),
      file('libs/model/test/model.test.ts', 'vitest', '@x/market', '../../../test/support/property.ts'),
      file('test/support/property.ts', 'vitest'),
      file('test/stack.test.ts', 'sim', '@x/market', './support/property.ts'),
    ].map((f) => [f.path, f]),
  );
  for (const f of changed) files.set(f.path, f);
  return { packages: Object.values({ ...base, ...packages }).filter((p) => p !== undefined), files: [...files.values()] };
}

describe('the boundary checker', () => {
  it('passes a workspace that keeps every rule', () => {
    expect(boundaryViolations(workspace())).toEqual([]);
  });

  it('fails an app that imports another app, by name or by path, and a lib that imports an app', () => {
    const broken = workspace([file('apps/trainer/src/sources.ts', 'sim'), file('apps/trainer/bin/train.ts', '../../sim/src/index.ts'), file('libs/model/src/replay.ts', 'type trainer')]);
    expect(boundaryViolations(broken)).toEqual([
      { rule: 'undeclared-import', message: 'apps/trainer/src/sources.ts imports sim, which trainer does not declare in its dependencies (the production image installs only those)' },
      { rule: 'app-imports-app', message: 'apps/trainer/src/sources.ts imports the app sim: apps share code through libs' },
      { rule: 'unexported-path', message: 'apps/trainer/bin/train.ts reaches into sim by path (../../sim/src/index.ts): import the package by name' },
      { rule: 'app-imports-app', message: 'apps/trainer/bin/train.ts imports the app sim: apps share code through libs' },
      { rule: 'undeclared-import', message: 'libs/model/src/replay.ts imports trainer, which @x/model does not declare in its dependencies or devDependencies' },
      { rule: 'app-imports-app', message: 'libs/model/src/replay.ts imports the app trainer: a lib never imports an app' },
      { rule: 'package-cycle', message: 'packages import each other: @x/model → trainer → @x/model' },
    ]);
  });

  it('fails a cycle between packages, tests included, naming the shortest loop', () => {
    const broken = workspace([file('libs/market/test/feed.test.ts', '@x/model')], { market: manifest('libs/market', '@x/market', ['ws'], ['@x/model']) });
    expect(boundaryViolations(broken)).toEqual([{ rule: 'package-cycle', message: 'packages import each other: @x/market → @x/model → @x/market' }]);
  });

  it('fails a cycle among one package’s modules, even through type-only imports (erased at run time, still a tangle)', () => {
    const broken = workspace([file('libs/market/src/book.ts', 'type ./index.ts')]);
    expect(boundaryViolations(broken)).toEqual([
      { rule: 'module-cycle', message: 'modules of @x/market import each other: libs/market/src/book.ts → libs/market/src/index.ts → libs/market/src/feed.ts → libs/market/src/book.ts' },
    ]);
  });

  it('fails an undeclared import: runtime code needs dependencies, a test needs either, external test tools may come from the root', () => {
    const broken = workspace([
      file('apps/sim/src/rest.ts', '@x/model', 'type @x/model', 'zod'),
      file('libs/model/test/train.test.ts', 'trainer', 'fast-check'),
      file('libs/model/src/testing/fake.ts', '@x/market'),
    ]);
    expect(boundaryViolations(broken).filter((v) => v.rule === 'undeclared-import')).toEqual([
      { rule: 'undeclared-import', message: 'apps/sim/src/rest.ts imports @x/model, which sim does not declare in its dependencies (the production image installs only those)' },
      { rule: 'undeclared-import', message: 'apps/sim/src/rest.ts imports @x/model, which sim does not declare in its dependencies or devDependencies' },
      { rule: 'undeclared-import', message: 'apps/sim/src/rest.ts imports zod, which sim does not declare in its dependencies (the production image installs only those)' },
      { rule: 'undeclared-import', message: 'libs/model/test/train.test.ts imports trainer, which @x/model does not declare in its dependencies or devDependencies' },
      { rule: 'undeclared-import', message: 'libs/model/test/train.test.ts imports fast-check, which @x/model does not declare in its dependencies or devDependencies' },
    ]);
    const devOnly = workspace([file('libs/model/src/load.ts', '@x/market')]);
    expect(boundaryViolations(devOnly)).toEqual([
      { rule: 'undeclared-import', message: 'libs/model/src/load.ts imports @x/market, which @x/model does not declare in its dependencies (the production image installs only those)' },
    ]);
  });

  it('fails a deep import past a package’s exports', () => {
    const broken = workspace([file('apps/sim/src/deep.ts', '@x/market/src/book.ts')]);
    expect(boundaryViolations(broken)).toEqual([{ rule: 'unexported-path', message: 'apps/sim/src/deep.ts imports @x/market/src/book.ts, which @x/market does not export' }]);
  });
});

describe('importsOf', () => {
  it('fails a package whose exports name a file that does not exist', () => {
    const trainer = { ...manifest('apps/trainer', 'trainer', ['@x/market', '@x/model'], ['sim']), exports: { '.': './src/main.ts' } };
    expect(boundaryViolations(workspace([], { trainer }))).toEqual([{ rule: 'missing-export', message: 'trainer exports . as ./src/main.ts, which does not exist' }]);
  });

  it('finds imports, re-exports and dynamic imports, and tells which are erased at run time', () => {
    const text = [
      "import { a } from 'a';",
      "import type { B } from 'b';",
      "import { type C } from 'c';", // verbatimModuleSyntax keeps `import {} from 'c'`
      "import 'd';",
      "export { e } from './e.ts';",
      "export type { F } from './f.ts';",
      "export * from './g.ts';",
      "const h = await import('h');",
      "let i: import('i').I;",
      "const notAnImport = 'from \\'j\\'';",
    ].join('\n');
    expect(importsOf('x.ts', text)).toEqual([
      { specifier: 'a', typeOnly: false },
      { specifier: 'b', typeOnly: true },
      { specifier: 'c', typeOnly: false },
      { specifier: 'd', typeOnly: false },
      { specifier: './e.ts', typeOnly: false },
      { specifier: './f.ts', typeOnly: true },
      { specifier: './g.ts', typeOnly: false },
      { specifier: 'h', typeOnly: false },
      { specifier: 'i', typeOnly: true },
    ]);
  });
});
