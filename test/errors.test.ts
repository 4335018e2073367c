/**
 * docs/errors.md and the error codes keep in step (in the spirit of fastify's
 * test/errors.test.js, which checks its docs against its errors module): every
 * `*_ERROR_CODES` array a package exports is documented in that package's
 * section, row for row, and nothing else is; every Error subclass in a
 * package's src declares a `code` and has a row; a code string used by two
 * packages is listed, with the reason, under "Codes shared between packages".
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as config from '@hotpath/config';
import * as features from '@hotpath/features';
import * as kinesis from '@hotpath/kinesis';
import * as model from '@hotpath/model';
import * as recordings from '@hotpath/recordings';
import * as sbe from '@hotpath/sbe';
import * as service from '@hotpath/service';
import * as state from '@hotpath/state';
import * as exchangeSim from 'exchange-sim';
import * as inference from 'inference';
import * as ingestor from 'ingestor';
import * as launcher from 'launcher';
import * as trainer from 'trainer';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every package that has errors of its own, as imported: its public surface is what is checked. */
const PACKAGES: Record<string, object> = {
  '@hotpath/config': config,
  '@hotpath/features': features,
  '@hotpath/kinesis': kinesis,
  '@hotpath/model': model,
  '@hotpath/recordings': recordings,
  '@hotpath/sbe': sbe,
  '@hotpath/service': service,
  '@hotpath/state': state,
  'exchange-sim': exchangeSim,
  inference,
  ingestor,
  launcher,
  trainer,
};

/**
 * Packages whose index does not re-export an array they declare yet, with why: checked by the `it.fails` below
 * instead, which starts failing (and so asks for its entry to go) the day the export lands.
 */
const EXPORT_PENDING: Record<string, string> = {};
const checked = Object.entries(PACKAGES).filter(([name]) => !(name in EXPORT_PENDING));

/** Each package's codes: the union of the `*_ERROR_CODES` arrays it exports (a package may have several, e.g. one per error family). */
function exportedCodes(namespace: object): { arrays: string[]; codes: string[] } {
  const arrays = Object.keys(namespace).filter((k) => /^[A-Z][A-Z0-9_]*_ERROR_CODES$/.test(k));
  return { arrays, codes: arrays.flatMap((k) => [...((namespace as Record<string, readonly string[]>)[k] ?? [])]) };
}

interface Row {
  code: string;
  classes: string[];
}
interface Section {
  dir: string;
  rows: Row[];
}

/** The doc's package sections (`## libs/x — \`@hotpath/x\``) and their table rows; the shared-codes table apart. */
function readDoc(): { sections: Map<string, Section>; shared: Map<string, string[]> } {
  const sections = new Map<string, Section>();
  const shared = new Map<string, string[]>();
  let current: Section | 'shared' | undefined;
  for (const line of readFileSync(join(ROOT, 'docs/errors.md'), 'utf8').split('\n')) {
    if (line.startsWith('## ')) {
      const m = /^## ((?:libs|apps)\/[\w-]+) — `([^`]+)`$/.exec(line);
      if (m) {
        expect(sections.has(m[2]!), `docs/errors.md has two sections for ${m[2]}`).toBe(false);
        current = { dir: m[1]!, rows: [] };
        sections.set(m[2]!, current);
      } else current = line === '## Codes shared between packages' ? 'shared' : undefined;
      continue;
    }
    const row = /^\| `([^`]+)` \| ([^|]+) \|/.exec(line);
    if (!row || current === undefined) continue;
    const named = [...row[2]!.matchAll(/`([^`]+)`/g)].map((n) => n[1]!);
    if (current === 'shared') shared.set(row[1]!, named);
    else current.rows.push({ code: row[1]!, classes: named });
  }
  return { sections, shared };
}

interface ErrorClass {
  name: string;
  parent: string;
  file: string;
  /** Declares `code` itself (a field or a constructor parameter property). */
  declaresCode: boolean;
  /** The code a field initializer fixes (`readonly code: X = 'fenced'`), when it does. */
  fixedCode: string | undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    // test support (src/testing) ships in no image and generated codecs throw the runtime's errors
    if (statSync(path).isDirectory()) return name === 'testing' || name === 'generated' ? [] : sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every package folder's name and its `class X extends …Error` declarations in src (parsed, not matched by pattern). */
function scanWorkspace(): Map<string, { dir: string; classes: ErrorClass[]; declaredArrays: string[] }> {
  const out = new Map<string, { dir: string; classes: ErrorClass[]; declaredArrays: string[] }>();
  for (const group of ['libs', 'apps']) {
    for (const name of readdirSync(join(ROOT, group))) {
      const dir = `${group}/${name}`;
      let manifest: { name: string };
      try {
        manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { name: string };
      } catch {
        continue;
      }
      const classes: ErrorClass[] = [];
      const declaredArrays: string[] = [];
      for (const file of sourceFiles(join(ROOT, dir, 'src'))) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/^export const ([A-Z][A-Z0-9_]*_ERROR_CODES)\b/gm)) declaredArrays.push(m[1]!);
        const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
        const visit = (node: ts.Node): void => {
          if (ts.isClassDeclaration(node) && node.name) {
            const parent = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression.getText(source);
            if (parent !== undefined && /Error$/.test(parent)) {
              let declaresCode = false;
              let fixedCode: string | undefined;
              for (const member of node.members) {
                if (ts.isPropertyDeclaration(member) && member.name.getText(source) === 'code') {
                  declaresCode = true;
                  if (member.initializer && ts.isStringLiteral(member.initializer)) fixedCode = member.initializer.text;
                }
                if (
                  ts.isConstructorDeclaration(member) &&
                  member.parameters.some((p) => p.name.getText(source) === 'code' && ts.getModifiers(p)?.some((mod) => mod.kind === ts.SyntaxKind.ReadonlyKeyword))
                )
                  declaresCode = true;
              }
              classes.push({ name: node.name.text, parent, file: file.slice(ROOT.length), declaresCode, fixedCode });
            }
          }
          ts.forEachChild(node, visit);
        };
        visit(source);
      }
      out.set(manifest.name, { dir, classes, declaredArrays });
    }
  }
  return out;
}

const doc = readDoc();
const workspace = scanWorkspace();

describe('error codes', () => {
  it('every package with an Error subclass exports its codes, and is checked here', () => {
    const withErrors = [...workspace].filter(([, p]) => p.classes.length > 0).map(([name]) => name);
    expect(withErrors.filter((name) => !(name in PACKAGES))).toEqual([]);
    for (const [name, namespace] of Object.entries(PACKAGES)) expect(exportedCodes(namespace).arrays, `${name} exports no *_ERROR_CODES`).not.toEqual([]);
  });

  const exportsAllDeclared = (name: string, namespace: object): void => {
    const declared = workspace.get(name)?.declaredArrays ?? [];
    expect(
      declared.filter((a) => !(a in namespace)),
      `${name} declares but does not export`,
    ).toEqual([]);
  };

  it('every *_ERROR_CODES array declared in a package is exported by it', () => {
    for (const [name, namespace] of checked) exportsAllDeclared(name, namespace);
  });

  for (const [name, why] of Object.entries(EXPORT_PENDING)) {
    it.fails(`${name} exports every array it declares (pending: ${why})`, () => exportsAllDeclared(name, PACKAGES[name]!));
  }

  it('codes are label-safe strings, each once in its package', () => {
    for (const [name, namespace] of Object.entries(PACKAGES)) {
      const { codes } = exportedCodes(namespace);
      expect(
        codes.filter((c) => !/^[A-Za-z][A-Za-z0-9_]{1,63}$/.test(c)),
        name,
      ).toEqual([]);
      expect(
        codes.filter((c, i) => codes.indexOf(c) !== i),
        `${name} has a code twice`,
      ).toEqual([]);
    }
  });

  it('every Error subclass declares a code (itself or through its parent)', () => {
    const all = [...workspace.values()].flatMap((p) => p.classes);
    const hasCode = (c: ErrorClass): boolean => c.declaresCode || all.some((p) => p.name === c.parent && hasCode(p));
    expect(all.filter((c) => !hasCode(c)).map((c) => `${c.name} (${c.file})`)).toEqual([]);
  });
});

describe('docs/errors.md', () => {
  it('has one section per package with errors, named by its folder, and no other', () => {
    expect([...doc.sections.keys()].sort()).toEqual(Object.keys(PACKAGES).sort());
    for (const [name, section] of doc.sections) expect(section.dir, name).toBe(workspace.get(name)?.dir);
  });

  const documentsExactly = (name: string, namespace: object): void => {
    const documented = doc.sections.get(name)?.rows.map((r) => r.code) ?? [];
    expect(
      documented.filter((c, i) => documented.indexOf(c) !== i),
      `${name}: documented twice`,
    ).toEqual([]);
    expect([...documented].sort(), name).toEqual([...exportedCodes(namespace).codes].sort());
  };

  it('lists exactly the codes each package exports: each documented code exists, each code is documented, once', () => {
    for (const [name, namespace] of checked) documentsExactly(name, namespace);
  });

  for (const [name, why] of Object.entries(EXPORT_PENDING)) {
    it.fails(`lists exactly the codes ${name} exports (pending: ${why})`, () => documentsExactly(name, PACKAGES[name]!));
  }

  it('names every Error subclass of a package in its section, each code with the class that fixes it, and no class that does not exist', () => {
    for (const [name, section] of doc.sections) {
      const classes = workspace.get(name)?.classes ?? [];
      const documented = new Set(section.rows.flatMap((r) => r.classes));
      expect(
        classes.map((c) => c.name).filter((c) => !documented.has(c)),
        `${name}: classes without a row`,
      ).toEqual([]);
      expect(
        [...documented].filter((c) => !classes.some((k) => k.name === c)),
        `${name}: rows naming no class of the package`,
      ).toEqual([]);
      for (const c of classes.filter((k) => k.fixedCode !== undefined)) {
        expect(section.rows.find((r) => r.code === c.fixedCode)?.classes, `${name}: the row of ${c.fixedCode}`).toContain(c.name);
      }
    }
  });

  it('lists, with a reason, every code string two packages share, and only those', () => {
    const owners = new Map<string, string[]>();
    for (const [name, namespace] of Object.entries(PACKAGES)) for (const code of exportedCodes(namespace).codes) owners.set(code, [...(owners.get(code) ?? []), name]);
    const sharedNow = [...owners].filter(([, pkgs]) => pkgs.length > 1).map(([code, pkgs]) => [code, pkgs.sort()] as const);
    expect(sharedNow.sort(), 'shared codes (docs/errors.md, "Codes shared between packages")').toEqual([...doc.shared].map(([code, pkgs]) => [code, [...pkgs].sort()] as const).sort());
  });
});
