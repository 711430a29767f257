import assert from 'node:assert/strict';
import {
  commandTask,
  parsePlatformMessage,
  taskKey,
  type CommandMessage,
} from '../../protocol/agent-link.js';

const spec = { task: 't', environment: 'e', kind: 'command', config: {}, cpus: [0], critical: true };
const t = { environment: 'e', task: 't' };

describe('protocol/agent-link', () => {
  it('takes one message type per action, each with its own fields', () => {
    const ok: CommandMessage[] = [
      { type: 'command', id: '1', action: 'spawn', spec },
      { type: 'command', id: '2', action: 'transition', ...t, transition: 'CONFIGURE', payload: {} },
      { type: 'command', id: '3', action: 'kill', ...t },
      { type: 'command', id: '4', action: 'restart', ...t, traceparent: '00-x' },
      { type: 'command', id: '5', action: 'fault', ...t, fault: { kind: 'clear' } },
    ];
    for (const m of ok) assert.deepEqual(parsePlatformMessage(JSON.stringify(m)), m);
    assert.deepEqual(
      ok.map((m) => (m.type === 'command' ? taskKey(commandTask(m)) : '')),
      ['e/t', 'e/t', 'e/t', 'e/t', 'e/t'],
    );
    assert.deepEqual(parsePlatformMessage('{"type":"welcome","node":"n1"}'), { type: 'welcome', node: 'n1' });
  });

  it('refuses a command that lacks what its action needs, naming the field', () => {
    const bad: [object, string][] = [
      [{ type: 'command', id: '1', action: 'spawn' }, 'spec'],
      [{ type: 'command', id: '1', action: 'spawn', spec: { ...spec, cpus: 'all' } }, 'spec.cpus'],
      [{ type: 'command', id: '1', action: 'spawn', spec: { ...spec, generation: 0 } }, 'spec.generation'],
      [{ type: 'command', id: '1', action: 'spawn', spec: { ...spec, generation: '2' } }, 'spec.generation'],
      [{ type: 'command', id: '1', action: 'transition', ...t, payload: {} }, 'transition'],
      [
        { type: 'command', id: '1', action: 'transition', ...t, transition: 'KILL', payload: {} },
        'transition',
      ],
      [{ type: 'command', id: '1', action: 'transition', ...t, transition: 'START' }, 'payload'],
      [{ type: 'command', id: '1', action: 'kill' }, 'task'],
      [{ type: 'command', id: '1', action: 'kill', task: 't' }, 'environment'],
      [{ type: 'command', id: '1', action: 'launch', task: 't' }, 'action'],
      [{ type: 'command', action: 'kill', task: 't' }, 'id'],
      [{ type: 'command', id: '1', action: 'kill', ...t, timeoutMs: -1 }, 'timeoutMs'],
      [{ type: 'hello' }, 'type'],
      [[], 'message'],
    ];
    for (const [m, field] of bad)
      assert.throws(
        () => parsePlatformMessage(JSON.stringify(m)),
        (e: unknown) =>
          (e as { code: string; field: string }).code === 'INVALID_CONFIG' &&
          (e as { field: string }).field === field,
        JSON.stringify(m),
      );
    assert.throws(() => parsePlatformMessage('{'), /not JSON/);
  });
});
