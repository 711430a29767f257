// What every view of the daqops web page shares (docs/ui.md): elements built as text (never HTML), the
// session's state, the API with the user's token, one refresh at a time, the confirm dialog.

export const ROLES = ['viewer', 'shifter', 'expert', 'admin'];
export const $ = (sel) => document.querySelector(sel);

/** An element with attributes (on… are listeners) and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
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

/** Told when the platform no longer accepts the token (main.js: back to the login, saying why). */
let unauthorized = () => undefined;
export function onUnauthorized(f) {
  unauthorized = f;
}

export const state = {
  token: sessionStorage.getItem('daqops-token') ?? undefined,
  me: undefined,
  view: 'control',
  envs: [],
  selectedEnv: undefined,
  selectedIncident: undefined,
  selectedTask: undefined,
  busy: new Map(), // environment → { transition, trace }
};

export const can = (role) => state.me !== undefined && ROLES.indexOf(state.me.role) >= ROLES.indexOf(role);

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.field = body?.field;
  }
}

export async function api(method, path, body, headers = {}) {
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
    unauthorized('Your token was not accepted (expired or revoked): log in again.');
    throw new ApiError(401, json);
  }
  if (!r.ok) throw new ApiError(r.status, json);
  return json;
}

export function say(message) {
  const b = $('#banner');
  b.textContent = message ?? '';
  b.hidden = !message;
}

export const errorText = (e) =>
  e instanceof ApiError ? `${e.code ?? 'ERROR'}: ${e.message}` : String(e?.message ?? e);

export function since(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60
    ? `${s} s`
    : s < 3600
      ? `${Math.floor(s / 60)} min ${s % 60} s`
      : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export const badge = (s) => h('span', { class: `state s-${s}` }, s);

export function envOptions(select) {
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

/** Asks before an action: resolves with the text typed (or true) when confirmed, false when not. */
export function confirmDialog(text, input) {
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

/** What a refresh draws (main.js sets it: the current view). */
let drawPage = () => Promise.resolve();
export function drawWith(draw) {
  drawPage = draw;
}

// One refresh at a time: a change that arrives during one asks for one more after it, not a second in
// parallel (two would both draw the page).
let refreshing;
let again = false;
export async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = drawPage().finally(() => (refreshing = undefined));
  await refreshing;
  if (again) {
    again = false;
    await refresh();
  }
}
