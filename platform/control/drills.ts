/**
 * What an environment's detector takes from a shifter besides transitions: drill faults for a RUNNING
 * run's emulated readouts (protocol/faults.ts), and the cells to mask from the next CONFIGURE on. Both
 * are checked against the environment's own detector (its chambers and links), naming the field.
 */
import { CELLS_PER_LAYER, LAYERS_PER_CHAMBER } from '../../protocol/channel-map.js';
import { DaqError } from '../../protocol/errors.js';
import { faultLinks, parseFault, type FaultSpec } from '../../protocol/faults.js';
import type { Environment } from './environment.js';
import type { MaskedCell } from './types.js';
import type { TaskStatus } from './types.js';

/** A fault injected without a start begins this far ahead, so every link starts it on one timeframe. */
export const FAULT_LEAD_MS = 500;

/** The chambers of an environment's detector (its readouts' `chambers`, 4 by default). */
function chambersOf(env: Environment): number {
  return Number(env.template.tasks.find((t) => t.workload === 'readout')?.config['chambers'] ?? 4);
}

/**
 * A drill fault checked against the environment, given a common start FAULT_LEAD_MS ahead unless it
 * names one, and the readouts it goes to (those of its links that take part in the run).
 */
export function drillFault(
  env: Environment,
  input: unknown,
  now = Date.now(),
): { fault: FaultSpec; targets: TaskStatus[] } {
  const readouts = env.template.tasks.filter((t) => t.workload === 'readout');
  const linkOf = (t: (typeof readouts)[number]): number => Number(t.config['link']);
  let fault = parseFault(input, { chambers: chambersOf(env), links: readouts.map(linkOf) }, 'fault');
  if (env.state !== 'RUNNING')
    throw new DaqError(
      'ILLEGAL_TRANSITION',
      `environment ${env.id} is ${env.state}: drill faults need a RUNNING run`,
      {
        field: 'state',
      },
    );
  if (fault.atMs === undefined && fault.atSeconds === undefined)
    fault = { ...fault, atMs: now + FAULT_LEAD_MS };
  const links = new Set(faultLinks(fault, readouts.map(linkOf)));
  const targets = readouts
    .filter((t) => links.has(linkOf(t)))
    .map((t) => env.task(t.name))
    .filter((t): t is TaskStatus => t !== undefined && !t.excluded);
  if (targets.length === 0)
    throw new DaqError(
      'INVALID_FAULT',
      `no running readout of ${env.id} reads link(s) ${[...links].join(', ')}`,
      {
        field: 'fault',
      },
    );
  return { fault, targets };
}

/** Masks checked against the detector: each chamber, layer (1–4) and cell (1–16) exists, listed once. */
export function checkMasks(env: Environment, cells: readonly MaskedCell[]): MaskedCell[] {
  const chambers = chambersOf(env);
  const seen = new Set<string>();
  return cells.map((c, i) => {
    const bad = (field: string, why: string): never => {
      throw new DaqError('INVALID_CONFIG', `cells[${i}].${field}: ${why}`, { field: `cells[${i}].${field}` });
    };
    if (!Number.isInteger(c.chamber) || c.chamber < 0 || c.chamber >= chambers)
      bad('chamber', `no chamber ${c.chamber}: the environment has chambers 0–${chambers - 1}`);
    if (!Number.isInteger(c.layer) || c.layer < 1 || c.layer > LAYERS_PER_CHAMBER)
      bad('layer', `no layer ${c.layer}: layers are 1–${LAYERS_PER_CHAMBER}`);
    if (!Number.isInteger(c.cell) || c.cell < 1 || c.cell > CELLS_PER_LAYER)
      bad('cell', `no cell ${c.cell}: cells are 1–${CELLS_PER_LAYER}`);
    const key = `${c.chamber}/${c.layer}/${c.cell}`;
    if (seen.has(key)) bad('cell', `chamber ${c.chamber} layer ${c.layer} cell ${c.cell} is listed twice`);
    seen.add(key);
    return { chamber: c.chamber, layer: c.layer, cell: c.cell };
  });
}
