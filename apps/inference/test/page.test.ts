/**
 * The live page in headless Chromium (Debian's, via playwright-core, as the launcher's e2e test
 * drives it) with hostile predictions in Redis (finding 7): markup in `modelVersion` (a free
 * string the schema lets through) is drawn as text and never runs; markup in `reason` (not one
 * of the known reasons) is refused before it reaches the page. The page is served under a CSP
 * with no inline script or style, and with nosniff.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_MODEL_DIR } from '../src/config.ts';
import { CHART_LIBRARY_PATH } from '../src/page-vendor.ts';
import type { Prediction } from '../src/index.ts';
import { Feeder, metric, privateRedis, replica } from './harness.ts';

// playwright-core is the launcher's devDependency (one copy of it in the workspace); resolved from there
const { chromium } = createRequire(new URL('../../launcher/package.json', import.meta.url))('playwright-core') as typeof import('../../launcher/node_modules/playwright-core/index.js');

const PAYLOAD = '<img src=x onerror="window.__pwned=1">';
const db = privateRedis();
const redisServer = db.server;

function prediction(tickMs: number, over: Partial<Prediction>): Prediction {
  return {
    symbol: 'BTCUSDT',
    tickMs,
    tickTime: new Date(tickMs).toISOString(),
    issuedAtMs: tickMs + 2,
    horizonS: 10,
    targetMs: tickMs + 10_000,
    featureEventTimeMs: tickMs - 100,
    featureVersion: 1,
    featureStatus: 'live',
    featureAgeMs: 100,
    completeness: 1,
    mid: 60_000,
    predictedReturnBps: 1,
    predictedPrice: 60_006,
    pUp: 0.6,
    confidence: 0.6,
    modelVersion: 'm@1',
    fallback: false,
    reason: null,
    baseline: { returnBps: 0.5, price: 60_003 },
    replica: 'test',
    anomalies: [],
    ...over,
  };
}

/** How long the page may take to show something: generous, so a busy machine only makes the test slower. */
const WAIT = { timeout: 60_000, interval: 50 };

/**
 * Waits until a browser-side expression (a string: this file is compiled without the DOM library) is true, polled
 * from here: Playwright's waitForFunction polls with eval inside the page, which the page's CSP (rightly) forbids.
 */
async function until(page: { evaluate(expression: string): Promise<unknown> }, expression: string): Promise<void> {
  await vi.waitFor(async () => expect(await page.evaluate(expression), expression).toBe(true), WAIT);
}

const BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe('live page against stored XSS', () => {
  it('markup from Redis is shown as text, never run; the page has a CSP and nosniff', async () => {
    // no feeder: the replica writes nothing itself, the page shows only what this test puts in Redis
    const a = replica(redisServer.url, { replica: 'page' });
    await a.start();
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: BROWSER_ARGS });
    try {
      const now = Math.floor(Date.now() / 2_000) * 2_000;
      // history (served from the Redis stream) holds one with markup in its model version
      const stored = prediction(now - 4_000, { modelVersion: `stored${PAYLOAD}` });
      await db.redis.xadd('pred:{BTCUSDT}:stream', `${stored.tickMs}-0`, 'p', JSON.stringify(stored));

      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e: Error) => errors.push(String(e)));
      const response = await page.goto(`http://127.0.0.1:${a.port}/`);
      const headers = response!.headers();
      expect(headers['content-security-policy']).toMatch(/script-src 'self'/);
      expect(headers['content-security-policy']).not.toContain('unsafe-inline');
      expect(headers['x-content-type-options']).toBe('nosniff');
      await until(page, "document.querySelector('#conn').textContent === 'live'");
      await until(page, "document.querySelector('#pred').textContent.includes('stored<img')");

      // then pushed ones: markup in the model version (passes the schema: must be drawn as text) …
      const pushed = prediction(now - 2_000, { modelVersion: `pushed${PAYLOAD}` });
      await db.redis.publish('pred:{BTCUSDT}', JSON.stringify(pushed));
      // the whole payload, as text
      await until(page, `document.querySelector('#pred').textContent.includes(${JSON.stringify(`pushed${PAYLOAD}`)})`);
      // … and in the reason (not a known reason: refused before any subscriber sees it)
      const refused = () => metric(a.port, 'inference_redis_refused_total{source="push"');
      const refusedBefore = await refused();
      await db.redis.publish('pred:{BTCUSDT}', JSON.stringify(prediction(now, { fallback: true, modelVersion: null, reason: PAYLOAD as Prediction['reason'] })));
      await vi.waitFor(async () => expect((await refused()) - refusedBefore).toBe(1), WAIT);
      // one more round trip through the page so anything queued has been handled (with trace ids: no trace UI configured, no links)
      await db.redis.publish('pred:{BTCUSDT}', JSON.stringify(prediction(now - 1_000, { modelVersion: 'after', traceId: TICK_TRACE, linkedTraceId: EVENT_TRACE })));
      await until(page, "document.querySelector('#pred').textContent.includes('after')");
      await until(page, "document.querySelector('#latest').textContent.includes('after')");
      expect(await page.locator('#latest a').count()).toBe(0);
      // no INFERENCE_*_URL set: /metrics is the only link of this deployment's
      expect(await page.locator('#links a').count()).toBe(1);
      expect(await page.locator('#links a.configured').count()).toBe(0);

      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.evaluate("document.body.textContent.includes('fallback')")).toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await a.stop();
    }
  });
});

const TICK_TRACE = '0af7651916cd43dd8448eb211c80319c';
const EVENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('live page: links to traces', () => {
  it('with INFERENCE_TRACE_UI_URL set, the latest predictions link to their tick trace and their event trace (template escaped)', async () => {
    // quotes and an ampersand in the template: it sits in an HTML attribute, and must come back exactly
    const template = 'http://127.0.0.1:16686/trace/{traceId}?a=1&b="x"';
    const a = replica(redisServer.url, { replica: 'page-traces', traceUiUrl: template });
    await a.start();
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: BROWSER_ARGS });
    try {
      const html = await (await fetch(`http://127.0.0.1:${a.port}/`)).text();
      expect(html).toContain('content="http://127.0.0.1:16686/trace/{traceId}?a=1&amp;b=&quot;x&quot;"');
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e: Error) => errors.push(String(e)));
      await page.goto(`http://127.0.0.1:${a.port}/`);
      await until(page, "document.querySelector('#conn').textContent === 'live'");
      // (ticks in the recent past: one from the future would be refused as implausible)
      const now = Math.floor(Date.now() / 2_000) * 2_000;
      // one with both ids, one with only its own (no sampled event in its vector): newest first, a dash where there is no id
      await db.redis.publish('pred:{BTCUSDT}', JSON.stringify(prediction(now - 2_000, { modelVersion: 'both', traceId: TICK_TRACE, linkedTraceId: EVENT_TRACE })));
      await db.redis.publish('pred:{BTCUSDT}', JSON.stringify(prediction(now, { modelVersion: 'own', traceId: EVENT_TRACE.replace('4', '5') })));
      await until(page, "document.querySelector('#latest').textContent.includes('own')");
      const rows = (await page.evaluate(
        "[...document.querySelectorAll('#latest tr.prediction')].slice(0, 2).map((tr) => [tr.children[2].textContent, ...[...tr.children].slice(4).map((td) => td.querySelector('a') ? [td.textContent, td.querySelector('a').getAttribute('href')] : td.textContent)])",
      )) as unknown[];
      const url = (id: string) => template.replace('{traceId}', id);
      expect(rows).toEqual([
        ['own', ['tick', url(EVENT_TRACE.replace('4', '5'))], '—'],
        ['both', ['tick', url(TICK_TRACE)], ['event', url(EVENT_TRACE)]],
      ]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await a.stop();
    }
  });
});

describe('live page: net of costs', () => {
  it('shows the net edge per call and the rule’s P&L from the grader’s economics, with the configured fees', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    // the feeder's mid moves a few bps per second at most: a 10 bps taker fee leaves every set of calls net negative
    // serving the shipped model (judged on held-out real Binance windows by the trainer)
    const a = replica(redisServer.url, { replica: 'page-econ', takerFeeBps: 10, makerFeeBps: 0.25, ruleMarginBps: 0.5, modelPath: join(DEFAULT_MODEL_DIR, 'btcusdt-10s', 'model.onnx') });
    await a.start();
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: BROWSER_ARGS });
    try {
      await vi.waitFor(() => expect(a.service.grader.figures('BTCUSDT').model.economics?.calls ?? 0).toBeGreaterThan(3), WAIT);
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e: Error) => errors.push(String(e)));
      await page.goto(`http://127.0.0.1:${a.port}/`);
      await until(page, "document.querySelector('#econ').textContent.includes('model: every call')");
      const cells = (await page.evaluate("[...document.querySelectorAll('#econ tr.edge')[0].children].map((td) => [td.textContent, td.className])")) as [string, string][];
      expect(cells[0]![0]).toBe('model: every call');
      expect(Number(cells[1]![0])).toBeLessThan(0); // net taker per call: a few bps gross at most, minus 10 and half the spread
      expect(cells[1]![1]).toBe('bad');
      // the same calls as maker: 10 − 0.25 bps of fee and the half-spread (0.0008 bps here) cheaper, figures shown to 0.01
      expect(Number(cells[2]![0]) - Number(cells[1]![0])).toBeCloseTo(9.75, 1);
      expect(Number(cells[4]![0])).toBeGreaterThan(3); // calls
      const rule = (await page.evaluate("[...document.querySelector('#econ tr.rule').children].map((td) => td.textContent)")) as string[];
      expect(rule[0]).toBe('model, taker');
      expect(rule[1]).toMatch(/^\d+$/); // trades (few or none: the rule needs |predicted| > 10 bps + half the spread + 0.5)
      const costs = (await page.evaluate("document.querySelector('#econ-costs').textContent")) as string;
      expect(costs).toContain('+ 10.00 fee');
      expect(costs).toContain('maker: 0.25 fee');
      expect(costs).toContain('cost + 0.50');
      // the shipped model was judged on held-out real Binance windows and beat no baseline there: the page says so plainly
      const real = (
        (await (await fetch(`http://127.0.0.1:${a.port}/v1/status`)).json()) as {
          inference: { model: { realData: { beatsBaselines: boolean; balancedAccuracy: number; bestBaselineBalancedAccuracy: number } } };
        }
      ).inference.model.realData;
      expect(real).toMatchObject({ beatsBaselines: false });
      expect(real.balancedAccuracy).toBeLessThan(real.bestBaselineBalancedAccuracy);
      await until(page, "document.querySelector('#health tr.real-data') !== null");
      const verdict = (await page.evaluate("[...document.querySelector('#health tr.real-data').children].map((td) => [td.textContent, td.className])")) as [string, string][];
      expect(verdict[1]).toEqual([`no edge shown: balanced accuracy ${(100 * real.balancedAccuracy).toFixed(1)} % vs best baseline ${(100 * real.bestBaselineBalancedAccuracy).toFixed(1)} %`, 'warn']);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await a.stop();
      feeder.stop();
    }
  });
});

/** The repository's root: screenshots go to its .reports/ (git-ignored), as the launcher's e2e test keeps its own. */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * Pixels of the chart's canvases by colour, counted in the page: the pane (first row of the chart's table) and the
 * time axis (its last row). The colours are the page's: mid #58a6ff, right #3fb950, wrong #f85149, pending and
 * anomaly #d29922, axis text #8a96a3 (on #182029).
 */
const CANVAS_PIXELS = `(() => {
  const rows = [...document.querySelectorAll('#chart table tr')];
  const count = (tr, test) => { let n = 0; for (const c of tr.querySelectorAll('canvas')) { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && test(d[i], d[i + 1], d[i + 2])) n++; } return n; };
  const pane = rows[0], axis = rows[rows.length - 1];
  return {
    rows: rows.length,
    axisText: count(axis, (r, g, b) => r > 100 && g > 100 && b > 100),
    mid: count(pane, (r, g, b) => b > 200 && r < 120 && g > 130 && g < 200),
    right: count(pane, (r, g, b) => g > 150 && r < 100 && b < 120),
    wrong: count(pane, (r, g, b) => r > 200 && g < 120 && b < 120),
    amber: count(pane, (r, g, b) => r > 180 && g > 130 && g < 180 && b < 80),
  };
})()`;

describe('live page: the operator’s view at phone and desktop width', () => {
  it('chart with a time axis, predictions by outcome, fallbacks and anomalies; accuracy with its interval and n; the latency window; configured links only; no console errors or CSP violations (screenshots in .reports/)', async ({
    annotate,
  }) => {
    const symbol = 'ETHUSDT';
    const now = Math.floor(Date.now() / 1_000) * 1_000;
    // history the replica did not make (written before it starts): 20 predictions a second apart, 1 s ahead; the mid goes
    // up on even seconds and down on odd ones, the calls say up except every third: some right, some wrong, the last pending
    const history = Array.from({ length: 20 }, (_, i) => {
      const tickMs = now - 30_000 + i * 1_000;
      const mid = 60_000 + (i % 2) + i * 0.1;
      const up = i % 3 !== 0;
      return prediction(tickMs, {
        symbol,
        horizonS: 1,
        targetMs: tickMs + 1_000,
        mid,
        predictedPrice: mid + (up ? 0.5 : -0.5),
        predictedReturnBps: up ? 1.6 : -1.6,
        ...(i === 5 || i === 11 ? { fallback: true, reason: 'stale_features' as const, modelVersion: null } : {}),
        ...(i === 7 ? { anomalies: [{ kind: 'price_jump' as const, value: 8.2, threshold: 4 }] } : {}),
        ...(i === 13
          ? {
              anomalies: [
                { kind: 'spread_blowout' as const, value: 12, threshold: 5 },
                { kind: 'latency_spike' as const, value: 900, threshold: 250 },
              ],
            }
          : {}),
      });
    });
    for (const p of history) await db.redis.xadd(`pred:{${symbol}}:stream`, `${p.tickMs}-0`, 'p', JSON.stringify(p));
    const feeder = new Feeder(db.redis, symbol).start();
    const links = {
      modelReportUrl: 'https://github.com/hotpath-dev/hotpath/blob/main/models/btcusdt-10s/report.md',
      prometheusUrl: 'http://127.0.0.1:9090/alerts?state="firing"&x=<b>',
      alertmanagerUrl: 'http://127.0.0.1:9093/',
      grafanaUrl: 'http://127.0.0.1:3000/d/hotpath-executive',
    };
    const a = replica(redisServer.url, { replica: 'page-views', symbols: [symbol], modelPath: join(DEFAULT_MODEL_DIR, 'btcusdt-10s', 'model.onnx'), ...links });
    await a.start();
    const base = `http://127.0.0.1:${a.port}`;
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: BROWSER_ARGS });
    try {
      // the chart library: from this origin, cached for a year (its version is in the path), under the page's policy
      const lib = await fetch(base + CHART_LIBRARY_PATH);
      expect(lib.status).toBe(200);
      expect(lib.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(lib.headers.get('content-type')).toMatch(/^text\/javascript/);
      // graded predictions, so that the accuracy has an interval
      await vi.waitFor(() => expect(a.service.accuracy(symbol).model.directional).toBeGreaterThan(3), WAIT);

      for (const [name, width, height, aspect] of [
        ['phone', 390, 844, 4 / 3],
        ['desktop', 1280, 800, 5 / 2],
      ] as const) {
        const page = await browser.newPage({ viewport: { width, height } });
        const problems: string[] = [];
        const origins = new Set<string>();
        page.on('pageerror', (e: Error) => problems.push(String(e)));
        // a CSP violation is reported on the console as an error ("Refused to …"), as is a script error
        page.on('console', (m: { type(): string; text(): string }) => void (m.type() === 'error' && problems.push(m.text())));
        page.on('request', (r: { url(): string }) => void origins.add(new URL(r.url()).origin));
        page.on('response', (r: { url(): string; status(): number }) => void (r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`)));
        const response = await page.goto(`${base}/?symbol=${symbol}`);
        expect(response!.headers()['content-security-policy']).toMatch(/script-src 'self'; style-src 'self'/);

        // the chart: every prediction drawn at its target time, by outcome, the two that fell back and the two flagged ticks
        await until(page, "Number(document.querySelector('#chart').dataset.predictions) >= 25");
        await until(page, "document.querySelector('#chart').dataset.anomalies === '2' && document.querySelector('#chart').dataset.fallbacks === '2'");
        const drawn = (await page.evaluate("({ ...document.querySelector('#chart').dataset })")) as Record<string, string>;
        for (const outcome of ['right', 'wrong', 'pending']) expect(Number(drawn[outcome]), outcome).toBeGreaterThan(0);
        // … and on the canvas: the mid line, green, red and amber markers, the time axis's labels
        const pixels = (await page.evaluate(CANVAS_PIXELS)) as Record<string, number>;
        expect(pixels.rows).toBeGreaterThanOrEqual(2);
        for (const [what, n] of Object.entries(pixels)) expect(n, what).toBeGreaterThan(0);
        // a fixed aspect ratio: the chart's box is as the CSS says, and does not move as predictions keep arriving
        const box = () => page.evaluate("(() => { const r = document.querySelector('#chart').getBoundingClientRect(); return [r.width, r.height]; })()") as Promise<[number, number]>;
        const [w, h] = await box();
        expect(w / h).toBeCloseTo(aspect, 1);
        const before = Number(drawn.predictions);
        await until(page, `Number(document.querySelector('#chart').dataset.predictions) > ${before}`);
        expect(await box()).toEqual([w, h]);
        // nothing wider than the phone
        const wide = `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > ${width} + 0.5).map((e) => e.tagName + '#' + e.id + '.' + e.className)`;
        expect(await page.evaluate(wide)).toEqual([]);

        // the anomalies, also as text under the chart: when, which, the value against its threshold
        const flagged = (await page.textContent('#anomalies')) ?? '';
        expect(flagged).toContain('price_jump 8.2 > 4');
        expect(flagged).toContain('spread_blowout 12 > 5');

        // rolling accuracy: the figure inside its interval, and n, for the model and the baseline
        await until(page, "document.querySelectorAll('#acc tr.accuracy').length === 2");
        const acc = (await page.evaluate("[...document.querySelectorAll('#acc tr.accuracy')].map((tr) => [...tr.children].map((td) => td.textContent))")) as string[][];
        expect(acc.map((r) => r[0])).toEqual(['model', 'baseline (microprice)']);
        const model = acc[0]!;
        const [lo, hi] = model[2]!.split(' – ').map((x) => Number.parseFloat(x));
        const accuracy = Number.parseFloat(model[1]!);
        expect(lo).toBeLessThanOrEqual(accuracy);
        expect(hi).toBeGreaterThanOrEqual(accuracy);
        expect(model[3]).toMatch(/^[1-9]\d*$/);
        expect(await page.textContent('#acc-note')).toMatch(/Wilson/);
        // net of costs is still there
        await until(page, "document.querySelector('#econ').textContent.includes('model: every call')");

        // the latency budget over a labelled recent window, not since start
        await until(page, "document.querySelector('#lat .window') !== null");
        expect(await page.textContent('#lat .window')).toMatch(/^stage \(p50 \/ p99\), last \d+ (s|min)/);

        // links: /metrics, then each configured one, in an href exactly as configured
        const hrefs = (await page.evaluate("[...document.querySelectorAll('#links a')].map((a) => [a.textContent, a.getAttribute('href')])")) as [string, string][];
        expect(hrefs).toEqual([
          ['/metrics', '/metrics'],
          ['Model report', links.modelReportUrl],
          ['Prometheus', links.prometheusUrl],
          ['Alertmanager', links.alertmanagerUrl],
          ['Grafana', links.grafanaUrl],
        ]);

        mkdirSync(join(ROOT, '.reports'), { recursive: true });
        const path = join(ROOT, '.reports', `live-page-${name}.png`);
        await page.screenshot({ path, fullPage: true });
        await annotate(`live page at ${width}x${height}: ${path}`, 'screenshot', { path, contentType: 'image/png' });
        // (the default reporter prints annotations of failed tests only: the path in the output whatever the outcome)
        console.info(`screenshot, live page at ${width}x${height}: ${path}`);
        expect(problems).toEqual([]);
        expect([...origins]).toEqual([base]);
        await page.close();
      }
    } finally {
      await browser.close();
      await a.stop();
      feeder.stop();
    }
  });
});
