import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ArchiveFormatError, CaptureFormatError, CaptureWriter, parseCapture, readArchiveTrades, readCapture } from '../src/index.ts';
import { gunzipFile } from '../src/gzip.ts';

const dir = mkdtempSync(join(tmpdir(), 'rec-'));

describe('capture files (length-prefixed envelopes)', () => {
  it('round-trip through a gzip file, payloads byte for byte', () => {
    const w = new CaptureWriter();
    const frames = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.from('x'.repeat(70_000))];
    frames.forEach((payload, i) => {
      w.add({ receiveTimeUs: 1_700_000_000_000_000 + i, sequence: i + 1, connectionEpoch: 2, kind: 1, symbol: 'BTCUSDT', payload });
    });
    const path = join(dir, 'a.capture.gz');
    w.writeFile(path);
    const back = readCapture(path);
    expect(back.map((c) => [c.sequence, c.receiveTimeUs - 1_700_000_000_000_000, c.symbol, c.payload.length])).toEqual([
      [1, 0, 'BTCUSDT', 3],
      [2, 1, 'BTCUSDT', 0],
      [3, 2, 'BTCUSDT', 70_000],
    ]);
    expect(back[2]!.payload.equals(frames[2]!)).toBe(true);
  });

  it('a truncated or corrupt capture is an error with the offset', () => {
    const w = new CaptureWriter();
    w.add({ receiveTimeUs: 1, sequence: 1, connectionEpoch: 1, kind: 1, symbol: 'BTCUSDT', payload: Buffer.from([9]) });
    const bytes = w.toBuffer();
    expect(() => parseCapture(bytes.subarray(0, bytes.length - 1))).toThrow(CaptureFormatError);
    expect(() => parseCapture(bytes.subarray(0, bytes.length - 1))).toThrow(expect.objectContaining({ code: 'malformed_capture' }));
    const corrupt = Buffer.from(bytes);
    corrupt.writeUInt16LE(7, 4 + 4); // schema id of the envelope
    expect(() => parseCapture(corrupt)).toThrow(/offset 0/);
  });
});

describe('data.binance.vision archive CSVs', () => {
  it('reads spot trades (no header, ms before 2025, µs after) and aggTrades', () => {
    const trades = join(dir, 'BTCUSDT-trades-2024-08-08.csv');
    writeFileSync(trades, '3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342,True,True\n3735683260,61837.64000000,0.04800000,2968.20672000,1735689600123456,False,True\n');
    expect(readArchiveTrades(trades)).toEqual([
      { id: 3735683259, price: '61837.63000000', qty: '0.02000000', timeUs: 1723161255342000, isBuyerMaker: true },
      { id: 3735683260, price: '61837.64000000', qty: '0.04800000', timeUs: 1735689600123456, isBuyerMaker: false },
    ]);
    const agg = join(dir, 'BTCUSDT-aggTrades-2024-08-08.csv');
    writeFileSync(agg, 'agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,was_best_price_match\n7,100.5,1,10,12,1723161255342,false,true\n');
    expect(readArchiveTrades(agg)).toEqual([{ id: 7, price: '100.5', qty: '1', timeUs: 1723161255342000, isBuyerMaker: false }]);
  });

  it('a malformed row is an error naming the line', () => {
    const bad = join(dir, 'BTCUSDT-trades-bad.csv');
    writeFileSync(bad, '1,2,3,4,5,True,True\nnot,a,trade,row,x,maybe,True\n');
    expect(() => readArchiveTrades(bad)).toThrow(ArchiveFormatError);
    expect(() => readArchiveTrades(bad)).toThrow(expect.objectContaining({ code: 'malformed_archive' }));
    expect(() => readArchiveTrades(bad)).toThrow(/:2:/);
  });
});

describe('gzip input is bounded', () => {
  it('a file that inflates past the limit is the reader’s typed error, not inflated into memory', () => {
    const bomb = gzipSync(Buffer.alloc(1 << 20)); // 1 MiB of zeros in about 1 KiB
    expect(bomb.length).toBeLessThan(4096);
    expect(() => gunzipFile(bomb, 'bomb.capture.gz', CaptureFormatError, 64 * 1024)).toThrow(CaptureFormatError);
    expect(() => gunzipFile(bomb, 'bomb.capture.gz', CaptureFormatError, 64 * 1024)).toThrow(/^bomb\.capture\.gz: not a readable gzip file/);
    expect(gunzipFile(bomb, 'bomb.capture.gz', CaptureFormatError, 2 << 20).length).toBe(1 << 20);
  });
});
