// Run control: environments, their transitions, tasks, transition log and channel masks; creating one.
import { $, h, state, can, api, errorText, since, badge, confirmDialog, refresh } from '../core.js';

export async function renderControl() {
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
        h('td', {}, taskSummary(e)),
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
  await renderNodes();
  const form = $('#create-form');
  form.hidden = !can('expert');
  if (can('expert') && $('#create-template').options.length === 0) {
    const names = await api('GET', '/api/v1/templates');
    $('#create-template').replaceChildren(...names.map((n) => h('option', { value: n }, n)));
  }
}

/** "5 (RUNNING; 1 LOST, 1 excluded)": the roll-up, and what a shifter must not miss beside it. */
function taskSummary(e) {
  const lost = e.tasks.filter((t) => t.state === 'LOST').length;
  const excluded = e.tasks.filter((t) => t.excluded).length;
  const more = [lost > 0 ? `${lost} LOST` : '', excluded > 0 ? `${excluded} excluded` : ''].filter(Boolean);
  return `${e.tasks.length} (${e.rollUp}${more.length > 0 ? `; ${more.join(', ')}` : ''})`;
}

/** The nodes whose agents joined: connected or not, drained or not; an expert drains and uncordons. */
async function renderNodes() {
  const nodes = await api('GET', '/api/v1/agents');
  const body = $('#nodes tbody');
  body.replaceChildren(
    ...nodes.map((n) =>
      h(
        'tr',
        { 'data-node': n.node },
        h('td', {}, n.node),
        h('td', {}, badge(n.connected ? 'connected' : n.lost ? 'LOST' : 'away')),
        h('td', {}, n.cores),
        h('td', {}, n.tasks),
        h('td', { class: 'cordon' }, n.cordoned ? 'drained: takes no new task' : 'takes tasks'),
        h(
          'td',
          {},
          can('expert')
            ? h(
                'button',
                {
                  class: n.cordoned ? 'primary' : 'danger',
                  'data-node-action': n.cordoned ? 'uncordon' : 'drain',
                  onclick: () => nodeAction(n.node, n.cordoned ? 'uncordon' : 'drain'),
                },
                n.cordoned ? 'Uncordon' : 'Drain',
              )
            : '',
        ),
      ),
    ),
  );
  if (nodes.length === 0) body.append(h('tr', {}, h('td', { colspan: 6 }, 'No agent has joined.')));
}

async function nodeAction(node, action) {
  const what =
    action === 'drain'
      ? `Drain ${node}? Its tasks move to other nodes without a stop; a readout wired to it is excluded.`
      : `Let ${node} take tasks again?`;
  const reason = await confirmDialog(what, 'Reason (kept in the audit log)');
  if (reason === false) return;
  $('#node-error').textContent = '';
  try {
    const r = await api(
      'POST',
      `/api/v1/nodes/${encodeURIComponent(node)}/${action}`,
      reason === true ? {} : { reason },
    );
    if (action === 'drain' && r.failed.length > 0)
      $('#node-error').textContent = `not moved: ${r.failed.join('; ')}`;
  } catch (e) {
    $('#node-error').textContent = errorText(e);
  }
  await refresh();
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
        ['Task', 'Workload', 'State', 'Node', 'Cores', 'PID', 'Placed because', ''].map((c) =>
          h('th', {}, c),
        ),
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
          // "node-b, NUMA 0: link 1 → board-b on node-b": the node is in its own column.
          h('td', { class: 'placement' }, (t.placement ?? '–').replace(/^[^,]*, /, '')),
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
