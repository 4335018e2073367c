import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchiveTrades } from '@hotpath/recordings';
import { fetchArchive, FetchError } from '../src/fetch.ts';

// a local stand-in for data.binance.vision, serving archives in its layout (this machine cannot reach the real one)
const files = new Map<string, Buffer>();
let server: Server;
let base = '';
const csv = (day: string) => `1,60000.01,0.5,30000.005,${Date.parse(`${day}T00:00:01Z`)},True,True\n2,60000.02,0.25,15000.005,${Date.parse(`${day}T00:00:02Z`)},False,True\n`;
function publish(day: string, corrupt = false): void {
  const name = `BTCUSDT-trades-${day}`;
  const zip = Buffer.from(zipSync({ [`${name}.csv`]: Buffer.from(csv(day)) }));
  files.set(`/data/spot/daily/trades/BTCUSDT/${name}.zip`, zip);
  const sum = createHash('sha256')
    .update(corrupt ? Buffer.from('other') : zip)
    .digest('hex');
  files.set(`/data/spot/daily/trades/BTCUSDT/${name}.zip.CHECKSUM`, Buffer.from(`${sum}  ${name}.zip\n`));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('train:fetch', () => {
  it('downloads a date range, verifies checksums, keeps readable gzipped CSVs, reports progress, skips what it has', async () => {
    publish('2024-08-01');
    publish('2024-08-02');
    const out = mkdtempSync(join(tmpdir(), 'archive-'));
    const seen: number[] = [];
    const got = await fetchArchive({ symbol: 'BTCUSDT', kind: 'trades', from: '2024-08-01', to: '2024-08-02', out, baseUrl: base, onProgress: (_f, r) => seen.push(r) });
    expect(got.map((f) => f.split('/').pop())).toEqual(['BTCUSDT-trades-2024-08-01.csv.gz', 'BTCUSDT-trades-2024-08-02.csv.gz']);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    const trades = readArchiveTrades(got[1]!);
    expect(trades.map((t) => [t.id, t.price, t.isBuyerMaker])).toEqual([
      [1, '60000.01', true],
      [2, '60000.02', false],
    ]);
    expect(trades[0]!.timeUs).toBe(Date.parse('2024-08-02T00:00:01Z') * 1000);
    // resumable: a second run downloads nothing (the server no longer has the files)
    files.clear();
    expect(await fetchArchive({ symbol: 'BTCUSDT', kind: 'trades', from: '2024-08-01', to: '2024-08-02', out, baseUrl: base })).toEqual(got);
  });

  it('a checksum mismatch or a missing day is a typed error, and nothing half-verified is kept', async () => {
    publish('2024-09-01', true);
    const out = mkdtempSync(join(tmpdir(), 'archive-'));
    await expect(fetchArchive({ symbol: 'BTCUSDT', kind: 'trades', from: '2024-09-01', to: '2024-09-01', out, baseUrl: base })).rejects.toMatchObject({
      name: 'FetchError',
      code: 'checksum_mismatch',
    });
    expect(existsSync(join(out, 'BTCUSDT-trades-2024-09-01.csv.gz'))).toBe(false);
    const missing = fetchArchive({ symbol: 'BTCUSDT', kind: 'trades', from: '2024-10-01', to: '2024-10-01', out, baseUrl: base });
    await expect(missing).rejects.toBeInstanceOf(FetchError);
    await expect(missing).rejects.toMatchObject({ code: 'download_failed' });
  });
});
