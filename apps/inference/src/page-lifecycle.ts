/**
 * The live page's "Model lifecycle" section (page.ts includes it): champion,
 * challenger with the promotion test's progress, and the last decisions,
 * from GET /v1/lifecycle. Built with the page's own helpers (el, row, cell:
 * textContent only, never HTML from data).
 */
export const LIFECYCLE_SECTION = `<section class="card"><h2>Model lifecycle</h2><table id="life"><tr><td class="dim">no model registry configured</td></tr></table><table id="life-log"></table></section>`;

export const LIFECYCLE_JS = `
async function lifecycle() {
  const r = await fetch('/v1/lifecycle').catch(() => null); if (!r || !r.ok) return;
  const s = await r.json(); if (!s.enabled) return;
  const c = s.challenger, ch = s.champion, t = s.thresholds;
  const rows = [row(['champion', String(ch.version || 'none')]), row([cell('registry id', 'dim'), cell(String(ch.id || '(not from the registry)'), 'dim')]),
    row(['champion, last ' + fmt(ch.windowTicks, 0) + ' counted ticks', pct(ch.windowAccuracy)])];
  if (c) {
    rows.push(row(['challenger (shadow)', String(c.version)]),
      row(['paired ticks / discordant', fmt(c.pairs, 0) + ' / ' + fmt(c.discordant, 0)]),
      row(['accuracy: challenger / champion', pct(c.pairs ? c.challengerHits / c.pairs : null) + ' / ' + pct(c.pairs ? c.championHits / c.pairs : null)]),
      row(['SPRT log LR (promote ≥ ' + fmt(t.promote) + ', reject ≤ ' + fmt(t.reject) + ')', cell(fmt(c.llr), c.llr > 0 ? 'ok' : 'warn')]));
  } else rows.push(row([cell('challenger', 'dim'), cell('none (waiting for a candidate)', 'dim')]));
  rows.push(row([cell('test: α ' + t.alpha + ', β ' + t.beta + ', H1 = challenger wins ' + fmt((0.5 + t.margin) * 100, 0) + ' % of discordant pairs', 'dim'), '']));
  document.getElementById('life').replaceChildren(...rows);
  const cls = (d) => (d === 'promoted' ? 'ok' : d === 'rejected' || d === 'refused' || d === 'rolled_back' || d === 'decay_detected' ? 'warn' : undefined);
  document.getElementById('life-log').replaceChildren(row(['decision', 'when', 'why'], 'dim'),
    ...(s.decisions || []).slice(0, 8).map((d) => row([cell(String(d.decision), cls(d.decision)), String(d.at).slice(11, 19), String(d.reason).slice(0, 160)])));
}
lifecycle(); setInterval(lifecycle, 5000);
`;
