/**
 * The simulator's untrusted boundaries, fuzzed (issue 15, item 2): any
 * request target and query on its HTTP port (REST, admin, ops, unknown) is
 * answered below 500, every answer but /health and /metrics moves exactly one
 * counter (the REST endpoint's, or the refusal's), and it keeps serving;
 * any body, token and method on /admin/faults is armed or refused with the
 * right 4xx and a counter; any SIM_* environment is a config or issues that
 * blame variables that were set.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simConfigFromEnv, ExchangeSimulator, FaultSchema, SIM_ENV, SimConfigSchema } from '../src/index.ts';
import { MAX_ADMIN_BODY_BYTES } from '../src/admin.ts';
import { configRefusal } from '../../../test/support/config.ts';
import { rawRequest } from './support/raw-http.ts';

const TOKEN = 'property-admin-token-0123456789';

/** The sum of a counter's series in Prometheus text (labels filtered), 0 when absent. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function startSim(): Promise<ExchangeSimulator> {
  // a weight budget no property run reaches: refusals by rate limit would hide the paths behind them
  const sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, seed: 11, apiKeys: ['k'], adminToken: TOKEN, restWeightPerMinute: 100_000_000, logLevel: 'silent' }));
  await sim.start();
  return sim;
}
const portOf = (sim: ExchangeSimulator): number => Number(new URL(sim.urls.rest).port);

const REST = ['/api/v3/ping', '/api/v3/time', '/api/v3/exchangeInfo', '/api/v3/depth', '/api/v3/trades', '/api/v3/historicalTrades', '/api/v3/aggTrades', '/api/v3/other'];
const queryValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom('BTCUSDT', 'btcusdt', 'ETHUSDT', '', '1e400', '-1', '0x10', '5000', '99999999999999999999'),
);
const restTarget = fc
  .tuple(fc.constantFrom(...REST), fc.dictionary(fc.constantFrom('symbol', 'limit', 'fromId', 'startTime', 'endTime', 'x'), queryValue, { maxKeys: 5 }))
  .map(([path, q]) => `${path}${Object.keys(q).length > 0 ? `?${new URLSearchParams(q).toString()}` : ''}`);
const anyTarget = fc.oneof(
  restTarget,
  fc
    .tuple(fc.constantFrom('', '/api/v3', '/admin', '/health', '/metrics', '/ws', '/stream'), fc.webPath(), fc.option(fc.webQueryParameters()))
    .map(([a, p, q]) => `${a}${p || '/'}${q === null ? '' : `?${q}`}`),
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }).map((s) => `/${s}`),
  fc.string({ unit: 'binary', maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
  fc.constantFrom('*', '//', '//[::1/x', 'http://[x/', '/%', '/api/v3/depth?symbol=%', '/api/v3/%zz', `/${'a'.repeat(8_000)}`),
);

describe('any request on the HTTP port', () => {
  let sim: ExchangeSimulator;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => sim.stop());

  it('is answered below 500; every answer but /health and /metrics moves exactly one counter; the simulator keeps serving', async () => {
    const port = portOf(sim);
    await fc.assert(
      fc.asyncProperty(anyTarget, fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'DELETE', 'OPTIONS'), fc.option(fc.string({ maxLength: 12 })), async (target, method, timeUnit) => {
        const before = await sim.registry.metrics();
        const headers = `Host: 127.0.0.1\r\nConnection: close\r\n${timeUnit === null ? '' : `X-MBX-TIME-UNIT: ${timeUnit.replace(/[\r\n]/g, '')}\r\n`}`;
        const r = await rawRequest(port, `${method} ${target} HTTP/1.1\r\n${headers}\r\n`, 5_000);
        expect(r.status, `${method} ${target}`).toBeGreaterThanOrEqual(200);
        expect(r.status, `${method} ${target}`).toBeLessThan(500);
        const after = await sim.registry.metrics();
        const moved =
          total(after, 'exchange_sim_rest_requests_total') -
          total(before, 'exchange_sim_rest_requests_total') +
          total(after, 'exchange_sim_rejected_requests_total') -
          total(before, 'exchange_sim_rejected_requests_total');
        const ops = r.status === 200 && /^\/(health|metrics)(\?|$)/.test(target);
        expect(moved, `${method} ${target} → ${r.status}`).toBe(ops ? 0 : 1);
        if (r.status >= 400 && r.status !== 418 && r.status !== 429 && !target.startsWith('/api/v3/') && method !== 'HEAD')
          expect(r.headers['content-type'], `${method} ${target}`).toBe('application/problem+json');
      }),
      { numRuns: 400 },
    );
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
  });
});

describe('/admin/faults with any body, token and method', () => {
  let sim: ExchangeSimulator;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => sim.stop());

  const TYPES = [
    'dropDepthDiffs',
    'dropTrades',
    'duplicate',
    'reorder',
    'malformed',
    'truncated',
    'oversized',
    'closeConnections',
    'serverShutdown',
    'stall',
    'restLatency',
    'restFail',
    'freeze',
    'nope',
  ];
  const fieldValue = fc.oneof(fc.integer({ min: -5, max: 20_000_000 }), fc.double(), fc.string({ maxLength: 10 }), fc.constantFrom('BTCUSDT', 'btcusdt', 'NOPEUSDT', null, true, 1, 1024, 600_000));
  /** Fault-shaped objects (sometimes valid) and anything JSON. */
  const faultLike = fc.record(
    {
      type: fc.constantFrom(...TYPES),
      symbol: fieldValue,
      count: fieldValue,
      ms: fieldValue,
      bytes: fieldValue,
      status: fieldValue,
      latencyMs: fieldValue,
      forMs: fieldValue,
      closeAfterMs: fieldValue,
      extra: fieldValue,
    },
    { requiredKeys: ['type'] },
  );
  /** Few keys, the ones faults take: valid often enough that arming is exercised too. */
  const fewKeys = fc.tuple(fc.constantFrom(...TYPES), fc.record({ count: fieldValue, symbol: fieldValue, ms: fieldValue }, { requiredKeys: [] })).map(([type, o]) => ({ type, ...o }));
  const body = fc.oneof(
    faultLike.map((o) => JSON.stringify(o)),
    fewKeys.map((o) => JSON.stringify(o)),
    fc.json({ maxDepth: 3 }),
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.constantFrom('', '{', 'null', '[]', `{"type":"stall","ms":1,"pad":"${'x'.repeat(MAX_ADMIN_BODY_BYTES)}"}`),
  );

  it('armed (200) only with the token and a valid fault on a simulated symbol; otherwise the one right 4xx, counted; /health answers throughout', async () => {
    const port = portOf(sim);
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT'),
        fc.constantFrom<'right' | 'wrong' | 'none'>('right', 'right', 'right', 'wrong', 'none'),
        async (text, method, token) => {
          const before = total(await sim.registry.metrics(), 'exchange_sim_rejected_requests_total');
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (token !== 'none') headers['authorization'] = `Bearer ${token === 'right' ? TOKEN : `${TOKEN}x`}`;
          const res = await fetch(`http://127.0.0.1:${port}/admin/faults`, { method, headers, ...(method === 'GET' ? {} : { body: text }), signal: AbortSignal.timeout(5_000) });
          const answer = (await res.text()) || '{}';
          let expected: number;
          if (token !== 'right') expected = 401;
          else if (method === 'GET') expected = 200;
          else if (method !== 'POST') expected = 405;
          else if (Buffer.byteLength(text) > MAX_ADMIN_BODY_BYTES) expected = 413;
          else {
            let parsed: unknown;
            try {
              parsed = JSON.parse(text === '' ? '{}' : text);
            } catch {
              parsed = undefined;
            }
            const fault = parsed === undefined ? undefined : FaultSchema.safeParse(parsed);
            expected = fault?.success && (!('symbol' in fault.data) || fault.data.symbol.toUpperCase() === 'BTCUSDT') ? 200 : 400;
          }
          expect(res.status, `${method} ${token} ${text.slice(0, 200)} → ${answer.slice(0, 300)}`).toBe(expected);
          seen.add(res.status);
          expect(total(await sim.registry.metrics(), 'exchange_sim_rejected_requests_total') - before).toBe(expected === 200 ? 0 : 1);
          if (expected !== 200) expect(JSON.parse(answer)).toMatchObject({ status: expected });
          expect((await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
        },
      ),
      // (the rarer branches, always: an oversized body, a wrong method, a valid fault)
      {
        numRuns: 300,
        examples: [
          [`{"type":"stall","ms":1,"pad":"${'x'.repeat(MAX_ADMIN_BODY_BYTES)}"}`, 'POST', 'right'],
          ['{}', 'PUT', 'right'],
          ['{"type":"duplicate","count":2}', 'POST', 'right'],
        ],
      },
    );
    expect([...seen].sort()).toEqual([200, 400, 401, 405, 413]); // every branch was taken
  });
});

describe('SIM_* environment values', () => {
  const value = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replaceAll('\0', '')), // (an environment holds anything but NUL)
    fc.integer({ min: -10, max: 1_000_000 }).map(String),
    fc.json({ maxDepth: 2 }),
    fc.constantFrom('BTCUSDT,ETHUSDT', '127.0.0.1', '0', '1e3', 'NaN', 'info', '[{"atSeconds":1,"fault":{"type":"stall","ms":100}}]', '[{"fault":{"type":"nope"}}]'),
  );
  const env = fc.dictionary(fc.constantFrom(...Object.keys(SIM_ENV)), value, { maxKeys: 8 });

  it('simConfigFromEnv: any values give a config, or a ConfigError whose every line blames a variable that was set', () => {
    fc.assert(
      fc.property(env, (e) => {
        for (const { variable, message } of configRefusal(() => simConfigFromEnv(e))?.issues ?? []) {
          // the one cross-setting rule (headers deadline ≤ request deadline) is broken by setting either of the two
          const set = variable === 'SIM_HEADERS_TIMEOUT_MS' ? e[variable] || e['SIM_REQUEST_TIMEOUT_MS'] : e[variable!];
          expect(set, `${variable}: ${message}: blames a variable that was not set`).toBeTruthy();
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
