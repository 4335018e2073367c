/**
 * The model registry: a directory of versioned candidates, each one
 * directory `candidates/<id>/` holding `model.onnx`, `report.md` and
 * `entry.json` (metadata, evaluation, lineage: data span, code version,
 * parent model, and the sha256 of the model and report files). Beside them,
 * `champion.json` (which entry serves) and `decisions/` (every lifecycle
 * decision, one JSON file each).
 *
 * Nothing half-written is ever visible: a candidate is written into a
 * temporary directory inside the registry and renamed into place (one atomic
 * rename on the same file system), JSON files are written beside their
 * target and renamed over it. Everything read back is untrusted: entry.json
 * is schema-checked and the model's bytes must match the recorded hash, else
 * the read is refused with a RegistryError naming the entry (the caller
 * counts it). An S3 prefix would implement the same four operations
 * (add, read, list, role/decisions) with the same atomicity from S3's
 * single-object PUT; it is not built (docs/trainer.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const REGISTRY_ERROR_CODES = ['entry_not_found', 'bad_entry', 'hash_mismatch', 'entry_schema_mismatch'] as const;
export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[number];

/** A registry entry refused on read; `code` is the metric label. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const ID = /^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$/;
const Sha = z.string().regex(/^[0-9a-f]{64}$/);

export const LineageSchema = z.object({
  /** Event-time span of the training data, ISO 8601. */
  dataFrom: z.string(),
  dataTo: z.string(),
  samples: z.number().int().nonnegative(),
  dataSource: z.string().max(2000),
  /** The git commit the trainer ran from (or the package version when not in a checkout). */
  codeVersion: z.string().max(200),
  /** The champion when this candidate was trained (the model it would replace); null for the first. */
  parent: z.string().regex(ID).nullable(),
});
export type Lineage = z.infer<typeof LineageSchema>;

export const EntrySchema = z.object({
  id: z.string().regex(ID),
  createdAt: z.string(),
  name: z.string().max(100),
  version: z.string().max(100),
  featureSchemaHash: z.string().regex(/^[0-9a-f]{16}$/),
  modelSha256: Sha,
  modelBytes: z.number().int().positive(),
  reportSha256: Sha.nullable(),
  evaluation: z.record(z.string(), z.number()),
  lineage: LineageSchema,
});
export type RegistryEntry = z.infer<typeof EntrySchema>;

export const DECISIONS = ['candidate_added', 'challenger_loaded', 'promoted', 'rejected', 'decay_detected', 'rolled_back', 'refused'] as const;
export type DecisionKind = (typeof DECISIONS)[number];

export const DecisionSchema = z.object({
  at: z.string(),
  decision: z.enum(DECISIONS),
  champion: z.string().nullable(),
  challenger: z.string().nullable(),
  reason: z.string().max(2000),
  figures: z.record(z.string(), z.number()).default({}),
});
export type Decision = z.infer<typeof DecisionSchema>;

export interface NewCandidate {
  name: string;
  version: string;
  featureSchemaHash: string;
  model: Uint8Array;
  report?: string;
  evaluation: Record<string, number>;
  lineage: Lineage;
  createdAt?: Date;
}

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const MAX_JSON_BYTES = 1 << 20;
const MAX_DECISIONS = 10_000;

export class ModelRegistry {
  constructor(readonly root: string) {}

  private dir(id: string): string {
    if (!ID.test(id)) throw new RegistryError('entry_not_found', `registry id ${JSON.stringify(id.slice(0, 40))} is not an id`);
    return join(this.root, 'candidates', id);
  }

  /** Writes a candidate atomically; its id is its creation time and the model's hash (sorts by time). */
  async add(c: NewCandidate): Promise<RegistryEntry> {
    const created = c.createdAt ?? new Date();
    const modelSha256 = sha256(c.model);
    const id = `${created.toISOString().replace(/[-:.]/g, '').replace('T', '-')}-${modelSha256.slice(0, 12)}`;
    const entry: RegistryEntry = EntrySchema.parse({
      id,
      createdAt: created.toISOString(),
      name: c.name,
      version: c.version,
      featureSchemaHash: c.featureSchemaHash,
      modelSha256,
      modelBytes: c.model.length,
      reportSha256: c.report === undefined ? null : sha256(c.report),
      evaluation: Object.fromEntries(Object.entries(c.evaluation).filter(([, v]) => Number.isFinite(v))),
      lineage: c.lineage,
    });
    const tmp = join(this.root, '.tmp', `${id}.${randomBytes(6).toString('hex')}`);
    await mkdir(tmp, { recursive: true });
    await mkdir(join(this.root, 'candidates'), { recursive: true });
    try {
      await writeFile(join(tmp, 'model.onnx'), c.model, { flush: true });
      if (c.report !== undefined) await writeFile(join(tmp, 'report.md'), c.report, { flush: true });
      // entry.json last: a directory renamed into place always has it, and it names what is beside it
      await writeFile(join(tmp, 'entry.json'), `${JSON.stringify(entry, null, 2)}\n`, { flush: true });
      await rename(tmp, this.dir(id));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    return entry;
  }

  /** Valid entries, oldest first; an unreadable entry is passed to `refused` and left out. */
  async list(refused: (err: RegistryError) => void = () => undefined): Promise<RegistryEntry[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, 'candidates'));
    } catch {
      return [];
    }
    const out: RegistryEntry[] = [];
    for (const name of names.filter((n) => ID.test(n)).sort()) {
      try {
        out.push(await this.entry(name));
      } catch (err) {
        if (err instanceof RegistryError) refused(err);
        else throw err;
      }
    }
    return out;
  }

  async entry(id: string): Promise<RegistryEntry> {
    const raw = await readBounded(join(this.dir(id), 'entry.json'), `registry entry ${id}`);
    let parsed: RegistryEntry;
    try {
      parsed = EntrySchema.parse(JSON.parse(raw.toString('utf8')));
    } catch (err) {
      throw new RegistryError('bad_entry', `registry entry ${id}: entry.json is not a valid entry: ${(err as Error).message.slice(0, 300)}`, { cause: err });
    }
    if (parsed.id !== id) throw new RegistryError('bad_entry', `registry entry ${id}: entry.json names ${parsed.id}`);
    return parsed;
  }

  /** The entry and its model bytes, refused unless the bytes match the recorded hash and the schema hash matches `featureSchemaHash` (when given). */
  async read(id: string, featureSchemaHash?: string): Promise<{ entry: RegistryEntry; model: Buffer }> {
    const entry = await this.entry(id);
    if (featureSchemaHash !== undefined && entry.featureSchemaHash !== featureSchemaHash) {
      throw new RegistryError('entry_schema_mismatch', `registry entry ${id} was trained on feature schema ${entry.featureSchemaHash}, the live one is ${featureSchemaHash}`);
    }
    const model = await readBounded(join(this.dir(id), 'model.onnx'), `registry entry ${id}`, 64 * MAX_JSON_BYTES);
    const actual = sha256(model);
    if (actual !== entry.modelSha256 || model.length !== entry.modelBytes) {
      throw new RegistryError(
        'hash_mismatch',
        `registry entry ${id}: model.onnx has sha256 ${actual.slice(0, 12)}… (${model.length} bytes), entry.json says ${entry.modelSha256.slice(0, 12)}… (${entry.modelBytes} bytes): refused`,
      );
    }
    return { entry, model };
  }

  async report(id: string): Promise<string | null> {
    try {
      return (await readBounded(join(this.dir(id), 'report.md'), `registry entry ${id}`, 16 * MAX_JSON_BYTES)).toString('utf8');
    } catch {
      return null;
    }
  }

  /** The champion's id, or null when none was chosen (or champion.json is malformed). */
  async champion(): Promise<string | null> {
    try {
      const raw = await readBounded(join(this.root, 'champion.json'), 'champion.json');
      const id = z.object({ id: z.string().regex(ID) }).parse(JSON.parse(raw.toString('utf8'))).id;
      return id;
    } catch {
      return null;
    }
  }

  async setChampion(id: string): Promise<void> {
    this.dir(id);
    await writeAtomic(join(this.root, 'champion.json'), `${JSON.stringify({ id, at: new Date().toISOString() })}\n`);
  }

  async recordDecision(d: Omit<Decision, 'at' | 'figures'> & { at?: Date; figures?: Record<string, number> }): Promise<Decision> {
    const at = d.at ?? new Date();
    const decision = DecisionSchema.parse({ ...d, at: at.toISOString(), figures: Object.fromEntries(Object.entries(d.figures ?? {}).filter(([, v]) => Number.isFinite(v))) });
    const dir = join(this.root, 'decisions');
    await mkdir(dir, { recursive: true });
    await writeAtomic(join(dir, `${at.toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}.json`), `${JSON.stringify(decision)}\n`);
    return decision;
  }

  /** The newest `limit` decisions, newest first (malformed files skipped). */
  async decisions(limit = 20): Promise<Decision[]> {
    let names: string[];
    try {
      names = (await readdir(join(this.root, 'decisions'))).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    } catch {
      return [];
    }
    const out: Decision[] = [];
    for (const n of names.sort().reverse().slice(0, Math.min(limit, MAX_DECISIONS))) {
      try {
        out.push(DecisionSchema.parse(JSON.parse((await readBounded(join(this.root, 'decisions', n), n)).toString('utf8'))));
      } catch {
        // a malformed decision file is skipped: the log line and metric of the decision itself stand
      }
    }
    return out;
  }
}

/**
 * A registry file, refused before it is read when it is not a regular file or is over `max` bytes (a FIFO or a
 * link to /dev/zero where an entry should be must neither hang nor fill memory); at most `max` bytes are read.
 */
async function readBounded(path: string, what: string, max = MAX_JSON_BYTES): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new RegistryError('entry_not_found', `${what}: not found or not readable`, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new RegistryError('bad_entry', `${what}: not a regular file`);
    if (st.size > max) throw new RegistryError('bad_entry', `${what}: ${st.size} bytes, over ${max}`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return buf.subarray(0, n);
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError('entry_not_found', `${what}: not readable`, { cause: err });
  } finally {
    await fh.close();
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, { flush: true });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
