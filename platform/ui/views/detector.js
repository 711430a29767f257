// The detector at a glance: occupancy per chamber, layer and cell, and the hit-rate trend.
import { $, h, api, envOptions } from '../core.js';

export async function renderDetector() {
  const id = envOptions($('#detector-env'));
  if (!id) return;
  const occ = await api('GET', `/api/v1/environments/${id}/occupancy`);
  const max = Math.max(1, ...occ.cells.map((c) => c.hitsPerSecond));
  const chambers = [...new Set(occ.cells.map((c) => c.chamber))];
  const cellsOf = (ch, layer) => occ.cells.filter((c) => c.chamber === ch && c.layer === layer);
  // Each cell against its chamber's median: what a shifter looks for is the odd one out — grey dead,
  // blue low, green as its neighbours, red noisy.
  const median = new Map(
    chambers.map((ch) => {
      const v = occ.cells
        .filter((c) => c.chamber === ch)
        .map((c) => c.hitsPerSecond)
        .sort((a, b) => a - b);
      return [ch, v[Math.floor(v.length / 2)] ?? 0];
    }),
  );
  const colour = (ch, v) => {
    const m = median.get(ch) || max;
    if (v <= 0) return '#9aa1ad';
    const r = Math.log2(v / m); // 0 = as the median; ±2 = four times off
    const hue = 120 - 60 * Math.max(-2, Math.min(2, r));
    return `hsl(${hue}, 70%, 45%)`;
  };
  $('#occupancy').replaceChildren(
    ...(chambers.length === 0
      ? [h('p', { class: 'hint' }, 'No occupancy yet: it comes from the processors while a run takes data.')]
      : chambers.map((ch) => {
          const width = Math.max(...occ.cells.filter((c) => c.chamber === ch).map((c) => c.cell));
          return h(
            'div',
            { class: 'chamber', 'data-chamber': ch },
            h('h3', {}, `Chamber ${ch} (median ${(median.get(ch) ?? 0).toFixed(1)} hits/s per cell)`),
            h(
              'table',
              { 'aria-label': `occupancy of chamber ${ch}` },
              h(
                'tbody',
                {},
                [4, 3, 2, 1].map((layer) =>
                  h(
                    'tr',
                    {},
                    h('th', { scope: 'row' }, `L${layer}`),
                    Array.from({ length: width }, (_, k) => {
                      const c = cellsOf(ch, layer).find((x) => x.cell === k + 1);
                      const v = c?.hitsPerSecond ?? 0;
                      return h('td', {
                        style: undefined,
                        title: `layer ${layer} cell ${k + 1}: ${v.toFixed(1)} hits/s`,
                        'data-rate': v.toFixed(1),
                        'data-colour': colour(ch, v),
                      });
                    }),
                  ),
                ),
              ),
            ),
          );
        })),
  );
  for (const td of document.querySelectorAll('#occupancy td[data-colour]'))
    td.style.background = td.dataset.colour;
  const pts = occ.trend;
  const top = Math.max(1, ...pts.map((p) => p.hitsPerSecond));
  const W = 600,
    H = 120;
  const line = pts
    .map((p, i) => `${(i / Math.max(1, pts.length - 1)) * W},${H - (p.hitsPerSecond / top) * (H - 10)}`)
    .join(' ');
  $('#trend').replaceChildren(
    h(
      'h3',
      {},
      `Hit rate of the run: ${pts.length > 0 ? `${Math.round(pts.at(-1).hitsPerSecond)} hits/s now` : 'no data yet'}`,
    ),
    h(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'hit rate trend', width: W, height: H },
      h('polyline', { points: line, fill: 'none', stroke: '#1f5fbf', 'stroke-width': 2 }),
    ),
  );
  await renderMonitoring(id);
}

// What the processors' monitoring aggregates on <ns>.monitoring say: the drift-time histogram (the DT
// chamber's signature), the noise rate and corrupt words by field, over their latest interval.
async function renderMonitoring(id) {
  const m = await api('GET', `/api/v1/environments/${id}/monitoring`);
  const d = m.driftHistogram;
  if (m.processors === 0 || d === null) {
    $('#monitoring').replaceChildren(
      h('h3', {}, 'Monitoring'),
      h(
        'p',
        { class: 'hint' },
        'No monitoring aggregate yet: the processors publish one per interval while a run takes data.',
      ),
    );
    return;
  }
  const W = 600,
    H = 120;
  const top = Math.max(1, ...d.counts);
  const bw = W / Math.max(1, d.counts.length);
  const faults = Object.entries(m.faults);
  $('#monitoring').replaceChildren(
    h(
      'h3',
      {},
      `Monitoring of run ${m.run} (${m.processors} processor${m.processors === 1 ? '' : 's'}): noise ${m.noiseRateHz.toFixed(1)} hits/s`,
    ),
    h(
      'svg',
      {
        viewBox: `0 0 ${W} ${H}`,
        role: 'img',
        'aria-label': `drift-time histogram from ${d.minNs} ns in bins of ${d.binNs} ns`,
        width: W,
        height: H,
      },
      d.counts.map((n, i) =>
        h('rect', {
          x: i * bw + 1,
          y: H - (n / top) * (H - 10),
          width: Math.max(1, bw - 2),
          height: (n / top) * (H - 10),
          fill: '#1f5fbf',
          'data-bin': d.minNs + i * d.binNs,
          'data-count': n,
        }),
      ),
    ),
    h(
      'p',
      { class: 'hint', id: 'monitoring-faults' },
      faults.length === 0
        ? 'No corrupt word in the interval.'
        : `Corrupt words: ${faults.map(([f, n]) => `${f} ${n}`).join(', ')}`,
    ),
  );
}
