/**
 * data.binance.vision spot archive CSVs (trades and aggTrades). Spot files
 * have no header row; files from 2025 on use microseconds, earlier ones
 * milliseconds (a value >= 1e15 is µs). Prices stay decimal strings.
 */
import { readFileSync } from 'node:fs';
import type { RecordingsErrorCode } from './errors.ts';
import { gunzipFile } from './gzip.ts';

export interface ArchiveTrade {
  id: number;
  price: string;
  qty: string;
  timeUs: number;
  isBuyerMaker: boolean;
}

/** A data.binance.vision trade CSV that is not gzip, or a row that does not parse. */
export class ArchiveFormatError extends Error {
  override readonly name = 'ArchiveFormatError';
  readonly code: RecordingsErrorCode = 'malformed_archive';
}

const toUs = (v: number): number => (v >= 1e15 ? v : v * 1000);

/**
 * Reads `SYMBOL-trades-DATE.csv` (id, price, qty, quoteQty, time, isBuyerMaker,
 * isBestMatch) or `SYMBOL-aggTrades-DATE.csv` (aggId, price, qty, firstId, lastId,
 * time, isBuyerMaker, isBestMatch); an optional header line is skipped.
 */
export function readArchiveTrades(path: string): ArchiveTrade[] {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipFile(raw, path, ArchiveFormatError) : raw).toString('utf8');
  const agg = /aggTrades/i.test(path);
  const out: ArchiveTrade[] = [];
  let lineNo = 0;
  for (const line of text.split(/\r?\n/)) {
    lineNo++;
    if (line === '') continue;
    const c = line.split(',');
    if (lineNo === 1 && !/^\d/.test(c[0] ?? '')) continue; // header row (futures files)
    const want = agg ? 8 : 7;
    if (c.length < want - 1) throw new ArchiveFormatError(`${path}:${lineNo}: expected ${want} columns, got ${c.length}`);
    const time = Number(agg ? c[5] : c[4]);
    const buyerMaker = (agg ? c[6] : c[5])?.trim().toLowerCase();
    const id = Number(c[0]);
    if (!Number.isSafeInteger(id) || !Number.isFinite(time) || (buyerMaker !== 'true' && buyerMaker !== 'false')) {
      throw new ArchiveFormatError(`${path}:${lineNo}: malformed row ${JSON.stringify(line.slice(0, 80))}`);
    }
    out.push({ id, price: c[1]!, qty: c[2]!, timeUs: toUs(time), isBuyerMaker: buyerMaker === 'true' });
  }
  return out;
}
