/**
 * data.binance.vision daily archives: download a date range, verify each zip
 * against its published .CHECKSUM (sha256), unpack the CSV and keep it
 * gzipped, in the format `readArchiveTrades` reads. A file that fails its
 * checksum is not kept. Files already present are skipped (resumable).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import type { TrainerErrorCode } from './errors.ts';

/** A data.binance.vision archive not fetched: HTTP refused it, its sha256 differs from the published one, or the zip is not the CSV. */
export class FetchError extends Error {
  override readonly name = 'FetchError';
  constructor(
    readonly code: TrainerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface FetchOptions {
  symbol: string;
  kind: 'trades' | 'aggTrades';
  /** Inclusive UTC dates, YYYY-MM-DD. */
  from: string;
  to: string;
  out: string;
  baseUrl?: string;
  onProgress?: (file: string, received: number, total: number | undefined) => void;
}

export function dates(from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  if (out.length === 0 || out.length > 3660) throw new RangeError(`bad date range ${from} … ${to}`);
  return out;
}

async function download(url: string, onChunk: (received: number, total: number | undefined) => void): Promise<Buffer> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new FetchError('download_failed', `${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(Buffer.from(chunk));
    received += chunk.length;
    onChunk(received, total);
  }
  return Buffer.concat(chunks);
}

/** Returns the paths of the verified `.csv.gz` files, one per day. */
export async function fetchArchive(o: FetchOptions): Promise<string[]> {
  const base = (o.baseUrl ?? 'https://data.binance.vision').replace(/\/$/, '');
  mkdirSync(o.out, { recursive: true });
  const files: string[] = [];
  for (const day of dates(o.from, o.to)) {
    const name = `${o.symbol}-${o.kind}-${day}`;
    const target = join(o.out, `${name}.csv.gz`);
    files.push(target);
    if (existsSync(target)) continue;
    const url = `${base}/data/spot/daily/${o.kind}/${o.symbol}/${name}.zip`;
    const checksum = (await download(`${url}.CHECKSUM`, () => undefined)).toString('utf8').trim().split(/\s+/)[0] ?? '';
    const zip = await download(url, (r, t) => o.onProgress?.(name, r, t));
    const actual = createHash('sha256').update(zip).digest('hex');
    if (actual !== checksum.toLowerCase()) throw new FetchError('checksum_mismatch', `${name}.zip: sha256 ${actual}, published ${checksum}`);
    let csv: Uint8Array | undefined;
    try {
      csv = unzipSync(zip)[`${name}.csv`];
    } catch (err) {
      // fflate's text in the message: the CLI prints only the message, for the person who ran it
      throw new FetchError('bad_archive', `${name}.zip: ${(err as Error).message}`, { cause: err });
    }
    if (!csv) throw new FetchError('bad_archive', `${name}.zip holds no ${name}.csv`);
    // written whole, then renamed: an interrupted run never leaves a half file that would be skipped next time
    writeFileSync(`${target}.part`, gzipSync(csv));
    renameSync(`${target}.part`, target);
  }
  return files;
}
