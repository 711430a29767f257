/**
 * `daqops runbook run NAME --incident N`: walks a runbook's steps with the human one at a time — shows
 * each, asks before running it, and records each outcome on the incident (through the API, so it is
 * audited like everything else). Manual steps ask what was found; automatic ones run on the platform.
 */
import type { PlatformClient } from '../api/client.js';

export interface Asker {
  /** Asks a question; resolves with the answer line (trimmed). */
  ask(question: string): Promise<string>;
  say(line: string): void;
}

export interface WalkResult {
  readonly ran: number;
  readonly skipped: number;
  readonly failed: number;
  readonly quit: boolean;
}

export async function walkRunbook(
  client: PlatformClient,
  name: string,
  incident: number,
  io: Asker,
): Promise<WalkResult> {
  const book = await client.runbook(name);
  io.say(`runbook ${book.name}: ${book.title} — incident #${incident}`);
  io.say(book.body.split('\n').slice(0, 12).join('\n'));
  let ran = 0;
  let skipped = 0;
  let failed = 0;
  for (const [i, step] of book.steps.entries()) {
    io.say('');
    io.say(
      `step ${i + 1}/${book.steps.length}: ${step.title} (${step.action}${step.when === 'always' ? '' : `, ${step.when} tasks`}${step.auto ? ', also automatic' : ''})`,
    );
    if (step.detail !== undefined) io.say(`  ${step.detail}`);
    const answer = (
      await io.ask(
        step.action === 'manual' ? 'done? [y]es / [s]kip / [q]uit ' : 'run it? [y]es / [s]kip / [q]uit ',
      )
    ).toLowerCase();
    if (answer.startsWith('q')) return { ran, skipped, failed, quit: true };
    if (!answer.startsWith('y')) {
      skipped++;
      continue;
    }
    const outcome = step.action === 'manual' ? await io.ask('what did you find / do? ') : undefined;
    const r = await client.runStep(incident, {
      runbook: book.name,
      step: i,
      ...(outcome === undefined || outcome === '' ? {} : { outcome }),
    });
    io.say(`  ${r.ok ? 'ok' : 'FAILED'}: ${r.message} (on the incident's timeline)`);
    if (r.ok) ran++;
    else failed++;
  }
  return { ran, skipped, failed, quit: false };
}
