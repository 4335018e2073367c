/**
 * The workspace's import boundaries as data, and the rules they must keep:
 * apps are composition roots (no app imports another app, no lib imports an
 * app), imports never form a cycle (between packages, or among one package's
 * modules), every import of another package is declared in the importer's
 * package.json (runtime code in `dependencies`: the production image installs
 * only those), and packages meet only at what they export.
 *
 * `readWorkspace` reads the repository; `boundaryViolations` is pure, so the
 * rules are tested on small in-memory workspaces as well as on the real one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import ts from 'typescript';

export interface PackageManifest {
  name: string;
  /** Folder relative to the repository root (posix); '' for the root package. */
  dir: string;
  dependencies: readonly string[];
  devDependencies: readonly string[];
  /** Subpath ('.', './testing') → file relative to the package folder ('./src/index.ts'). */
  exports: Readonly<Record<string, string>>;
}

export interface ImportRef {
  specifier: string;
  /** Erased at run time (`import type`, `export type`, `import('x').T` in a type). */
  typeOnly: boolean;
}

export interface SourceFile {
  /** Relative to the repository root (posix). */
  path: string;
  imports: readonly ImportRef[];
}

export interface Workspace {
  packages: readonly PackageManifest[];
  files: readonly SourceFile[];
}

export type BoundaryRule = 'app-imports-app' | 'package-cycle' | 'module-cycle' | 'undeclared-import' | 'unexported-path' | 'missing-export';

export interface Violation {
  rule: BoundaryRule;
  message: string;
}

/** Where code runs: `runtime` ships in the production image; `testing` is a package's test support in src/testing; `dev` is tests, benches and scripts. */
type Role = 'runtime' | 'testing' | 'dev';

const BUILTINS = new Set(builtinModules);
const SOURCE_FOLDERS = ['src', 'bin', 'test'];
const ROOT_FOLDERS = ['test', 'bench', 'scripts'];

/** Every module a file imports or re-exports, statically or dynamically, with whether the import is erased at run time. */
export function importsOf(fileName: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: ImportRef[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      // with verbatimModuleSyntax `import { type A } from 'x'` stays as `import {} from 'x'`: only a type-only clause is erased
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly === true });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument !== undefined && ts.isStringLiteralLike(argument)) found.push({ specifier: argument.text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function manifestAt(rootDir: string, dir: string): PackageManifest {
  const manifest = JSON.parse(readFileSync(posix.join(rootDir, dir, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    exports?: string | Record<string, string>;
  };
  const exports = typeof manifest.exports === 'string' ? { '.': manifest.exports } : (manifest.exports ?? {});
  return { name: manifest.name, dir, dependencies: Object.keys(manifest.dependencies ?? {}), devDependencies: Object.keys(manifest.devDependencies ?? {}), exports };
}

function typescriptFilesUnder(rootDir: string, dir: string): string[] {
  const absolute = posix.join(rootDir, dir);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => posix.relative(rootDir, posix.join(entry.parentPath, entry.name)))
    .filter((path) => !path.split('/').includes('node_modules'));
}

/** The root package and every package in apps/ and libs/ (pnpm-workspace.yaml), with the imports of their TypeScript sources, tests, benches and scripts. */
export function readWorkspace(rootDir: string): Workspace {
  const packages = [manifestAt(rootDir, '')];
  const folders = [...ROOT_FOLDERS];
  for (const group of ['apps', 'libs']) {
    for (const name of readdirSync(posix.join(rootDir, group)).sort()) {
      const dir = `${group}/${name}`;
      if (!existsSync(posix.join(rootDir, dir, 'package.json'))) continue;
      packages.push(manifestAt(rootDir, dir));
      folders.push(...SOURCE_FOLDERS.map((folder) => `${dir}/${folder}`));
    }
  }
  const files = folders.flatMap((folder) => typescriptFilesUnder(rootDir, folder)).map((path) => ({ path, imports: importsOf(path, readFileSync(posix.join(rootDir, path), 'utf8')) }));
  return { packages, files };
}

/** Bare specifier → package name: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(packageNameOf(specifier));
}

function groupOf(pkg: PackageManifest): 'app' | 'lib' | 'root' {
  return pkg.dir.startsWith('apps/') ? 'app' : pkg.dir.startsWith('libs/') ? 'lib' : 'root';
}

/** Strongly connected components (Tarjan) with more than one member or a self-loop: each one holds at least one cycle. */
function cyclicComponents(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.has(node) === true) components.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node);
  return components;
}

/** One cycle through a component's first member, as `a → b → a` (breadth first: the shortest). */
function cycleThrough(component: readonly string[], graph: ReadonlyMap<string, ReadonlySet<string>>): string {
  const members = new Set(component);
  const start = component[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let at = 0; at < queue.length; at++) {
    const node = queue[at]!;
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return [...path, start].join(' → ');
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return component.join(' ↔ ');
}

function addEdge(graph: Map<string, Set<string>>, from: string, to: string): void {
  let targets = graph.get(from);
  if (targets === undefined) graph.set(from, (targets = new Set()));
  targets.add(to);
}

/** Every way the workspace breaks its boundaries, in a stable order; empty when it keeps them. */
export function boundaryViolations(workspace: Workspace): Violation[] {
  const byName = new Map(workspace.packages.map((pkg) => [pkg.name, pkg]));
  // the most specific folder wins: apps/x before the root package ''
  const bySpecificity = [...workspace.packages].sort((a, b) => b.dir.length - a.dir.length);
  const ownerOf = (path: string): PackageManifest => bySpecificity.find((pkg) => pkg.dir === '' || path.startsWith(`${pkg.dir}/`))!;
  const root = workspace.packages.find((pkg) => pkg.dir === '');
  const paths = new Set(workspace.files.map((file) => file.path));
  const resolveFile = (path: string): string | undefined => [path, `${path}.ts`, `${path}/index.ts`].find((candidate) => paths.has(candidate));
  const roleOf = (path: string, pkg: PackageManifest): Role => {
    if (pkg.dir === '') return 'dev';
    const inside = path.slice(pkg.dir.length + 1);
    if (inside.startsWith('src/testing/')) return 'testing';
    return inside.startsWith('src/') || inside.startsWith('bin/') ? 'runtime' : 'dev';
  };

  const violations: Violation[] = [];
  const packageGraph = new Map<string, Set<string>>();
  const moduleGraph = new Map<string, Set<string>>();
  for (const file of workspace.files) {
    const owner = ownerOf(file.path);
    const role = roleOf(file.path, owner);
    const declaredDependencies = new Set([owner.name, ...owner.dependencies]);
    const declaredAnywhere = new Set([...declaredDependencies, ...owner.devDependencies]);
    for (const { specifier, typeOnly } of file.imports) {
      let target: PackageManifest | undefined;
      let targetFile: string | undefined;
      if (specifier.startsWith('.')) {
        targetFile = resolveFile(posix.normalize(posix.join(posix.dirname(file.path), specifier)));
        if (targetFile === undefined) continue; // a missing file is tsc's to report
        target = ownerOf(targetFile);
        if (target !== owner) {
          // tests, benches and scripts share test support by path (another package's test/ folder): no package dependency
          if (role === 'dev' && targetFile.startsWith(target.dir === '' ? 'test/' : `${target.dir}/test/`)) continue;
          violations.push({ rule: 'unexported-path', message: `${file.path} reaches into ${target.name} by path (${specifier}): import the package by name` });
        }
      } else {
        if (isBuiltin(specifier)) continue;
        const name = packageNameOf(specifier);
        target = byName.get(name);
        const declared =
          role === 'runtime' && !typeOnly
            ? declaredDependencies.has(name)
            : declaredAnywhere.has(name) || (role === 'dev' && target === undefined && root !== undefined && [...root.dependencies, ...root.devDependencies].includes(name));
        if (!declared) {
          const where = role === 'runtime' && !typeOnly ? 'dependencies (the production image installs only those)' : 'dependencies or devDependencies';
          violations.push({ rule: 'undeclared-import', message: `${file.path} imports ${specifier}, which ${owner.name} does not declare in its ${where}` });
        }
        if (target === undefined) continue; // an external package
        const subpath = `.${specifier.slice(name.length)}`;
        const exported = target.exports[subpath];
        if (exported === undefined) {
          violations.push({ rule: 'unexported-path', message: `${file.path} imports ${specifier}, which ${target.name} does not export` });
          continue;
        }
        targetFile = posix.normalize(posix.join(target.dir, exported));
      }
      if (target === owner) {
        addEdge(moduleGraph, file.path, targetFile);
        continue;
      }
      if (groupOf(target) === 'app' && (groupOf(owner) === 'lib' || (groupOf(owner) === 'app' && role !== 'dev'))) {
        violations.push({
          rule: 'app-imports-app',
          message: `${file.path} imports the app ${target.name}: ${groupOf(owner) === 'lib' ? 'a lib never imports an app' : 'apps share code through libs'}`,
        });
      }
      if (groupOf(owner) !== 'root') addEdge(packageGraph, owner.name, target.name);
    }
  }
  for (const pkg of workspace.packages) {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      const path = posix.normalize(posix.join(pkg.dir, target));
      if (path.endsWith('.ts') && !paths.has(path)) violations.push({ rule: 'missing-export', message: `${pkg.name} exports ${subpath} as ${target}, which does not exist` });
    }
  }
  for (const component of cyclicComponents(packageGraph)) {
    violations.push({ rule: 'package-cycle', message: `packages import each other: ${cycleThrough(component, packageGraph)}` });
  }
  for (const component of cyclicComponents(moduleGraph)) {
    violations.push({ rule: 'module-cycle', message: `modules of ${ownerOf(component[0]!).name} import each other: ${cycleThrough(component, moduleGraph)}` });
  }
  return violations;
}
