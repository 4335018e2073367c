/**
 * The live page: one static HTML document (inline CSS and JS, no build step,
 * no external requests). History from /v1/predictions, then every prediction
 * over the WebSocket; accuracy from /v1/accuracy, health and the latency
 * budget from /v1/status. Phone-width and up.
 */
const HTML = String.raw`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>hotpath — live predictions</title>
<style>
:root{--bg:#0f1419;--card:#182029;--fg:#e6e6e6;--dim:#8a96a3;--up:#3fb950;--down:#f85149;--pred:#d29922;--line:#58a6ff}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,sans-serif;background:var(--bg);color:var(--fg)}
header{padding:12px 16px;display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline}
h1{font-size:18px;margin:0}.big{font-size:28px;font-weight:600}.dim{color:var(--dim)}
main{display:grid;gap:12px;padding:0 12px 12px;grid-template-columns:1fr}
@media(min-width:900px){main{grid-template-columns:2fr 1fr}}
.card{background:var(--card);border-radius:8px;padding:12px}.card h2{font-size:13px;margin:0 0 8px;color:var(--dim);text-transform:uppercase;letter-spacing:.05em}
svg{width:100%;height:280px;display:block}table{width:100%;border-collapse:collapse}td{padding:3px 4px}td:last-child{text-align:right}
.ok{color:var(--up)}.bad{color:var(--down)}.warn{color:var(--pred)}.badge{padding:1px 6px;border-radius:4px;background:#30363d;font-size:12px}
.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:middle}
</style></head><body>
<header><h1 id="sym">BTCUSDT</h1><div><span class="big" id="mid">—</span> <span class="dim">mid</span></div>
<div id="pred" class="dim">waiting for the first prediction…</div><div id="conn" class="badge">connecting</div></header>
<main>
<section class="card" style="grid-row:span 3"><h2>Mid price and predictions (10 s ahead)</h2><svg id="chart" viewBox="0 0 800 280" preserveAspectRatio="none" role="img" aria-label="price chart"></svg>
<div class="legend dim"><span><i style="background:var(--line)"></i>mid</span><span><i style="background:var(--pred)"></i>prediction (pending)</span><span><i style="background:var(--up)"></i>direction right</span><span><i style="background:var(--down)"></i>direction wrong</span></div></section>
<section class="card"><h2>Rolling accuracy</h2><table id="acc"><tr><td class="dim">no graded predictions yet</td></tr></table></section>
<section class="card"><h2>Services</h2><table id="health"><tr><td class="dim">…</td></tr></table></section>
<section class="card"><h2>Latency budget</h2><table id="lat"><tr><td class="dim">…</td></tr></table></section>
</main>
<script>
const symbol = new URLSearchParams(location.search).get('symbol') || 'BTCUSDT';
document.getElementById('sym').textContent = symbol;
const byTick = new Map();
const fmt = (v, d = 2) => (v == null || !isFinite(v) ? '—' : Number(v).toFixed(d));
const pct = (v) => (v == null ? '—' : (v * 100).toFixed(1) + ' %');
function add(p) { if (p.symbol === symbol) byTick.set(p.tickMs, p); }
function draw() {
  const cutoff = Date.now() - 300000;
  for (const t of byTick.keys()) if (t < cutoff) byTick.delete(t);
  const ps = [...byTick.values()].sort((a, b) => a.tickMs - b.tickMs);
  const svg = document.getElementById('chart');
  if (ps.length === 0) { svg.innerHTML = ''; return; }
  const last = ps[ps.length - 1];
  document.getElementById('mid').textContent = fmt(last.mid);
  document.getElementById('pred').innerHTML = 'next 10 s: <b>' + fmt(last.predictedPrice) + '</b> · p(up) ' + fmt(last.pUp) + ' · confidence ' + fmt(last.confidence) +
    (last.fallback ? ' · <span class="warn">fallback: ' + last.reason + '</span>' : ' · <span class="dim">' + (last.modelVersion || '') + '</span>');
  const t0 = ps[0].tickMs, t1 = last.tickMs + 10000;
  const ys = ps.flatMap((p) => [p.mid, p.predictedPrice]);
  let lo = Math.min(...ys), hi = Math.max(...ys); if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.1; lo -= pad; hi += pad;
  const X = (t) => ((t - t0) / Math.max(1, t1 - t0)) * 790 + 5, Y = (v) => 275 - ((v - lo) / (hi - lo)) * 270;
  let out = '<polyline fill="none" stroke="var(--line)" stroke-width="2" points="' + ps.map((p) => X(p.tickMs) + ',' + Y(p.mid)).join(' ') + '"/>';
  for (const p of ps) {
    const realized = byTick.get(p.targetMs);
    let colour = 'var(--pred)';
    if (realized) { const move = realized.mid - p.mid, said = p.predictedPrice - p.mid; colour = move === 0 || said === 0 ? 'var(--dim)' : Math.sign(move) === Math.sign(said) ? 'var(--up)' : 'var(--down)'; }
    out += '<line x1="' + X(p.tickMs) + '" y1="' + Y(p.mid) + '" x2="' + X(p.targetMs) + '" y2="' + Y(p.predictedPrice) + '" stroke="' + colour + '" stroke-opacity=".35"/>' +
      '<circle class="prediction" cx="' + X(p.targetMs) + '" cy="' + Y(p.predictedPrice) + '" r="3" fill="' + colour + '"/>';
  }
  out += '<text x="6" y="14" fill="var(--dim)" font-size="11">' + fmt(hi) + '</text><text x="6" y="272" fill="var(--dim)" font-size="11">' + fmt(lo) + '</text>';
  svg.innerHTML = out;
}
async function history() {
  const r = await fetch('/v1/predictions?symbol=' + symbol + '&since=' + (Date.now() - 300000) + '&limit=200');
  if (r.ok) (await r.json()).predictions.forEach(add);
  draw();
}
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/predictions/stream?symbol=' + symbol);
  const badge = document.getElementById('conn');
  ws.onopen = () => { badge.textContent = 'live'; badge.className = 'badge ok'; };
  ws.onmessage = (m) => { add(JSON.parse(m.data)); draw(); };
  ws.onclose = () => { badge.textContent = 'reconnecting'; badge.className = 'badge warn'; setTimeout(connect, 2000); };
}
async function accuracy() {
  const r = await fetch('/v1/accuracy?symbol=' + symbol); if (!r.ok) return;
  const a = (await r.json()).symbols[symbol]; if (!a || (a.model.n === 0 && a.baseline.n === 0)) return;
  const row = (name, f) => '<tr><td>' + name + '</td><td>' + pct(f.directionalAccuracy) + '</td><td>' + fmt(f.maeUsd) + ' $</td><td>' + f.n + '</td></tr>';
  document.getElementById('acc').innerHTML = '<tr class="dim"><td></td><td>direction</td><td>MAE</td><td>n</td></tr>' + row('model', a.model) + row('baseline (microprice)', a.baseline);
}
async function status() {
  const r = await fetch('/v1/status'); if (!r.ok) return;
  const s = await r.json();
  const cls = (st) => (st === 'ok' || st === 'healthy' ? 'ok' : st === 'degraded' ? 'warn' : 'bad');
  const rows = Object.entries(s.services).map(([n, v]) => '<tr><td>' + n + '</td><td class="' + cls(v.status) + '">' + v.status + '</td></tr>');
  rows.push('<tr><td>inference</td><td class="' + cls(s.inference.status) + '">' + s.inference.status + '</td></tr>');
  rows.push('<tr><td class="dim">model</td><td class="dim">' + (s.inference.model.version || 'none') + '</td></tr>');
  document.getElementById('health').innerHTML = rows.join('');
  const l = s.latency;
  const names = { exchange_to_ingestor: 'exchange → ingestor', ingestor_to_kinesis: 'ingestor → Kinesis ack', kinesis_to_aggregator: 'Kinesis → aggregator', aggregator_to_redis: 'aggregator → Redis', redis_to_prediction: 'Redis → prediction (incl. wait for the tick)', exchange_to_prediction: 'whole way' };
  const stageRows = (s.stages || []).map((st) => '<tr class="stage"><td' + (st.stage === 'exchange_to_prediction' ? ' class="dim"' : '') + '>' + (names[st.stage] || st.stage) + '</td><td>' + fmt(st.p50Ms, 1) + ' / ' + fmt(st.p99Ms, 1) + ' ms</td></tr>');
  document.getElementById('lat').innerHTML = '<tr class="dim"><td>stage (p50 / p99)</td><td></td></tr>' + stageRows.join('') +
    '<tr><td>tick: Redis read / model (p50)</td><td>' + fmt(l.redisReadP50Ms, 2) + ' / ' + fmt(l.modelP50Ms, 2) + ' ms</td></tr>' +
    '<tr><td>tick total p50 / p99</td><td>' + fmt(l.totalP50Ms, 2) + ' / ' + fmt(l.totalP99Ms, 2) + ' ms</td></tr>' +
    '<tr><td class="dim">prediction budget</td><td class="dim">100 ms</td></tr>';
}
history().then(connect);
accuracy(); status();
setInterval(accuracy, 5000); setInterval(status, 3000); setInterval(draw, 2000);
</script></body></html>`;

export function livePage(): string {
  return HTML;
}
