// The daqops web page for the shift crew (docs/ui.md): run control, dataflow, incidents, runs and the
// detector at a glance, live from the platform API with the token the user logs in with. No framework,
// no build, nothing from outside the platform: one ES module per view (views/), what they share in
// core.js, and this one: the login, the live feed, the tabs and what a refresh draws.
import {
  $,
  ApiError,
  api,
  can,
  drawWith,
  errorText,
  onUnauthorized,
  refresh,
  say,
  since,
  state,
} from './core.js';
import { renderControl } from './views/control.js';
import { renderDataflow } from './views/dataflow.js';
import { renderIncidents } from './views/incidents.js';
import { renderRuns } from './views/runs.js';
import { renderDetector } from './views/detector.js';
import { renderTokens } from './views/tokens.js';

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

onUnauthorized((message) => logout(message));
drawWith(() => draw());

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

// ---- start -----------------------------------------------------------------------------------------

if (state.token)
  login(state.token).catch((e) => {
    // A refused token already went back to the login with its reason (api()).
    if (!(e instanceof ApiError && e.status === 401)) logout(errorText(e));
  });
else logout();
