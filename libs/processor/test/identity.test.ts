/** The envelope identity rules of contract 2, as SymbolProcessor applies them. */
import { describe, expect, it } from 'vitest';
import { StateFormatError, StateWriter } from '@hotpath/features';
import { hotpath } from '@hotpath/sbe';
import { SymbolProcessor } from '../src/index.ts';

/** A Connected event envelope: applied as a re-anchor start, so outcomes tell applied from duplicate. */
function envelope(writerId: number, epoch: number, sequence: number, receiveTimeUs: number): Buffer {
  const inner = Buffer.alloc(256);
  const c = new hotpath.ConnectionEventEncoder()
    .wrapAndApplyHeader(inner)
    .eventTimeUs(receiveTimeUs)
    .connectionEpoch(epoch)
    .previousEpoch(0)
    .lastSequence(0)
    .type(hotpath.ConnectionEventType.Disconnected)
    .symbol('BTCUSDT')
    .reason('test');
  const out = Buffer.alloc(512);
  const e = new hotpath.EnvelopeEncoder()
    .wrapAndApplyHeader(out)
    .receiveTimeUs(receiveTimeUs)
    .sequence(sequence)
    .connectionEpoch(epoch)
    .kind(hotpath.EnvelopeKind.ConnectionEvent)
    .writerId(writerId)
    .symbol('BTCUSDT')
    .payload(inner.subarray(0, c.encodedLength));
  return Buffer.from(out.subarray(0, e.encodedLength));
}

describe('envelope identity (writer, epoch, sequence)', () => {
  it('a retried record spanning two epochs is refused whole; the next envelope is applied', () => {
    const p = new SymbolProcessor('BTCUSDT');
    const record = [envelope(7, 3, 10, 1_000), envelope(7, 4, 11, 1_001)];
    expect(record.map((e) => p.apply(e, ''))).toEqual(['ignored', 'ignored']);
    expect(record.map((e) => p.apply(e, ''))).toEqual(['duplicate', 'duplicate']);
    expect(p.apply(envelope(7, 4, 12, 1_002), '')).toBe('ignored');
  });

  it('a new writer starting at epoch 1 after another ran far ahead is applied', () => {
    const p = new SymbolProcessor('BTCUSDT');
    expect(p.apply(envelope(1_000, 900, 5_000, 10), '')).toBe('ignored');
    expect(p.apply(envelope(2_000, 1, 1, 11), '')).toBe('ignored');
    expect(p.identityRegressed).toBe(false);
    // the first writer's retried record is still recognised as a copy
    expect(p.apply(envelope(1_000, 900, 5_000, 10), '')).toBe('duplicate');
  });

  it('a writer whose identity went backwards with newer data is applied and flagged, never ignored', () => {
    const p = new SymbolProcessor('BTCUSDT');
    expect(p.apply(envelope(5, 9, 100, 1_000), '')).toBe('ignored');
    expect(p.apply(envelope(5, 2, 1, 2_000), '')).toBe('ignored');
    expect(p.identityRegressed).toBe(true);
    p.identityRegressed = false;
    expect(p.apply(envelope(5, 2, 2, 2_001), '')).toBe('ignored');
    expect(p.identityRegressed).toBe(false);
    expect(p.apply(envelope(5, 2, 2, 2_001), '')).toBe('duplicate');
  });

  it("an envelope started on an earlier connection and published after the next one's frames is new data, not a regression", () => {
    // a snapshot (or backfill) fetched across a reconnect keeps the epoch it began on; the writer's sequence orders it
    const p = new SymbolProcessor('BTCUSDT');
    expect(p.apply(envelope(5, 4, 20, 1_000), '')).toBe('ignored');
    expect(p.apply(envelope(5, 3, 21, 1_001), '')).toBe('ignored');
    expect(p.identityRegressed).toBe(false);
    expect(p.apply(envelope(5, 3, 21, 1_001), '')).toBe('duplicate');
  });

  it('writer 0 (schema v0: one sequence per connection) is still ordered by epoch, then sequence', () => {
    const p = new SymbolProcessor('BTCUSDT');
    expect(p.apply(envelope(0, 3, 50, 1_000), '')).toBe('ignored');
    expect(p.apply(envelope(0, 4, 1, 1_001), '')).toBe('ignored');
    expect(p.identityRegressed).toBe(false);
    expect(p.apply(envelope(0, 3, 50, 1_000), '')).toBe('duplicate');
  });

  it('remembers a bounded number of writers, the least recently seen forgotten', () => {
    const p = new SymbolProcessor('BTCUSDT');
    for (let w = 1; w <= 10; w++) p.apply(envelope(w, 1, 1, w), '');
    expect(p.writers().map((x) => x.writerId)).toEqual([10, 9, 8, 7]);
  });

  it('state keeps the writers; the layout before writer ids restores as writer 0', () => {
    const p = new SymbolProcessor('BTCUSDT');
    p.apply(envelope(42, 3, 7, 500), '');
    const restored = SymbolProcessor.restore('BTCUSDT', p.serialize(), '0:1');
    expect(restored.writers()).toEqual(p.writers());
    expect(restored.apply(envelope(42, 3, 7, 500), '')).toBe('duplicate');

    const engine = p.engine.serialize();
    const legacyHead = new StateWriter().header().f64(3).f64(1).f64(1_700_000_000).f64(99).f64(Number.NaN).f64(0).finish();
    const legacy = SymbolProcessor.restore('BTCUSDT', Buffer.concat([legacyHead, engine]), '0:1');
    expect(legacy.version).toBe(3);
    expect(legacy.writers()[0]).toMatchObject({ writerId: 0, epoch: 1_700_000_000, sequence: 99 });
  });

  it('a state that decodes to nonsense is refused with a typed error', () => {
    const engine = new SymbolProcessor('BTCUSDT').engine.serialize();
    const bad = new StateWriter().header().f64(-7).finish();
    expect(() => SymbolProcessor.restore('BTCUSDT', Buffer.concat([bad, engine]), '')).toThrow(StateFormatError);
    const badStatus = new StateWriter().header().f64(-2).f64(1).f64(9).f64(0).f64(0).finish();
    expect(() => SymbolProcessor.restore('BTCUSDT', Buffer.concat([badStatus, Buffer.alloc(4 * 4 * 8), engine]), '')).toThrow(StateFormatError);
    expect(() => SymbolProcessor.restore('BTCUSDT', Buffer.from('garbage'), '')).toThrow(StateFormatError);
  });
});
