// The dataflow graph the platform describes (tasks by stage, topics, rates per edge) and a task's details.
import { $, h, state, api, badge, envOptions } from '../core.js';

const rate = (bps) =>
  bps >= 1e6
    ? `${(bps / 1e6).toFixed(1)} MB/s`
    : bps >= 1e3
      ? `${(bps / 1e3).toFixed(1)} kB/s`
      : `${Math.round(bps)} B/s`;
const COLORS = {
  RUNNING: '#1c7c3c',
  CONFIGURED: '#1f5fbf',
  STANDBY: '#5d6575',
  ERROR: '#c0262d',
  DONE: '#2b2f3a',
};

export async function renderDataflow() {
  const id = envOptions($('#dataflow-env'));
  const graph = $('#dataflow-graph');
  if (!id) return graph.replaceChildren(h('p', {}, 'No environment.'));
  const df = await api('GET', `/api/v1/environments/${id}/dataflow`);
  const env = state.envs.find((e) => e.id === id);
  // The graph is the platform's (tasks by stage, the topics between, links from the template's config).
  const taskOf = new Map(df.tasks.map((t) => [t.name, t]));
  const ncols = Math.max(...df.graph.nodes.map((n) => n.column), 0) + 1;
  const cols = Array.from({ length: ncols }, (_, c) =>
    df.graph.nodes
      .filter((n) => n.column === c)
      .map((n) =>
        n.kind === 'topic' ? { topic: n.id } : { task: taskOf.get(n.id) ?? placeholder(n), label: n.id },
      ),
  ).filter((c) => c.length > 0);
  const W = 1300,
    colW = W / Math.max(cols.length, 1),
    boxW = 190,
    boxH = 56;
  const rows = Math.max(...cols.map((c) => c.length), 1);
  const H = rows * 90 + 40;
  const pos = new Map();
  cols.forEach((col, i) =>
    col.forEach((n, j) =>
      pos.set(n.task?.name ?? n.topic, {
        x: i * colW + (colW - boxW) / 2,
        y: 20 + ((H - 40) / col.length) * (j + 0.5) - boxH / 2,
      }),
    ),
  );
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `dataflow of ${id}` });
  const link = (a, b, label, cls) => {
    const p = pos.get(a),
      q = pos.get(b);
    if (!p || !q) return;
    const x1 = p.x + boxW,
      y1 = p.y + boxH / 2,
      x2 = q.x,
      y2 = q.y + boxH / 2;
    svg.append(h('line', { x1, y1, x2, y2, stroke: '#8a93a6', 'stroke-width': 2 }));
    svg.append(
      h(
        'text',
        {
          x: (x1 + x2) / 2,
          y: (y1 + y2) / 2 - 6,
          'text-anchor': 'middle',
          'font-size': 12,
          // A white halo keeps the rate readable where it crosses a line.
          stroke: '#fff',
          'stroke-width': 4,
          'paint-order': 'stroke',
          class: cls,
          'data-edge': `${a}>${b}`,
        },
        label,
      ),
    );
  };
  for (const e of df.graph.edges) link(e.source, e.target, rate(e.bytesPerSecond), 'rate');
  for (const col of cols)
    for (const n of col) {
      const p = pos.get(n.task?.name ?? n.topic);
      if (n.topic) {
        svg.append(
          h(
            'g',
            {},
            h('rect', {
              x: p.x,
              y: p.y,
              width: boxW,
              height: boxH,
              rx: 28,
              fill: '#eef1f6',
              stroke: '#8a93a6',
            }),
            h(
              'text',
              { x: p.x + boxW / 2, y: p.y + 33, 'text-anchor': 'middle' },
              `${env?.namespace ?? ''}.${n.topic}`.slice(-24),
            ),
          ),
        );
        continue;
      }
      const t = n.task;
      const lag = df.lag?.[t.name];
      const g = h(
        'g',
        {
          class: 'task',
          tabindex: 0,
          role: 'button',
          'data-task': t.name,
          'data-state': t.state,
          'aria-label': `${t.name} ${t.state}`,
          onclick: () => showTask(id, t),
          onkeydown: (ev) => ev.key === 'Enter' && showTask(id, t),
        },
        h('title', {}, `${t.name}: ${t.state} on ${t.node}`),
        h('rect', {
          x: p.x,
          y: p.y,
          width: boxW,
          height: boxH,
          rx: 6,
          fill: t.excluded ? '#fff' : (COLORS[t.state] ?? '#5d6575'),
          stroke: t.state === 'ERROR' ? '#c0262d' : '#1d2330',
          'stroke-width': t.state === 'ERROR' ? 4 : 1,
          'stroke-dasharray': t.excluded ? '6 4' : undefined,
        }),
        h(
          'text',
          { x: p.x + 8, y: p.y + 20, fill: t.excluded ? '#1d2330' : '#fff', 'font-weight': 700 },
          `${t.name}${t.excluded ? ' (excluded)' : ''}`,
        ),
        h(
          'text',
          { x: p.x + 8, y: p.y + 38, fill: t.excluded ? '#1d2330' : '#fff', 'font-size': 12 },
          `${t.state} · ${t.node} · cpu ${t.cpus.join(',') || 'shared'}`,
        ),
        lag === undefined
          ? ''
          : h('text', { x: p.x + 8, y: p.y + 52, fill: '#fff', 'font-size': 11 }, `lag ${lag}`),
      );
      svg.append(g);
    }
  graph.replaceChildren(
    svg,
    h(
      'p',
      { class: 'hint' },
      df.at
        ? `rates as of ${new Date(df.at).toLocaleTimeString()}`
        : 'no rates yet (the agents are read every 5 s)',
    ),
  );
  if (state.selectedTask?.env === id)
    await showTask(
      id,
      df.tasks.find((t) => t.name === state.selectedTask.name) ?? state.selectedTask.task,
      false,
    );
}

/** A task of the template not placed yet (before DEPLOY): drawn in STANDBY on no node. */
function placeholder(n) {
  return { name: n.id, workload: n.workload, state: 'STANDBY', node: '–', cpus: [], excluded: false };
}

async function showTask(envId, t, focus = true) {
  state.selectedTask = { env: envId, name: t.name, task: t };
  const incidents = await api('GET', '/api/v1/incidents');
  const signals = incidents
    .filter((i) => i.environment === envId)
    .flatMap((i) =>
      i.signals
        .filter((s) => s.component.kind === 'task' && s.component.id === t.name)
        .map((s) => ({ ...s, incident: i.id })),
    )
    .sort((a, b) => Date.parse(b.lastSeen) - Date.parse(a.lastSeen))
    .slice(0, 20);
  const box = $('#task-detail');
  box.hidden = false;
  box.replaceChildren(
    h('h3', {}, t.name, ' ', badge(t.state), t.excluded ? ' EXCLUDED' : ''),
    h(
      'p',
      {},
      `${t.workload} on ${t.node}, NUMA ${t.numa}, cores ${t.cpus.join(',') || 'shared'}, ${t.memoryMiB} MiB${t.pid ? `, pid ${t.pid}` : ''}${t.critical ? ', critical' : ''}`,
    ),
    t.message ? h('p', { class: 'error' }, t.message) : '',
    h('h3', {}, 'Recent issues and signals'),
    signals.length === 0
      ? h('p', { class: 'hint' }, 'None.')
      : h(
          'ul',
          {},
          signals.map((s) =>
            h(
              'li',
              {},
              `${s.lastSeen} ${s.source} ${s.name} (${s.severity}, ×${s.count}) — ${s.summary} [incident #${s.incident}]`,
            ),
          ),
        ),
  );
  if (focus) box.scrollIntoView({ block: 'nearest' });
}
