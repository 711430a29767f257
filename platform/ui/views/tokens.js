// Tokens an admin gives and revokes.
import { $, h, api, errorText, confirmDialog, refresh } from '../core.js';

export async function renderTokens() {
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
