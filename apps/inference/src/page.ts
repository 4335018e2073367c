/**
 * The live page: three static files (HTML, CSS, JS; no build step, no
 * external requests). History from /v1/predictions, then every prediction
 * over the WebSocket; accuracy and the economics (net of costs) from
 * /v1/accuracy, health and the latency budget from /v1/status. Phone-width and up.
 *
 * Every value drawn comes from Redis or a peer, i.e. from outside: the script
 * builds DOM nodes and sets textContent/attributes, never HTML from data, and
 * the page is served with a Content-Security-Policy that allows only these
 * same-origin files (no inline script or style), so even markup that got in
 * could not run.
 *
 * Traces (docs/tracing.md): with INFERENCE_TRACE_UI_URL set (a URL template
 * with `{traceId}`), the latest predictions table links each prediction to
 * its tick's trace and to the market event's trace the tick linked to. The
 * template reaches the script in a <meta> attribute, HTML-escaped here; the
 * script puts only ids matching /^[0-9a-f]{32}$/ into it.
 */
import { LIFECYCLE_JS, LIFECYCLE_SECTION } from './page-lifecycle.ts';

const html = (traceMeta: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${traceMeta}
<title>hotpath — live predictions</title>
<link rel="stylesheet" href="/live.css">
<script src="/live.js" defer></script>
</head><body>
<header><h1 id="sym">BTCUSDT</h1><div><span class="big" id="mid">—</span> <span class="dim">mid</span></div>
<div id="pred" class="dim">waiting for the first prediction…</div><div id="conn" class="badge">connecting</div></header>
<main>
<section class="card chart-card"><h2>Mid price and predictions (10 s ahead)</h2><svg id="chart" viewBox="0 0 800 280" preserveAspectRatio="none" role="img" aria-label="price chart"></svg>
<div class="legend dim"><span><i class="key-mid"></i>mid</span><span><i class="key-pred"></i>prediction (pending)</span><span><i class="key-up"></i>direction right</span><span><i class="key-down"></i>direction wrong</span></div></section>
<section class="card"><h2>Latest predictions</h2><table id="latest"><tr><td class="dim">…</td></tr></table></section>
<section class="card"><h2>Rolling accuracy</h2><table id="acc"><tr><td class="dim">no graded predictions yet</td></tr></table></section>
<section class="card"><h2>Net of costs (bps per call)</h2><table id="econ"><tr><td class="dim">no graded predictions yet</td></tr></table><p id="econ-costs" class="dim small"></p></section>
<section class="card"><h2>Services</h2><table id="health"><tr><td class="dim">…</td></tr></table></section>
<section class="card"><h2>Latency budget</h2><table id="lat"><tr><td class="dim">…</td></tr></table></section>
${LIFECYCLE_SECTION}
</main>
</body></html>`;

const CSS = `:root{--bg:#0f1419;--card:#182029;--fg:#e6e6e6;--dim:#8a96a3;--up:#3fb950;--down:#f85149;--pred:#d29922;--line:#58a6ff}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,sans-serif;background:var(--bg);color:var(--fg)}
header{padding:12px 16px;display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline}
h1{font-size:18px;margin:0}.big{font-size:28px;font-weight:600}.dim{color:var(--dim)}
main{display:grid;gap:12px;padding:0 12px 12px;grid-template-columns:1fr}
@media(min-width:900px){main{grid-template-columns:2fr 1fr}}
.card{background:var(--card);border-radius:8px;padding:12px}.card h2{font-size:13px;margin:0 0 8px;color:var(--dim);text-transform:uppercase;letter-spacing:.05em}
.chart-card{grid-row:span 3}
svg{width:100%;height:280px;display:block}table{width:100%;border-collapse:collapse}td{padding:3px 4px}td:last-child{text-align:right}
.ok{color:var(--up)}.bad{color:var(--down)}.warn{color:var(--pred)}.badge{padding:1px 6px;border-radius:4px;background:#30363d;font-size:12px}
.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:middle}
.small{font-size:12px;margin:6px 0 0}th{font-weight:400;color:var(--dim);text-align:right;padding:3px 4px}th:first-child{text-align:left}
a{color:var(--line)}.key-mid{background:var(--line)}.key-pred{background:var(--pred)}.key-up{background:var(--up)}.key-down{background:var(--down)}
`;

const JS = `'use strict';
const symbol = (new URLSearchParams(location.search).get('symbol') || 'BTCUSDT').toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 20) || 'BTCUSDT';
const SVG = 'http://www.w3.org/2000/svg';
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
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
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
function latest(ps) {
  const rows = ps.slice(-8).reverse().map((p) => row([new Date(num(p.tickMs)).toISOString().slice(11, 19), fmt(p.predictedPrice),
    p.fallback ? cell(String(p.reason), 'warn') : cell(String(p.modelVersion || ''), 'dim'),
    ...(TRACE_UI ? [traceLink(p.traceId, 'tick'), traceLink(p.linkedTraceId, 'event')] : [])], 'prediction'));
  document.getElementById('latest').replaceChildren(row(['tick', 'price', 'model / reason', ...(TRACE_UI ? ['trace', 'event trace'] : [])], 'dim'), ...rows);
}
function add(p) { if (p && p.symbol === symbol && isFinite(p.tickMs)) byTick.set(p.tickMs, p); }
function draw() {
  const cutoff = Date.now() - 300000;
  for (const t of byTick.keys()) if (t < cutoff) byTick.delete(t);
  const ps = [...byTick.values()].sort((a, b) => a.tickMs - b.tickMs);
  const chart = document.getElementById('chart');
  if (ps.length === 0) { chart.replaceChildren(); return; }
  latest(ps);
  const last = ps[ps.length - 1];
  document.getElementById('mid').textContent = fmt(last.mid);
  const pred = document.getElementById('pred');
  pred.replaceChildren('next 10 s: ', el('b', {}, fmt(last.predictedPrice)), ' · p(up) ' + fmt(last.pUp) + ' · confidence ' + fmt(last.confidence) + ' · ',
    last.fallback ? el('span', { class: 'warn' }, 'fallback: ' + String(last.reason)) : el('span', { class: 'dim' }, String(last.modelVersion || '')));
  const t0 = ps[0].tickMs, t1 = last.tickMs + 10000;
  const ys = ps.flatMap((p) => [num(p.mid), num(p.predictedPrice)]).filter(isFinite);
  let lo = Math.min(...ys), hi = Math.max(...ys); if (!(hi - lo >= 1e-9)) { lo = (isFinite(lo) ? lo : 0) - 1; hi = lo + 2; }
  const pad = (hi - lo) * 0.1; lo -= pad; hi += pad;
  const X = (t) => ((num(t) - t0) / Math.max(1, t1 - t0)) * 790 + 5, Y = (v) => 275 - ((num(v) - lo) / (hi - lo)) * 270;
  const nodes = [svg('polyline', { fill: 'none', stroke: 'var(--line)', 'stroke-width': 2, points: ps.map((p) => X(p.tickMs) + ',' + Y(p.mid)).join(' ') })];
  for (const p of ps) {
    const realized = byTick.get(p.targetMs);
    let colour = 'var(--pred)';
    if (realized) { const move = realized.mid - p.mid, said = p.predictedPrice - p.mid; colour = move === 0 || said === 0 ? 'var(--dim)' : Math.sign(move) === Math.sign(said) ? 'var(--up)' : 'var(--down)'; }
    nodes.push(svg('line', { x1: X(p.tickMs), y1: Y(p.mid), x2: X(p.targetMs), y2: Y(p.predictedPrice), stroke: colour, 'stroke-opacity': '.35' }));
    nodes.push(svg('circle', { class: 'prediction', cx: X(p.targetMs), cy: Y(p.predictedPrice), r: 3, fill: colour }));
  }
  nodes.push(svg('text', { x: 6, y: 14, fill: 'var(--dim)', 'font-size': 11 }, fmt(hi)), svg('text', { x: 6, y: 272, fill: 'var(--dim)', 'font-size': 11 }, fmt(lo)));
  chart.replaceChildren(...nodes);
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
  const a = (await r.json()).symbols[symbol]; if (!a || (a.model.n === 0 && a.baseline.n === 0)) return;
  const line = (name, f) => row([name, pct(f.directionalAccuracy), fmt(f.maeUsd) + ' $', fmt(f.n, 0)]);
  document.getElementById('acc').replaceChildren(row(['', 'direction', 'MAE', 'n'], 'dim'), line('model', a.model), line('baseline (microprice)', a.baseline));
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
  const l = s.latency;
  const names = { exchange_to_ingestor: 'exchange → ingestor', ingestor_to_kinesis: 'ingestor → Kinesis ack', kinesis_to_aggregator: 'Kinesis → aggregator', aggregator_to_redis: 'aggregator → Redis', redis_to_prediction: 'Redis → prediction (incl. wait for the tick)', exchange_to_prediction: 'whole way' };
  const stageRows = (s.stages || []).map((st) => row([cell(names[st.stage] || String(st.stage), st.stage === 'exchange_to_prediction' ? 'dim' : undefined), fmt(st.p50Ms, 1) + ' / ' + fmt(st.p99Ms, 1) + ' ms'], 'stage'));
  document.getElementById('lat').replaceChildren(row(['stage (p50 / p99)', ''], 'dim'), ...stageRows,
    row(['tick: Redis read / model (p50)', fmt(l.redisReadP50Ms, 2) + ' / ' + fmt(l.modelP50Ms, 2) + ' ms']),
    row(['tick total p50 / p99', fmt(l.totalP50Ms, 2) + ' / ' + fmt(l.totalP99Ms, 2) + ' ms']),
    row([cell('prediction budget', 'dim'), cell('100 ms', 'dim')]));
}
document.getElementById('sym').textContent = symbol;
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

/** The page's files; `traceUiUrl` (INFERENCE_TRACE_UI_URL, with `{traceId}`) turns on the links to traces. */
export function liveFiles(traceUiUrl?: string): Record<'/' | '/live.css' | '/live.js', { type: string; body: string }> {
  const meta = traceUiUrl === undefined ? '' : `<meta name="hotpath-trace-ui" content="${escapeAttribute(traceUiUrl)}">`;
  return {
    '/': { type: 'text/html; charset=utf-8', body: html(meta) },
    '/live.css': { type: 'text/css; charset=utf-8', body: CSS },
    '/live.js': { type: 'text/javascript; charset=utf-8', body: JS },
  };
}

export function livePage(traceUiUrl?: string): string {
  return liveFiles(traceUiUrl)['/'].body;
}
