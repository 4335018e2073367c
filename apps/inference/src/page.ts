/**
 * The live page: three static files (HTML, CSS, JS; no build step, no
 * external requests) and the chart library, TradingView's lightweight-charts,
 * served from node_modules on this origin (page-vendor.ts). History from
 * /v1/predictions, then every prediction over the WebSocket; accuracy with its
 * interval, and the economics (net of costs) from /v1/accuracy; health and the
 * latency budget over the last 5 minutes from /v1/status. Phone-width and up:
 * the chart keeps a fixed aspect ratio, so nothing below it jumps as it draws.
 *
 * Every value drawn comes from Redis or a peer, i.e. from outside: the script
 * builds DOM nodes and sets textContent/attributes, never HTML from data (the
 * chart draws on canvas), and the page is served with a Content-Security-Policy
 * that allows only these same-origin files (no inline script or style), so even
 * markup that got in could not run. The chart library's own logo would add an
 * inline <style>: it is turned off, and the page credits TradingView in a link.
 *
 * Links (each only when configured, http(s) only: config.ts): traces
 * (INFERENCE_TRACE_UI_URL, a URL template with `{traceId}`: the latest
 * predictions table links each prediction to its tick's trace and to the market
 * event's trace the tick linked to; only ids matching /^[0-9a-f]{32}$/ go into
 * it), the model report, Prometheus, Alertmanager and Grafana. They reach the
 * script in <meta> attributes, HTML-escaped here; the script sets them as href
 * attributes.
 */
import { LIFECYCLE_JS, LIFECYCLE_SECTION } from './page-lifecycle.ts';
import { CHART_LIBRARY_PATH } from './page-vendor.ts';

const html = (meta: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${meta}
<title>hotpath — live predictions</title>
<link rel="stylesheet" href="/live.css"><link rel="icon" href="/favicon.svg">
<script src="${CHART_LIBRARY_PATH}" defer></script>
<script src="/live.js" defer></script>
</head><body>
<header><h1 id="sym">BTCUSDT</h1><div><span class="big" id="mid">—</span> <span class="dim">mid</span></div>
<div id="pred" class="dim">waiting for the first prediction…</div><div id="conn" class="badge">connecting</div></header>
<main>
<section class="card chart-card"><h2 id="chart-title">Mid price and predictions (UTC)</h2><div id="chart" class="chart" role="img" aria-label="price chart: the mid and each prediction at its target time"></div>
<div class="legend dim"><span><i class="key-mid"></i>mid</span><span><i class="key-pred"></i>pending</span><span><i class="key-up"></i>direction right</span><span><i class="key-down"></i>direction wrong</span><span><i class="key-fallback"></i>model fell back (square)</span><span><b class="warn">▼</b> anomaly</span></div>
<p id="anomalies" class="small"></p><p class="small dim">Chart: <a href="https://www.tradingview.com/" target="_blank" rel="noopener noreferrer">TradingView Lightweight Charts™</a></p></section>
<section class="card"><h2>Latest predictions</h2><table id="latest"><tr><td class="dim">…</td></tr></table></section>
<section class="card"><h2>Rolling accuracy</h2><table id="acc"><tr><td class="dim">no graded predictions yet</td></tr></table><p id="acc-note" class="dim small"></p></section>
<section class="card"><h2>Net of costs (bps per call)</h2><table id="econ"><tr><td class="dim">no graded predictions yet</td></tr></table><p id="econ-costs" class="dim small"></p></section>
<section class="card"><h2>Services</h2><table id="health"><tr><td class="dim">…</td></tr></table></section>
<section class="card"><h2>Latency budget</h2><table id="lat"><tr><td class="dim">…</td></tr></table></section>
<section class="card"><h2>Links</h2><ul id="links" class="links"><li><a href="/metrics">/metrics</a> <span class="dim">this service's Prometheus metrics</span></li></ul></section>
${LIFECYCLE_SECTION}
</main>
</body></html>`;

const CSS = `:root{--bg:#0f1419;--card:#182029;--fg:#e6e6e6;--dim:#8a96a3;--up:#3fb950;--down:#f85149;--pred:#d29922;--line:#58a6ff}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,sans-serif;background:var(--bg);color:var(--fg)}
header{padding:12px 16px;display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline}
h1{font-size:18px;margin:0}.big{font-size:28px;font-weight:600}.dim{color:var(--dim)}
main{display:grid;gap:12px;padding:0 12px 12px;grid-template-columns:minmax(0,1fr)}
@media(min-width:900px){main{grid-template-columns:minmax(0,2fr) minmax(0,1fr)}}
.card{background:var(--card);border-radius:8px;padding:12px;min-width:0;overflow-x:auto}.card h2{font-size:13px;margin:0 0 8px;color:var(--dim);text-transform:uppercase;letter-spacing:.05em}
.chart{width:100%;aspect-ratio:4/3;position:relative}
/* wider than a phone: the chart across the page, the cards in two columns below it */
@media(min-width:900px){.chart-card{grid-column:1/-1}.chart{aspect-ratio:5/2}}table{width:100%;border-collapse:collapse}td{padding:3px 4px}td:last-child{text-align:right}
.ok{color:var(--up)}.bad{color:var(--down)}.warn{color:var(--pred)}.badge{padding:1px 6px;border-radius:4px;background:#30363d;font-size:12px}
.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:middle}
.small{font-size:12px;margin:6px 0 0}th{font-weight:400;color:var(--dim);text-align:right;padding:3px 4px}th:first-child{text-align:left}
a{color:var(--line)}.key-mid{background:var(--line)}.key-pred{background:var(--pred)}.key-up{background:var(--up)}.key-down{background:var(--down)}.legend .key-fallback{background:var(--dim);border-radius:0}
#latest td{white-space:nowrap}#latest td:nth-child(3){white-space:normal;overflow-wrap:anywhere}.links{margin:0;padding-left:18px}.links li{margin:2px 0}
`;

const JS = `'use strict';
const symbol = (new URLSearchParams(location.search).get('symbol') || 'BTCUSDT').toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 20) || 'BTCUSDT';
const byTick = new Map();
const fmt = (v, d = 2) => (v == null || !isFinite(v) ? '—' : Number(v).toFixed(d));
const pct = (v) => (v == null ? '—' : (v * 100).toFixed(1) + ' %');
const num = (v) => (typeof v === 'number' && isFinite(v) ? v : NaN);
/** An element with text and attributes: data only ever becomes text nodes or attribute values. */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
const row = (cells, cls) => el('tr', cls ? { class: cls } : {}, ...cells.map((c) => (c instanceof Node ? c : el('td', {}, c))));
const cell = (text, cls) => el('td', cls ? { class: cls } : {}, text);
/** The trace UI's URL template (INFERENCE_TRACE_UI_URL), '' when unset: no links then. */
const TRACE_UI = (document.querySelector('meta[name="hotpath-trace-ui"]') || { content: '' }).content;
/** A link to a trace, or a dash: only a well-formed trace id ever goes into the URL. */
function traceLink(id, label) {
  if (!TRACE_UI || typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) return cell('—', 'dim');
  return el('td', {}, el('a', { href: TRACE_UI.split('{traceId}').join(id), target: '_blank', rel: 'noopener noreferrer', class: 'trace', title: id }, label));
}
/** Anomaly kinds on a prediction (its anomalies field; none on one written before it existed): short, text only. */
const kinds = (p) => (Array.isArray(p.anomalies) ? p.anomalies.map((a) => String(a && a.kind).slice(0, 40)) : []);
function latest(ps) {
  const rows = ps.slice(-8).reverse().map((p) => row([new Date(num(p.tickMs)).toISOString().slice(11, 19), fmt(p.predictedPrice),
    p.fallback ? cell(String(p.reason), 'warn') : cell(String(p.modelVersion || ''), 'dim'), cell(kinds(p).join(', '), 'warn anomalies'),
    ...(TRACE_UI ? [traceLink(p.traceId, 'tick'), traceLink(p.linkedTraceId, 'event')] : [])], 'prediction'));
  document.getElementById('latest').replaceChildren(row(['tick', 'price', 'model / reason', 'anomalies', ...(TRACE_UI ? ['trace', 'event trace'] : [])], 'dim'), ...rows);
}
function add(p) { if (p && p.symbol === symbol && isFinite(p.tickMs)) byTick.set(p.tickMs, p); }
const SHORT = { price_jump: 'jump', spread_blowout: 'spread', imbalance_extreme: 'imbalance', trade_burst: 'trades', latency_spike: 'latency', feature_age_spike: 'age' };
const COLOURS = { mid: '#58a6ff', right: '#3fb950', wrong: '#f85149', pending: '#d29922', flat: '#8a96a3', anomaly: '#d29922' };
/** The chart (lightweight-charts, on canvas): the mid line, and on a second, invisible series each prediction at its target time as a marker. */
let chart = null;
function makeChart() {
  const L = window.LightweightCharts;
  // without the library (it did not load) the tables still work; the chart stays empty
  if (!L) return null;
  const box = document.getElementById('chart');
  const c = L.createChart(box, {
    autoSize: true,
    // attributionLogo off: the logo brings an inline <style>, which the page's CSP refuses (the page links to TradingView instead)
    layout: { background: { type: 'solid', color: '#182029' }, textColor: '#8a96a3', fontFamily: 'system-ui, sans-serif', attributionLogo: false },
    grid: { vertLines: { color: '#222c36' }, horzLines: { color: '#222c36' } },
    timeScale: { timeVisible: true, secondsVisible: true, borderColor: '#30363d', rightOffset: 2 },
    rightPriceScale: { borderColor: '#30363d' },
    localization: { priceFormatter: (v) => fmt(v) },
  });
  const mid = c.addSeries(L.LineSeries, { color: COLOURS.mid, lineWidth: 2, priceLineVisible: false, title: 'mid' });
  const pred = c.addSeries(L.LineSeries, { lineVisible: false, pointMarkersVisible: false, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false });
  return { chart: c, mid, pred, midMarkers: L.createSeriesMarkers(mid, []), predMarkers: L.createSeriesMarkers(pred, []), box };
}
/** Seconds (the chart's time unit), one point per second at most, ascending: the chart refuses anything else. */
function series(points) {
  const out = [];
  for (const [ms, value] of points.sort((x, y) => x[0] - y[0])) {
    if (!isFinite(ms) || !isFinite(value)) continue;
    const time = Math.floor(ms / 1000);
    if (out.length && out[out.length - 1].time === time) out[out.length - 1].value = value;
    else out.push({ time, value });
  }
  return out;
}
/** right / wrong / flat when the mid at the target has been seen here, pending before. */
function outcome(p) {
  const realized = byTick.get(p.targetMs);
  if (!realized) return 'pending';
  const move = realized.mid - p.mid, said = p.predictedPrice - p.mid;
  return move === 0 || said === 0 ? 'flat' : Math.sign(move) === Math.sign(said) ? 'right' : 'wrong';
}
function drawChart(ps) {
  if (!chart) chart = makeChart();
  if (!chart) return;
  chart.mid.setData(series(ps.map((p) => [num(p.tickMs), num(p.mid)])));
  const preds = ps.filter((p) => isFinite(num(p.targetMs)) && isFinite(num(p.predictedPrice))).sort((a, b) => a.targetMs - b.targetMs);
  chart.pred.setData(series(preds.map((p) => [p.targetMs, p.predictedPrice])));
  const counts = { right: 0, wrong: 0, pending: 0, flat: 0 };
  const seen = new Set();
  const markers = [];
  for (const p of preds) {
    const time = Math.floor(p.targetMs / 1000);
    if (seen.has(time)) continue; // one per second, as the series
    seen.add(time);
    const o = outcome(p); counts[o]++;
    markers.push({ time, position: 'atPriceMiddle', price: p.predictedPrice, shape: p.fallback ? 'square' : 'circle', color: COLOURS[o], size: 0.6 });
  }
  chart.predMarkers.setMarkers(markers);
  const flagged = ps.filter((p) => kinds(p).length > 0);
  const anomalyTimes = new Set();
  const anomalies = [];
  for (const p of flagged) {
    const time = Math.floor(p.tickMs / 1000);
    if (anomalyTimes.has(time)) continue;
    anomalyTimes.add(time);
    const k = kinds(p);
    // short on the chart (neighbours' labels would overlap); in full in the text below it
    anomalies.push({ time, position: 'aboveBar', shape: 'arrowDown', color: COLOURS.anomaly, text: (SHORT[k[0]] || '!') + (k.length > 1 ? ' +' + (k.length - 1) : '') });
  }
  chart.midMarkers.setMarkers(anomalies);
  // the same, as text: when, which, the value against its threshold (newest first, the last five flagged ticks)
  const num3 = (v) => (isFinite(v) ? String(Number(Number(v).toPrecision(3))) : '—');
  const described = flagged.slice(-5).reverse().map((p) => new Date(p.tickMs).toISOString().slice(11, 19) + ' ' + p.anomalies.map((x) => String(x && x.kind).slice(0, 40) + ' ' + num3(x && x.value) + ' > ' + num3(x && x.threshold)).join(', '));
  document.getElementById('anomalies').replaceChildren(...(described.length ? [el('span', { class: 'warn' }, 'anomalies: '), described.join(' · ')] : []));
  chart.chart.timeScale().fitContent();
  // what is drawn, for a reader of the DOM (tests, screen readers): the canvas itself says nothing
  const d = chart.box.dataset;
  d.predictions = String(markers.length); d.fallbacks = String(preds.filter((p) => p.fallback).length); d.anomalies = String(flagged.length);
  d.right = String(counts.right); d.wrong = String(counts.wrong); d.pending = String(counts.pending);
}
function draw() {
  const cutoff = Date.now() - 300000;
  for (const t of byTick.keys()) if (t < cutoff) byTick.delete(t);
  const ps = [...byTick.values()].sort((a, b) => a.tickMs - b.tickMs);
  if (ps.length === 0) return;
  latest(ps);
  const last = ps[ps.length - 1];
  document.getElementById('mid').textContent = fmt(last.mid);
  const pred = document.getElementById('pred');
  pred.replaceChildren('next ' + fmt(last.horizonS, 0) + ' s: ', el('b', {}, fmt(last.predictedPrice)), ' · p(up) ' + fmt(last.pUp) + ' · confidence ' + fmt(last.confidence) + ' · ',
    last.fallback ? el('span', { class: 'warn' }, 'fallback: ' + String(last.reason)) : el('span', { class: 'dim' }, String(last.modelVersion || '')));
  document.getElementById('chart-title').textContent = 'Mid price and predictions (' + fmt(last.horizonS, 0) + ' s ahead, UTC)';
  drawChart(ps);
}
async function history() {
  const r = await fetch('/v1/predictions?symbol=' + encodeURIComponent(symbol) + '&since=' + (Date.now() - 300000) + '&limit=200').catch(() => null);
  if (r && r.ok) ((await r.json()).predictions || []).forEach(add);
  draw();
}
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/predictions/stream?symbol=' + encodeURIComponent(symbol));
  const badge = document.getElementById('conn');
  ws.onopen = () => { badge.textContent = 'live'; badge.className = 'badge ok'; };
  ws.onmessage = (m) => { try { add(JSON.parse(m.data)); } catch { return; } draw(); };
  ws.onclose = () => { badge.textContent = 'reconnecting'; badge.className = 'badge warn'; setTimeout(connect, 2000); };
}
async function accuracy() {
  const r = await fetch('/v1/accuracy?symbol=' + encodeURIComponent(symbol)).catch(() => null); if (!r || !r.ok) return;
  const body = await r.json();
  const a = body.symbols[symbol]; if (!a || (a.model.n === 0 && a.baseline.n === 0)) return;
  const interval = (f) => (f.directionalInterval ? pct(f.directionalInterval.lo) + ' – ' + pct(f.directionalInterval.hi) : '—');
  const line = (name, f) => row([name, pct(f.directionalAccuracy), interval(f), fmt(f.directional, 0), fmt(f.maeUsd) + ' $'], 'accuracy');
  document.getElementById('acc').replaceChildren(row(['', 'direction', '95 % interval', 'n', 'MAE'], 'dim'), line('model', a.model), line('baseline (microprice)', a.baseline));
  document.getElementById('acc-note').textContent = 'last ' + fmt(a.model.n, 0) + ' graded of up to ' + fmt(body.windowSize, 0) + ' · n: calls with a direction and a move · Wilson interval; overlapping ' + fmt(body.horizonS, 0) + ' s horizons count as fewer independent calls';
  economics(a.model.economics, a.baseline.economics);
}
/** Net of costs: edge per call after the spread and fees, and the rule's P&L (libs/model economics, computed by the grader). */
function economics(m, b) {
  if (!m || !m.taker) return;
  const signed = (v) => (v == null || !isFinite(v) ? '—' : (v > 0 ? '+' : '') + Number(v).toFixed(2));
  const cls = (v) => (v == null || !isFinite(v) ? undefined : v > 0 ? 'ok' : 'bad');
  const head = (...names) => el('tr', {}, ...names.map((n) => el('th', {}, n)));
  const edge = (name, f, g) => row([name, cell(signed(f.netBpsPerCall), cls(f.netBpsPerCall)), cell(signed(g.netBpsPerCall), cls(g.netBpsPerCall)), fmt(f.breakEvenFeeBps), fmt(f.calls, 0)], 'edge');
  const rule = (name, f) => row([name, fmt(f.calls, 0), pct(f.hitRate), signed(f.grossBpsPerCall), cell(signed(f.netBpsPerCall), cls(f.netBpsPerCall)), cell(signed(f.netBpsTotal), cls(f.netBpsTotal))], 'rule');
  const rows = [head('', 'net taker', 'net maker', 'break-even fee', 'n'), edge('model: every call', m.taker.all, m.maker.all), edge('model: strongest', m.taker.strongest, m.maker.strongest)];
  if (b && b.taker) rows.push(edge('baseline: every call', b.taker.all, b.maker.all));
  rows.push(head('rule', 'trades', 'hit', 'gross', 'net', 'net total'), rule('model, taker', m.taker.rule), rule('model, maker', m.maker.rule));
  if (b && b.taker) rows.push(rule('baseline, taker', b.taker.rule));
  document.getElementById('econ').replaceChildren(...rows);
  const c = m.costs || {};
  document.getElementById('econ-costs').textContent = 'taker: half the spread (mean ' + fmt(m.meanSpreadBps / 2) + ') + ' + fmt(c.takerFeeBps) + ' fee · maker: ' + fmt(c.makerFeeBps) + ' fee · rule: |predicted| > cost + ' + fmt(c.marginBps) + ' · strongest ' + fmt((c.strongestShare || 0) * 100, 0) + ' % by confidence · predicted edge ' + signed(m.taker.all.predictedEdgeBps) + ' (taker)';
}
async function status() {
  const r = await fetch('/v1/status').catch(() => null); if (!r || !r.ok) return;
  const s = await r.json();
  const cls = (st) => (st === 'ok' || st === 'healthy' ? 'ok' : st === 'degraded' ? 'warn' : 'bad');
  const rows = Object.entries(s.services).map(([n, v]) => row([n, cell(String(v.status), cls(v.status))]));
  rows.push(row(['inference', cell(String(s.inference.status), cls(s.inference.status))]));
  rows.push(row([cell('model', 'dim'), cell(String(s.inference.model.version || 'none'), 'dim')]));
  const real = s.inference.model.realData;
  if (real) rows.push(row([cell('on real Binance data', 'dim'), cell((real.beatsBaselines ? 'beats the baselines: ' : 'no edge shown: ') + 'balanced accuracy ' + fmt(100 * real.balancedAccuracy, 1) + ' % vs best baseline ' + fmt(100 * real.bestBaselineBalancedAccuracy, 1) + ' %', real.beatsBaselines ? 'ok' : 'warn')], 'real-data'));
  document.getElementById('health').replaceChildren(...rows);
  const l = s.latency, w = s.stagesWindow || { spanMs: 0, windowMs: 300000, stages: [] };
  const span = (ms) => (ms >= 60000 ? fmt(ms / 60000, 0) + ' min' : fmt(ms / 1000, 0) + ' s');
  const names = { exchange_to_ingestor: 'exchange → ingestor', ingestor_to_kinesis: 'ingestor → Kinesis ack', kinesis_to_aggregator: 'Kinesis → aggregator', aggregator_to_redis: 'aggregator → Redis', redis_to_prediction: 'Redis → prediction (incl. wait for the tick)', exchange_to_prediction: 'whole way' };
  const stageRows = w.stages.map((st) => row([cell(names[st.stage] || String(st.stage), st.stage === 'exchange_to_prediction' ? 'dim' : undefined), cell(fmt(st.count, 0), 'dim'), fmt(st.p50Ms, 1) + ' / ' + fmt(st.p99Ms, 1) + ' ms'], 'stage'));
  // the window fills up after the page's server starts: say how far back it really reaches
  const label = w.spanMs >= w.windowMs * 0.95 ? 'last ' + span(w.windowMs) : 'last ' + span(w.spanMs) + ' (filling to ' + span(w.windowMs) + ')';
  document.getElementById('lat').replaceChildren(row([cell('stage (p50 / p99), ' + label, 'window'), 'n', ''], 'dim'), ...stageRows,
    row(['tick: Redis read / model (p50), last ' + fmt(l.ticks, 0) + ' ticks', '', fmt(l.redisReadP50Ms, 2) + ' / ' + fmt(l.modelP50Ms, 2) + ' ms']),
    row(['tick total p50 / p99', '', fmt(l.totalP50Ms, 2) + ' / ' + fmt(l.totalP99Ms, 2) + ' ms']),
    row([cell('prediction budget', 'dim'), '', cell('100 ms', 'dim')]));
}
/** Links to what this deployment configured (the <meta> tags): http(s) only, set as attributes. */
function links() {
  const list = document.getElementById('links');
  for (const m of document.querySelectorAll('meta[name="hotpath-link"]')) {
    const href = m.getAttribute('content') || '';
    if (!/^https?:/i.test(href)) continue; // (config.ts admits nothing else: a second look, before an href)
    list.append(el('li', {}, el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'configured' }, String(m.dataset.label || href))));
  }
}
document.getElementById('sym').textContent = symbol;
links();
history().then(connect);
accuracy(); status();
setInterval(accuracy, 5000); setInterval(status, 3000); setInterval(draw, 2000);
${LIFECYCLE_JS}`;

/** Only the page's own files: no inline script or style, no other origin, not framed. */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Text for an HTML attribute value (double-quoted). */
export function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** What the page links to beyond itself (each only when set; http(s), checked by config.ts). */
export interface PageLinks {
  /** INFERENCE_TRACE_UI_URL, with `{traceId}`: the latest predictions link to their traces. */
  traceUiUrl?: string | undefined;
  modelReportUrl?: string | undefined;
  prometheusUrl?: string | undefined;
  alertmanagerUrl?: string | undefined;
  grafanaUrl?: string | undefined;
}

const LINK_LABELS: [keyof PageLinks, string][] = [
  ['modelReportUrl', 'Model report'],
  ['prometheusUrl', 'Prometheus'],
  ['alertmanagerUrl', 'Alertmanager'],
  ['grafanaUrl', 'Grafana'],
];

/** The tab's icon (a browser asks for /favicon.ico otherwise: a 404 on the console at every load). */
const ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#182029"/><polyline points="2,11 6,7 9,9 14,3" fill="none" stroke="#58a6ff" stroke-width="2"/></svg>';

/** The page's files; `links` (each only when set) turns on the links to traces and to the monitoring around the service. */
export function liveFiles(links: PageLinks = {}): Record<'/' | '/live.css' | '/live.js' | '/favicon.svg', { type: string; body: string }> {
  let meta = links.traceUiUrl === undefined ? '' : `<meta name="hotpath-trace-ui" content="${escapeAttribute(links.traceUiUrl)}">`;
  for (const [key, label] of LINK_LABELS) {
    const url = links[key];
    if (url !== undefined) meta += `<meta name="hotpath-link" data-label="${label}" content="${escapeAttribute(url)}">`;
  }
  return {
    '/': { type: 'text/html; charset=utf-8', body: html(meta) },
    '/live.css': { type: 'text/css; charset=utf-8', body: CSS },
    '/live.js': { type: 'text/javascript; charset=utf-8', body: JS },
    '/favicon.svg': { type: 'image/svg+xml', body: ICON },
  };
}

export function livePage(links: PageLinks = {}): string {
  return liveFiles(links)['/'].body;
}
