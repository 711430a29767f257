// The run registry with each run's balance: the stored one, or for a run still open the platform's live
// one (the same balance STOP, the testbed and `daqops run show` read).
import { $, h, api } from '../core.js';

export async function renderRuns() {
  const runs = await api('GET', '/api/v1/runs');
  const live = new Map();
  await Promise.all(
    runs
      .filter((r) => r.reconciliation === null && r.endCompleted === null)
      .slice(0, 4)
      .map(async (r) => live.set(r.run, (await api('GET', `/api/v1/runs/${r.run}/balance`)).reconciliation)),
  );
  $('#runs tbody').replaceChildren(
    ...runs.map((r) => {
      const c = r.reconciliation ?? live.get(r.run) ?? null;
      return h(
        'tr',
        { 'data-run': r.run },
        h('td', {}, r.run),
        h('td', {}, r.environment),
        h('td', {}, r.startedBy),
        h('td', {}, r.start ? new Date(r.start).toLocaleString() : '–'),
        h('td', {}, r.endCompleted ? new Date(r.endCompleted).toLocaleString() : 'running'),
        h('td', {}, c ? c.produced.hits : '–'),
        h('td', {}, c ? c.processed.hits : '–'),
        h('td', {}, c ? c.deadletteredWords : '–'),
        h('td', {}, c ? `${c.events.stored} / ${c.events.built}` : '–'),
        h(
          'td',
          { class: c && c.lost > 0 ? 'bad' : undefined, 'data-lost': c ? c.lost : undefined },
          c ? c.lost : '–',
        ),
        h('td', {}, typeof r.vars?.dataDir === 'string' ? `${r.vars.dataDir} (run ${r.run})` : '–'),
      );
    }),
  );
  if (runs.length === 0) $('#runs tbody').append(h('tr', {}, h('td', { colspan: 11 }, 'No runs yet.')));
}
