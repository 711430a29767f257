// The daqops web page for the shift crew (docs/ui.md): run control, dataflow, incidents, runs and the
// detector at a glance, live from the platform API with the token the user logs in with. No framework,
// no build, nothing from outside the platform; every text goes into the page as text, never as HTML.

const ROLES = ['viewer', 'shifter', 'expert', 'admin'];
const $ = (sel) => document.querySelector(sel);

/** An element with attributes (on… are listeners) and children (strings become text). */
function h(tag, attrs = {}, ...children) {
  const ns = ['svg', 'g', 'rect', 'text', 'line', 'path', 'polyline', 'title'].includes(tag)
    ? 'http://www.w3.org/2000/svg'
    : undefined;
  const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false || v === null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat())
    if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const state = {
  token: sessionStorage.getItem('daqops-token') ?? undefined,
  me: undefined,
  view: 'control',
  envs: [],
  selectedEnv: undefined,
  selectedIncident: undefined,
  selectedTask: undefined,
  busy: new Map(), // environment → { transition, trace }
};

const can = (role) => state.me !== undefined && ROLES.indexOf(state.me.role) >= ROLES.indexOf(role);

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.field = body?.field;
  }
}

async function api(method, path, body, headers = {}) {
  const r = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${state.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await r.json().catch(() => undefined);
  if (r.status === 401) {
    logout('Your token was not accepted (expired or revoked): log in again.');
    throw new ApiError(401, json);
  }
  if (!r.ok) throw new ApiError(r.status, json);
  return json;
}

function say(message) {
  const b = $('#banner');
  b.textContent = message ?? '';
  b.hidden = !message;
}

const errorText = (e) =>
  e instanceof ApiError ? `${e.code ?? 'ERROR'}: ${e.message}` : String(e?.message ?? e);

// ---- login -----------------------------------------------------------------------------------------

async function login(token) {
  state.token = token;
  try {
    state.me = await api('GET', '/api/v1/whoami');
  } catch (e) {
    state.token = undefined;
    throw e;
  }
  sessionStorage.setItem('daqops-token', token);
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#who').textContent = `${state.me.name} (${state.me.role})`;
  const g = $('#grafana');
  if (state.me.grafanaUrl) {
    g.href = state.me.grafanaUrl;
    g.hidden = false;
  }
  document.querySelector('[data-view=tokens]').hidden = !can('admin');
  connectLive();
  await refresh();
}

function logout(message) {
  state.token = undefined;
  state.me = undefined;
  sessionStorage.removeItem('daqops-token');
  live.abort?.();
  $('#app').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message ?? '';
  $('#token').value = '';
  $('#token').focus();
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#login-error').textContent = '';
  try {
    await login($('#token').value.trim());
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) $('#login-error').textContent = errorText(e);
  }
});
$('#logout').addEventListener('click', () => logout());

// ---- live feed -------------------------------------------------------------------------------------

const live = { abort: undefined, retryMs: 1000 };

async function connectLive() {
  const ctl = new AbortController();
  live.abort = () => ctl.abort();
  const mark = (on) => {
    $('#live').textContent = on ? 'live' : 'reconnecting';
    $('#live').classList.toggle('on', on);
  };
  try {
    const r = await fetch('/api/v1/live', {
      headers: { authorization: `Bearer ${state.token}` },
      signal: ctl.signal,
    });
    if (r.status === 401) return logout('Your token was not accepted (expired or revoked): log in again.');
    if (!r.ok || r.body === null) throw new Error(`live feed: HTTP ${r.status}`);
    mark(true);
    live.retryMs = 1000;
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += value;
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data) onChange(JSON.parse(data.slice(6)));
      }
    }
  } catch {
    // A broken connection: reconnect below (unless it was closed on purpose).
  }
  if (ctl.signal.aborted || state.token === undefined) return;
  mark(false);
  setTimeout(() => state.token && connectLive(), live.retryMs);
  live.retryMs = Math.min(live.retryMs * 2, 15000);
}

let refreshTimer;
function onChange() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refresh(), 150);
}

// ---- views -----------------------------------------------------------------------------------------

for (const tab of document.querySelectorAll('[role=tab]'))
  tab.addEventListener('click', () => {
    state.view = tab.dataset.view;
    for (const t of document.querySelectorAll('[role=tab]'))
      t.setAttribute('aria-selected', String(t === tab));
    for (const p of document.querySelectorAll('[data-view-panel]'))
      p.hidden = p.dataset.viewPanel !== state.view;
    void refresh();
  });

// One refresh at a time: a change that arrives during one asks for one more after it, not a second in
// parallel (two would both draw the page).
let refreshing;
let again = false;
async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = draw().finally(() => (refreshing = undefined));
  await refreshing;
  if (again) {
    again = false;
    await refresh();
  }
}

async function draw() {
  if (state.token === undefined) return;
  try {
    state.envs = await api('GET', '/api/v1/environments');
    if (state.selectedEnv === undefined || !state.envs.some((e) => e.id === state.selectedEnv))
      state.selectedEnv = (state.envs.find((e) => e.state !== 'DONE') ?? state.envs[0])?.id;
    const open = await api('GET', '/api/v1/incidents?state=open');
    $('#open-count').textContent = open.length > 0 ? String(open.length) : '';
    if (state.view === 'control') await renderControl();
    if (state.view === 'dataflow') await renderDataflow();
    if (state.view === 'incidents') await renderIncidents();
    if (state.view === 'runs') await renderRuns();
    if (state.view === 'detector') await renderDetector();
    if (state.view === 'tokens') await renderTokens();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) say(errorText(e));
  }
}
setInterval(() => {
  if (state.view === 'dataflow' || state.view === 'detector') void refresh();
  for (const el of document.querySelectorAll('[data-since]')) el.textContent = since(el.dataset.since);
}, 5000);

function since(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60
    ? `${s} s`
    : s < 3600
      ? `${Math.floor(s / 60)} min ${s % 60} s`
      : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const badge = (s) => h('span', { class: `state s-${s}` }, s);

function envOptions(select) {
  const keep = select.value || state.selectedEnv;
  select.replaceChildren(
    ...state.envs.map((e) => h('option', { value: e.id, selected: e.id === keep }, `${e.id} (${e.state})`)),
  );
  select.onchange = () => {
    state.selectedEnv = select.value;
    void refresh();
  };
  return select.value;
}

// ---- run control -----------------------------------------------------------------------------------

async function renderControl() {
  const body = $('#envs tbody');
  body.replaceChildren(
    ...state.envs.map((e) =>
      h(
        'tr',
        {
          tabindex: 0,
          class: e.id === state.selectedEnv ? 'selected' : undefined,
          'data-env': e.id,
          onclick: () => ((state.selectedEnv = e.id), void refresh()),
          onkeydown: (ev) => ev.key === 'Enter' && ((state.selectedEnv = e.id), void refresh()),
        },
        h('td', {}, e.id),
        h('td', {}, e.template),
        h('td', {}, badge(e.state), e.transition ? ` ${e.transition}…` : ''),
        h('td', {}, e.run ?? '–'),
        h('td', e.runStart ? { 'data-since': e.runStart } : {}, e.runStart ? since(e.runStart) : '–'),
        h('td', {}, e.startedBy ?? '–'),
        h('td', {}, `${e.tasks.length} (${e.rollUp})`),
      ),
    ),
  );
  if (state.envs.length === 0) body.append(h('tr', {}, h('td', { colspan: 7 }, 'No environments yet.')));
  const env = state.envs.find((e) => e.id === state.selectedEnv);
  const detail = $('#env-detail');
  if (env === undefined) detail.replaceChildren();
  else {
    const busy = state.busy.get(env.id);
    const events = await api('GET', `/api/v1/environments/${env.id}/events`);
    const card = envCard(detail);
    card.head.replaceChildren(
      h('h3', {}, env.id, ' ', badge(env.state)),
      busy
        ? h(
            'p',
            { id: 'under-way' },
            `${busy.transition} ${busy.error ? 'refused' : 'under way'} — trace ${busy.trace}`,
          )
        : '',
      busy?.error ? h('p', { class: 'error', role: 'alert', id: 'transition-error' }, busy.error) : '',
      can('shifter')
        ? h(
            'div',
            { class: 'actions', id: 'transitions' },
            env.allowed.map((t) =>
              h(
                'button',
                {
                  class: t === 'GO_ERROR' || t === 'EXIT' ? 'danger' : 'primary',
                  'data-transition': t,
                  disabled: busy && !busy.error,
                  onclick: () => transition(env, t),
                },
                t,
              ),
            ),
          )
        : h('p', { class: 'hint' }, 'Your role may look, not act.'),
      taskTable(env),
    );
    card.log.replaceChildren(h('h3', {}, 'Transition log'), transitionLog(events));
    const masks = masksEditor(env);
    // Never moved once shown: taking a focused field out of the page, even to put it back, blurs it and
    // whatever the shifter types next goes nowhere.
    if (card.masks.firstChild !== masks) card.masks.replaceChildren(masks);
  }
  const form = $('#create-form');
  form.hidden = !can('expert');
  if (can('expert') && $('#create-template').options.length === 0) {
    const names = await api('GET', '/api/v1/templates');
    $('#create-template').replaceChildren(...names.map((n) => h('option', { value: n }, n)));
  }
}

/** The environment's last control events, newest first: transitions, hooks and tasks as they answered. */
function transitionLog(events) {
  const line = (e) => {
    const at = new Date(e.at).toLocaleTimeString();
    if (e.kind === 'environment')
      return `${at} ${e.transition} ${e.step} ${e.status}${e.error ? ` — ${e.error}` : ''}`;
    if (e.kind === 'hook')
      return `${at} hook ${e.hook} (${e.step}_${e.transition}) ${e.status}${e.error ? ` — ${e.error}` : ''}`;
    if (e.kind === 'task')
      return `${at} task ${e.task} → ${e.state}${e.excluded ? ' (excluded)' : ''}${e.message ? ` — ${e.message}` : ''}`;
    return `${at} run ${e.run} ${e.time}`;
  };
  return events.length === 0
    ? h('p', { class: 'hint' }, 'Nothing yet.')
    : h(
        'ul',
        { class: 'timeline log', id: 'transition-log' },
        [...events]
          .reverse()
          .slice(0, 40)
          .map((e) =>
            h(
              'li',
              {
                class:
                  e.status === 'DONE_ERROR' || e.status === 'DONE_TIMEOUT' || e.state === 'ERROR'
                    ? 'bad'
                    : undefined,
              },
              line(e),
            ),
          ),
      );
}

/**
 * The environment card is built once and its parts are redrawn in place: a live update replaces what it
 * shows, never an element the user is working in (the masks editor below lives in its own slot).
 */
function envCard(detail) {
  let card = document.getElementById('env-card');
  if (card === null) {
    card = h(
      'div',
      { class: 'card', id: 'env-card' },
      h('div', { 'data-slot': 'head' }),
      h('div', { class: 'cols' }, h('div', { 'data-slot': 'log' }), h('div', { 'data-slot': 'masks' })),
    );
    detail.replaceChildren(card);
  }
  const slot = (name) => card.querySelector(`[data-slot=${name}]`);
  return { head: slot('head'), log: slot('log'), masks: slot('masks') };
}

/** One masks editor per environment, kept for the page's life so a refresh never takes it from under a shifter. */
const maskEditors = new Map();

/** The cells to mask from the next CONFIGURE on: `chamber layer cell` per line. */
function masksEditor(env) {
  const text = env.masks.map((m) => `${m.chamber} ${m.layer} ${m.cell}`).join('\n');
  if (!can('shifter'))
    return h('div', {}, h('h3', {}, 'Channel masks'), h('p', {}, env.masks.length === 0 ? 'None.' : text));
  let editor = maskEditors.get(env.id);
  if (editor === undefined) {
    editor = newMasksEditor(env.id);
    maskEditors.set(env.id, editor);
  }
  editor.title.textContent = `Channel masks (${env.masks.length})`;
  // What the shifter is typing stays as it is: a field that is edited or has the focus is not rewritten.
  if (editor.form.dataset.dirty !== 'true' && document.activeElement !== editor.area)
    editor.area.value = text;
  return editor.form;
}

function newMasksEditor(envId) {
  const area = h('textarea', { id: 'masks', rows: 4, 'aria-describedby': 'masks-help' });
  const title = h('h3', {});
  const error = h('p', { class: 'error', role: 'alert', id: 'masks-error' });
  const save = async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const cells = [];
    for (const [i, line] of area.value
      .split('\n')
      .map((l) => l.trim())
      .entries()) {
      if (line === '') continue;
      const n = line.split(/[\s,/]+/).map(Number);
      if (n.length !== 3 || n.some((x) => !Number.isInteger(x)))
        return (error.textContent = `line ${i + 1} ("${line}"): write chamber layer cell, e.g. 1 2 7`);
      cells.push({ chamber: n[0], layer: n[1], cell: n[2] });
    }
    try {
      await api('POST', `/api/v1/environments/${envId}/masks`, { cells });
      form.dataset.dirty = 'false';
      await refresh();
    } catch (e) {
      error.textContent = errorText(e);
    }
  };
  const form = h(
    'form',
    { id: 'masks-form', 'data-env': envId, onsubmit: save },
    title,
    h(
      'label',
      { for: 'masks', id: 'masks-help' },
      'Cells to mask from the next CONFIGURE on: chamber layer cell, one per line',
    ),
    area,
    h('button', { type: 'submit' }, 'Save masks'),
    error,
  );
  area.addEventListener('input', () => (form.dataset.dirty = 'true'));
  return { form, area, title };
}

function taskTable(env) {
  return h(
    'table',
    { class: 'list', id: 'tasks' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Task', 'Workload', 'State', 'Node', 'Cores', 'PID', ''].map((c) => h('th', {}, c)),
      ),
    ),
    h(
      'tbody',
      {},
      env.tasks.map((t) =>
        h(
          'tr',
          { 'data-task': t.name },
          h('td', {}, t.name),
          h('td', {}, t.workload),
          h('td', {}, badge(t.state)),
          h('td', {}, t.node),
          h('td', {}, t.cpus.join(',') || 'shared'),
          h('td', {}, t.pid ?? '–'),
          h(
            'td',
            {},
            t.excluded ? 'EXCLUDED' : t.critical ? '' : 'non-critical',
            t.message ? ` — ${t.message}` : '',
          ),
        ),
      ),
    ),
  );
}

function confirmDialog(text, input) {
  const d = $('#confirm');
  $('#confirm-text').textContent = text;
  $('#confirm-input').hidden = $('#confirm-input-label').hidden = input === undefined;
  $('#confirm-input-label').textContent = input ?? '';
  $('#confirm-input').value = '';
  d.returnValue = '';
  d.showModal();
  return new Promise((resolve) =>
    d.addEventListener(
      'close',
      () => resolve(d.returnValue === 'ok' ? $('#confirm-input').value.trim() || true : false),
      { once: true },
    ),
  );
}

const hex = (n) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, '0')).join('');

async function transition(env, t) {
  if (!(await confirmDialog(`Run ${t} on ${env.id} (now ${env.state})?`))) return;
  const trace = hex(16);
  state.busy.set(env.id, { transition: t, trace });
  await refresh();
  try {
    await api(
      'POST',
      `/api/v1/environments/${env.id}/transitions`,
      { transition: t },
      { traceparent: `00-${trace}-${hex(8)}-01` },
    );
    state.busy.delete(env.id);
  } catch (e) {
    state.busy.set(env.id, { transition: t, trace, error: errorText(e) });
  }
  await refresh();
}

$('#create-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#create-error').textContent = '';
  const vars = {};
  for (const line of $('#create-vars')
    .value.split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const eq = line.indexOf('=');
    if (eq <= 0) return ($('#create-error').textContent = `"${line}": write each variable as name=value`);
    const v = line.slice(eq + 1).trim();
    vars[line.slice(0, eq).trim()] =
      v === 'true' ? true : v === 'false' ? false : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  try {
    const env = await api('POST', '/api/v1/environments', { template: $('#create-template').value, vars });
    state.selectedEnv = env.id;
    $('#create-vars').value = '';
    await refresh();
  } catch (e) {
    $('#create-error').textContent = errorText(e);
  }
});

// ---- dataflow --------------------------------------------------------------------------------------

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

async function renderDataflow() {
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

// ---- incidents -------------------------------------------------------------------------------------

async function renderIncidents() {
  const all = await api('GET', '/api/v1/incidents');
  const order = { open: 0, acknowledged: 1, resolved: 2 };
  all.sort((a, b) => order[a.state] - order[b.state] || b.id - a.id);
  $('#incidents tbody').replaceChildren(
    ...all.map((i) =>
      h(
        'tr',
        {
          tabindex: 0,
          'data-incident': i.id,
          class: i.id === state.selectedIncident ? 'selected' : undefined,
          onclick: () => ((state.selectedIncident = i.id), renderIncidents()),
          onkeydown: (ev) => ev.key === 'Enter' && ((state.selectedIncident = i.id), renderIncidents()),
        },
        h('td', {}, i.id),
        h('td', {}, badge(i.severity)),
        h('td', {}, badge(i.state)),
        h('td', {}, i.title),
        h('td', {}, i.recovery),
        h('td', {}, new Date(i.openedAt).toLocaleString()),
      ),
    ),
  );
  if (all.length === 0) $('#incidents tbody').append(h('tr', {}, h('td', { colspan: 6 }, 'No incidents.')));
  const inc = all.find((i) => i.id === state.selectedIncident) ?? all.find((i) => i.state !== 'resolved');
  const detail = $('#incident-detail');
  if (inc === undefined) return detail.replaceChildren();
  state.selectedIncident = inc.id;
  const book = inc.runbook
    ? await api('GET', `/api/v1/runbooks/${inc.runbook}`).catch(() => undefined)
    : undefined;
  const act = async (f) => {
    try {
      await f();
      await refresh();
    } catch (e) {
      say(errorText(e));
    }
  };
  const live = inc.state !== 'resolved';
  detail.replaceChildren(
    h(
      'div',
      { class: 'card', id: 'incident-card' },
      h('h3', {}, `#${inc.id} ${inc.title} `, badge(inc.state)),
      h(
        'p',
        {},
        `Root cause: ${inc.root.name} on ${inc.root.component.kind} ${inc.root.component.id}${inc.environment ? ` (${inc.environment})` : ''} · severity ${inc.severity} · automatic recovery: ${inc.recovery}${inc.runbook ? ` (${inc.runbook})` : ''}`,
      ),
      can('shifter') && live
        ? h(
            'div',
            { class: 'actions' },
            inc.state === 'open'
              ? h(
                  'button',
                  { onclick: () => act(() => api('POST', `/api/v1/incidents/${inc.id}/ack`)) },
                  'Acknowledge',
                )
              : '',
            h(
              'button',
              {
                onclick: async () => {
                  const note = await confirmDialog(`Resolve incident #${inc.id}?`, 'Note (optional)');
                  if (note)
                    await act(() =>
                      api(
                        'POST',
                        `/api/v1/incidents/${inc.id}/resolve`,
                        note === true ? undefined : { note },
                      ),
                    );
                },
              },
              'Resolve',
            ),
            h(
              'button',
              {
                onclick: async () => {
                  const text = await confirmDialog(`Add a note to incident #${inc.id}`, 'Note');
                  if (typeof text === 'string')
                    await act(() => api('POST', `/api/v1/incidents/${inc.id}/notes`, { text }));
                },
              },
              'Add note',
            ),
          )
        : '',
      h(
        'div',
        { class: 'cols' },
        h(
          'div',
          {},
          h('h3', {}, `Signals (${inc.signals.length})`),
          h(
            'table',
            { class: 'list' },
            h(
              'tbody',
              {},
              inc.signals
                .slice(0, 200)
                .map((s) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, s.source),
                    h('td', {}, s.name),
                    h('td', {}, `${s.component.kind} ${s.component.id}`),
                    h('td', {}, s.status),
                    h('td', {}, `×${s.count}`),
                  ),
                ),
            ),
          ),
          h('h3', {}, 'Timeline'),
          h(
            'ol',
            { class: 'timeline' },
            inc.timeline
              .slice(-200)
              .map((e) =>
                h(
                  'li',
                  {},
                  `${new Date(e.at).toLocaleTimeString()} ${e.kind}${e.who ? ` (${e.who})` : ''}: ${e.text}${e.result ? ` → ${e.result}` : ''}`,
                ),
              ),
          ),
        ),
        h(
          'div',
          {},
          book
            ? [
                h('h3', {}, `Runbook ${book.name}: ${book.title}`),
                h(
                  'ol',
                  {},
                  book.steps.map((s, i) =>
                    h(
                      'li',
                      {},
                      `${s.title} (${s.action}${s.auto ? ', automatic' : ''}) `,
                      can('expert') && live
                        ? h(
                            'button',
                            {
                              'data-step': i,
                              onclick: async () => {
                                const outcome =
                                  s.action === 'manual'
                                    ? await confirmDialog(
                                        `Step ${i + 1}: ${s.title}`,
                                        'What did you find or do?',
                                      )
                                    : await confirmDialog(
                                        `Run step ${i + 1} (${s.action}) of ${book.name} on incident #${inc.id}?`,
                                      );
                                if (outcome)
                                  await act(() =>
                                    api('POST', `/api/v1/incidents/${inc.id}/steps`, {
                                      runbook: book.name,
                                      step: i,
                                      ...(typeof outcome === 'string' ? { outcome } : {}),
                                    }),
                                  );
                              },
                            },
                            'Run',
                          )
                        : '',
                    ),
                  ),
                ),
                h('div', { class: 'runbook' }, markdown(book.body)),
              ]
            : h('p', { class: 'hint' }, 'No runbook matches this incident.'),
        ),
      ),
    ),
  );
}

/** A runbook's Markdown as headings, paragraphs and list items — text nodes only, never HTML. */
function markdown(text) {
  return text
    .split(/\n\s*\n/)
    .map((block) => block.trim())
    .filter(Boolean)
    .map((block) => {
      const heading = /^(#{1,4})\s+(.*)$/.exec(block);
      if (heading) return h(`h${Math.min(6, heading[1].length + 3)}`, {}, heading[2]);
      const lines = block.split('\n');
      if (lines.every((l) => /^\s*([-*]|\d+\.)\s+/.test(l) || /^\s{2,}/.test(l)))
        return h(
          'ul',
          {},
          lines
            .filter((l) => /^\s*([-*]|\d+\.)\s+/.test(l))
            .map((l) =>
              h(
                'li',
                {},
                l
                  .replace(/^\s*([-*]|\d+\.)\s+/, '')
                  .replaceAll('**', '')
                  .replaceAll('`', ''),
              ),
            ),
        );
      return h(
        'p',
        {},
        block
          .replace(/\s*\n\s*/g, ' ')
          .replaceAll('**', '')
          .replaceAll('`', ''),
      );
    });
}

// ---- runs ------------------------------------------------------------------------------------------

async function renderRuns() {
  const runs = await api('GET', '/api/v1/runs');
  $('#runs tbody').replaceChildren(
    ...runs.map((r) => {
      const c = r.reconciliation;
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

// ---- detector --------------------------------------------------------------------------------------

async function renderDetector() {
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
}

// ---- tokens (admin) -----------------------------------------------------------------------------------

async function renderTokens() {
  const holders = await api('GET', '/api/v1/tokens');
  $('#tokens tbody').replaceChildren(
    ...holders.map((t) =>
      h(
        'tr',
        { 'data-holder': t.name },
        h('td', {}, t.name),
        h('td', {}, t.role),
        h(
          'td',
          {},
          h(
            'button',
            {
              class: 'danger',
              onclick: async () => {
                if (
                  !(await confirmDialog(
                    `Revoke the token of ${t.name} (${t.role})? Their next call is refused.`,
                  ))
                )
                  return;
                try {
                  await api('POST', `/api/v1/tokens/${t.name}/revoke`);
                  await refresh();
                } catch (e) {
                  $('#token-error').textContent = errorText(e);
                }
              },
            },
            'Revoke',
          ),
        ),
      ),
    ),
  );
}

$('#token-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#token-error').textContent = '';
  $('#token-new').textContent = '';
  try {
    const t = await api('POST', '/api/v1/tokens', {
      name: $('#token-name').value.trim(),
      role: $('#token-role').value,
    });
    $('#token-new').textContent = `Token for ${t.name} (${t.role}), shown this once: ${t.token}`;
    $('#token-name').value = '';
    await refresh();
  } catch (e) {
    $('#token-error').textContent = errorText(e);
  }
});

// ---- start -----------------------------------------------------------------------------------------

if (state.token)
  login(state.token).catch((e) => {
    // A refused token already went back to the login with its reason (api()).
    if (!(e instanceof ApiError && e.status === 401)) logout(errorText(e));
  });
else logout();
