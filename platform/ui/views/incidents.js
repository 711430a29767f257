// Incidents with their root cause, signals, timeline, recovery and runbook; what a shifter does to them.
import { $, h, state, can, api, say, errorText, badge, confirmDialog, refresh } from '../core.js';

export async function renderIncidents() {
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
