/**
 * Inference's untrusted boundaries, fuzzed (issue 15, item 2). Everything
 * read from Redis — predictions (push channel), feature vectors, the model
 * pointer — is parsed or refused with a typed error and a counter that moves,
 * and the service keeps predicting; any request target, query and admin body
 * on its HTTP port is answered below 500; any environment is a config or
 * issues that blame variables that were set. A real redis-server, no mocks.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FEATURE_COUNT, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec } from '@hotpath/model';
import { decodeVector, encodeVector, keys, VectorFormatError, VectorStatus, type FeatureVectorRecord } from '@hotpath/state';
import { INFERENCE_ENV, inferenceConfigFromEnv, type InferenceServer, type Prediction } from '../src/index.ts';
import { parsePrediction, PredictionFormatError } from '../src/prediction.ts';
import { Feeder, privateRedis, replica } from './harness.ts';
import { rawRequest } from '../../exchange-sim/test/support/raw-http.ts';
import { accepts, damaged } from '../../../test/support/property.ts';
import { configRefusal } from '../../../test/support/config.ts';

/** A prediction as this code writes it: the base that field-level damage starts from. */
const VALID: Prediction = {
  symbol: 'BTCUSDT',
  tickMs: 1_700_000_000_000,
  tickTime: '2023-11-14T22:13:20.000Z',
  issuedAtMs: 1_700_000_000_003,
  horizonS: 10,
  targetMs: 1_700_000_010_000,
  featureEventTimeMs: 1_699_999_999_950,
  featureVersion: 42,
  featureStatus: 'live',
  featureAgeMs: 53,
  completeness: 1,
  mid: 60_000.005,
  predictedReturnBps: 0.4,
  predictedPrice: 60_002.4,
  pUp: 0.55,
  confidence: 0.55,
  modelVersion: 'example@1+abcdef012345',
  fallback: false,
  reason: null,
  baseline: { returnBps: 0.1, price: 60_000.6 },
  replica: 'a',
  anomalies: [{ kind: 'price_jump', value: 12.5, threshold: 8.1 }],
};

function vector(over: Partial<FeatureVectorRecord> = {}): FeatureVectorRecord {
  return {
    status: VectorStatus.Live,
    version: 7,
    eventTimeUs: 1.7e15,
    writtenAtUs: 1.7e15,
    bestBid: 60_000,
    bestAsk: 60_000.01,
    schemaHash: FEATURE_SCHEMA_HASH,
    features: new Float64Array(FEATURE_COUNT).fill(0.1),
    ...over,
  };
}

/** Bytes overwritten, cut or spliced into a valid value. */
const damagedBytes = (base: Buffer): fc.Arbitrary<Buffer> => damaged(base, { maxEdits: 4, maxSplice: 16 });

/** Anything that might sit where a prediction should: text, JSON, bytes, a real prediction with a field replaced or removed. */
const predictionLike: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.tuple(fc.constantFrom(...Object.keys(VALID)), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })).map(([k, v]) => JSON.stringify({ ...VALID, [k]: v })),
  damagedBytes(Buffer.from(JSON.stringify(VALID))),
);

describe('values read from Redis, parsed', () => {
  it('parsePrediction: anything is a checked prediction or a PredictionFormatError', () => {
    fc.assert(
      fc.property(predictionLike, (value) => {
        let p: Prediction;
        try {
          p = parsePrediction(value);
        } catch (err) {
          expect(err, `${(err as Error)?.name}: ${(err as Error)?.message}`).toBeInstanceOf(PredictionFormatError);
          return;
        }
        // what passes is safe to serve, grade and draw
        for (const n of [p.tickMs, p.mid, p.pUp, p.confidence, p.predictedPrice, p.baseline.price]) expect(Number.isFinite(n)).toBe(true);
        expect(p.symbol).toMatch(/^[A-Z0-9]{2,20}$/);
      }),
      { numRuns: 1_500 },
    );
    expect(parsePrediction(JSON.stringify(VALID))).toEqual(VALID); // (the base is valid: field damage is what gets refused)
  });

  it('decodeVector: any bytes (and a real vector damaged) are a consistent record or a VectorFormatError', () => {
    const real = encodeVector(vector());
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
          damagedBytes(real),
        ),
        (bytes) => {
          let v: FeatureVectorRecord;
          try {
            v = decodeVector(bytes);
          } catch (err) {
            expect(err, `${(err as Error)?.name}: ${(err as Error)?.message}`).toBeInstanceOf(VectorFormatError);
            return;
          }
          // format 1 (68-byte header) or 2 (96, with the trace context)
          expect(bytes.length).toBe((bytes.readUInt16LE(4) === 1 ? 68 : 96) + v.features.length * 8);
          expect([VectorStatus.Live, VectorStatus.Stale, VectorStatus.Reanchoring]).toContain(v.status);
          expect(v.schemaHash.length).toBe(16);
        },
      ),
      { numRuns: 3_000 },
    );
  });
});

describe('environment values', () => {
  const value = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replaceAll('\0', '')), // (an environment holds anything but NUL)
    fc.integer({ min: -10, max: 1_000_000 }).map(String),
    fc.constantFrom('BTCUSDT,ETHUSDT', 'btc-usdt', 'redis://127.0.0.1:6379', 'a=http://x:1/health,b', '0.5', '1.5', 'info', '1e3', 'NaN', 'a-long-enough-admin-token', '/nonexistent/secret'),
  );
  const env = fc.dictionary(fc.constantFrom(...Object.keys(INFERENCE_ENV)), value, { maxKeys: 8 });

  it('inferenceConfigFromEnv: any values give a config, or a ConfigError whose every line blames a variable that was set, never quoting the token', () => {
    fc.assert(
      fc.property(env, (e) => {
        const err = configRefusal(() => expect(inferenceConfigFromEnv(e).symbols.length).toBeGreaterThan(0));
        const token = e['INFERENCE_ADMIN_TOKEN'];
        for (const { variable, message } of err?.issues ?? []) {
          expect(e[variable!], `${variable}: ${message}: blames a variable that was not set`).toBeTruthy();
          // (where the token was, "[redacted]" stands; a token may be part of that word)
          if (token) expect(message.replaceAll('[redacted]', '\0')).not.toContain(token);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('against a running replica', () => {
  const db = privateRedis();
  const root = mkdtempSync(join(tmpdir(), 'inference-property-'));
  const modelDir = join(root, 'models');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'good.onnx'), buildModel(exampleModelSpec()));
  const TOKEN = 'property-admin-token-0123456789';
  let server: InferenceServer;
  let feeder: Feeder;

  beforeAll(async () => {
    feeder = new Feeder(db.redis, 'BTCUSDT').start();
    server = replica(db.server.url, { replica: 'p', adminToken: TOKEN, modelDir, modelPollMs: 50 });
    await server.start();
  });
  afterAll(async () => {
    feeder.stop();
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const count = async (name: string, labels: Record<string, string> = {}): Promise<number> =>
    (await server.service.registry.getMetricsAsJSON())
      .find((m) => m.name === name)
      ?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
      .reduce((s, v) => s + v.value, 0) ?? 0;
  const health = async (): Promise<number> => (await fetch(`http://127.0.0.1:${server.port}/health`, { signal: AbortSignal.timeout(5_000) })).status;

  it('anything published on the prediction channel is refused and counted (push), or is a real prediction; subscribers and health carry on', async () => {
    await vi.waitFor(async () => expect(await health()).toBe(200), { timeout: 10_000 });
    await fc.assert(
      fc.asyncProperty(predictionLike, async (value) => {
        fc.pre(!accepts(() => parsePrediction(value))); // a valid one would be taken as written: the property is about the rest
        const before = await count('inference_redis_refused_total', { source: 'push' });
        await db.redis.publish('pred:{BTCUSDT}', value);
        await vi.waitFor(async () => expect(await count('inference_redis_refused_total', { source: 'push' })).toBe(before + 1), { timeout: 5_000, interval: 10 });
      }),
      { numRuns: 80 },
    );
    expect(await health()).toBe(200);
  });

  it('any entry in the prediction history is left out of /v1/predictions and counted (history); the answer is 200 with real predictions only', async () => {
    const fields = fc.array(fc.tuple(fc.constantFrom('p', 'x', ''), predictionLike), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(fields, async (pairs) => {
        // right after the newest entry (the service's next tick id is still greater): its writes go on. A tick written
        // between the read and the add makes the id too small: read again.
        let ms = 0;
        let id: string | null = null;
        for (let attempt = 0; id === null; attempt++) {
          const [last] = await db.redis.xrevrange('pred:{BTCUSDT}:stream', '+', '-', 'COUNT', 1);
          const [lastMs, seq] = last![0].split('-').map(Number) as [number, number];
          ms = lastMs;
          id = await db.redis.xadd('pred:{BTCUSDT}:stream', `${ms}-${seq + 1}`, ...pairs.flat()).catch((err: Error) => {
            if (attempt >= 20 || !/equal or smaller/.test(err.message)) throw err;
            return null;
          });
        }
        const entry = (await db.redis.xrange('pred:{BTCUSDT}:stream', id, id))[0]![1][1]!;
        fc.pre(!(accepts(() => parsePrediction(entry)) && parsePrediction(entry).symbol === 'BTCUSDT'));
        const before = await count('inference_redis_refused_total', { source: 'history' });
        const res = await fetch(`http://127.0.0.1:${server.port}/v1/predictions?symbol=BTCUSDT&since=${ms}&limit=1000`, { signal: AbortSignal.timeout(5_000) });
        expect(res.status).toBe(200);
        const listed = ((await res.json()) as { predictions: unknown[] }).predictions;
        for (const p of listed) expect(parsePrediction(JSON.stringify(p)).symbol).toBe('BTCUSDT');
        expect(await count('inference_redis_refused_total', { source: 'history' })).toBeGreaterThan(before);
      }),
      { numRuns: 60 },
    );
  });

  it('any bytes as the model pointer are refused and counted (bad pointer), or name a file that is loaded or refused with a code; the serving model stays', async () => {
    const serving = server.service.models.state().version;
    const seen = new Set<string>();
    const pointer = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 100 }).map((b) => Buffer.from(b)),
      fc.json({ maxDepth: 2 }).map((s) => Buffer.from(s)),
      fc
        .oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.constantFrom('../x.onnx', '/etc/passwd', '.', 'missing.onnx', '/dev/zero'))
        .map((path) => Buffer.from(JSON.stringify({ path }))),
    );
    await fc.assert(
      fc.asyncProperty(pointer, async (raw) => {
        fc.pre(!seen.has(raw.toString('hex'))); // the same bad value again is (rightly) counted once
        seen.add(raw.toString('hex'));
        const loads = await count('inference_model_loads_total');
        const accepted = await count('inference_model_loads_total', { outcome: 'ok' });
        await db.redis.set('model:current', raw);
        // refused (bad_pointer, or the file's refusal code): exactly one load outcome, never "ok" — no pointer here names a model
        await vi.waitFor(async () => expect(await count('inference_model_loads_total')).toBe(loads + 1), { timeout: 5_000, interval: 10 });
        expect(await count('inference_model_loads_total', { outcome: 'ok' })).toBe(accepted);
        expect(server.service.models.state().version).toBe(serving);
      }),
      { numRuns: 50 },
    );
    await db.redis.del('model:current');
    expect(await health()).toBe(200);
  });

  it('any bytes as the feature vector are refused and counted (vector), the tick missed with a reason; predictions resume after', async () => {
    const real = encodeVector(vector());
    feeder.stop();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
            damagedBytes(real),
          ),
          async (bytes) => {
            fc.pre(!accepts(() => decodeVector(bytes)));
            const before = await count('inference_redis_refused_total', { source: 'vector' });
            const missed = await count('inference_ticks_missed_total', { reason: 'bad_vector' });
            await db.redis.set(keys.vector('BTCUSDT'), bytes);
            await vi.waitFor(
              async () => {
                expect(await count('inference_redis_refused_total', { source: 'vector' })).toBeGreaterThan(before);
                expect(await count('inference_ticks_missed_total', { reason: 'bad_vector' })).toBeGreaterThan(missed);
              },
              { timeout: 5_000, interval: 20 },
            );
          },
        ),
        { numRuns: 12 },
      );
    } finally {
      feeder.start();
    }
    await vi.waitFor(async () => expect(await health()).toBe(200), { timeout: 10_000 });
  });

  it('any request target is answered below 500, and the API queries get 200, 400 or 404 — never a 5xx', async () => {
    const q = fc.oneof(
      fc.string({ maxLength: 16 }),
      fc.integer().map(String),
      fc.constantFrom('BTCUSDT', 'btcusdt', 'ETHUSDT', '0', '1000', '1001', '-1', '1e3', '2024-01-01', '2024-13-45T99:00', '275761-01-01', '99999999999999999', ''),
    );
    const apiTarget = fc
      .tuple(
        fc.constantFrom('/v1/predictions', '/v1/predictions/latest', '/v1/accuracy', '/v1/status', '/v1/predictions/stream'),
        fc.dictionary(fc.constantFrom('symbol', 'since', 'limit', 'x'), q, { maxKeys: 4 }),
      )
      .map(([p, d]) => ({ api: true, target: `${p}${Object.keys(d).length ? `?${new URLSearchParams(d).toString()}` : ''}` }));
    const otherTarget = fc
      .oneof(
        fc.tuple(fc.webPath(), fc.option(fc.webQueryParameters())).map(([p, s]) => `/zz${p}${s === null ? '' : `?${s}`}`),
        fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }).map((s) => `/${s}`),
        fc.constantFrom('*', '//', '/%', '/v1/predictions?symbol=%', '//[::1/x', `/${'a'.repeat(8_000)}`, '/admin/model', '/live.js'),
      )
      .map((target) => ({ api: false, target }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(apiTarget, otherTarget), async ({ api, target }) => {
        const r = await rawRequest(server.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 5_000);
        expect(r.status, `GET ${target}`).toBeGreaterThanOrEqual(200);
        expect(r.status, `GET ${target}`).toBeLessThan(500);
        if (api && !target.startsWith('/v1/predictions/stream')) expect([200, 400, 404], `GET ${target}`).toContain(r.status);
        if (target.startsWith('/zz')) expect([400, 404], `GET ${target}`).toContain(r.status);
      }),
      { numRuns: 400 },
    );
  });

  it('/admin/model with any body: 401 without the token; with it, a swap (200), a refusal with a code (422, counted) or a 4xx — never a 5xx', async () => {
    const body = fc.oneof(
      fc.record({ path: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('good.onnx', '../good.onnx', '/etc/passwd', 'missing.onnx', '')) }).map((o) => JSON.stringify(o)),
      fc.json({ maxDepth: 2 }),
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.constantFrom('', '{', '{}', 'null', `{"path":"${'a'.repeat(5_000)}"}`),
    );
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-unknown'),
        fc.constantFrom<'right' | 'wrong' | 'none'>('right', 'right', 'right', 'wrong', 'none'),
        async (text, type, token) => {
          const refusedBefore = (await count('inference_model_loads_total')) - (await count('inference_model_loads_total', { outcome: 'ok' }));
          const headers: Record<string, string> = { 'content-type': type };
          if (token !== 'none') headers['authorization'] = `Bearer ${token === 'right' ? TOKEN : 'not-the-admin-token-at-all'}`;
          const res = await fetch(`http://127.0.0.1:${server.port}/admin/model`, { method: 'POST', headers, body: text, signal: AbortSignal.timeout(10_000) });
          const answer = await res.text();
          seen.add(res.status);
          if (token !== 'right') return void expect(res.status).toBe(401);
          expect([200, 400, 413, 415, 422], `${type} ${text.slice(0, 100)} → ${answer.slice(0, 200)}`).toContain(res.status);
          if (res.status === 422) {
            expect(JSON.parse(answer)).toMatchObject({ status: 422, title: 'Model refused' });
            expect((await count('inference_model_loads_total')) - (await count('inference_model_loads_total', { outcome: 'ok' }))).toBe(refusedBefore + 1);
          }
        },
      ),
      // (always among them: a swap, a refusal by the file's content, one by size)
      {
        numRuns: 120,
        examples: [
          ['{"path":"good.onnx"}', 'application/json', 'right'],
          ['{"path":"missing.onnx"}', 'application/json', 'right'],
          [`{"path":"${'a'.repeat(5_000)}"}`, 'application/json', 'right'],
        ],
      },
    );
    expect([...seen].sort()).toEqual(expect.arrayContaining([200, 400, 401, 413, 422]));
    expect(await health()).toBe(200);
  });
});

describe('the latest prediction read at every (re)connect', () => {
  // its own redis-server and no feeder: nothing but this test writes the latest key, and killing clients hits only this replica
  const db = privateRedis();
  let server: InferenceServer;
  beforeAll(async () => {
    server = replica(db.server.url, { replica: 'latest' });
    await server.start();
  });
  afterAll(async () => server.stop());

  const count = async (name: string, labels: Record<string, string> = {}): Promise<number> =>
    (await server.service.registry.getMetricsAsJSON())
      .find((m) => m.name === name)
      ?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
      .reduce((s, v) => s + v.value, 0) ?? 0;

  it('anything as pred:{SYMBOL}:latest is refused and counted (latest) at the reconnect that reads it; the replica keeps ticking', async () => {
    await fc.assert(
      fc.asyncProperty(predictionLike, async (value) => {
        fc.pre(!accepts(() => parsePrediction(value)));
        const before = await count('inference_redis_refused_total', { source: 'latest' });
        await db.redis.set('pred:{BTCUSDT}:latest', value);
        await db.redis.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
        await vi.waitFor(async () => expect(await count('inference_redis_refused_total', { source: 'latest' })).toBe(before + 1), { timeout: 5_000, interval: 10 });
        expect(server.service.latestPrediction('BTCUSDT')).toBeUndefined();
      }),
      { numRuns: 15 },
    );
    const ticks = await count('inference_ticks_total');
    await vi.waitFor(async () => expect(await count('inference_ticks_total')).toBeGreaterThan(ticks), { timeout: 5_000 });
  });
});
