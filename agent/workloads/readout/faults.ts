/**
 * The drill faults a readout's emulator is running (protocol/faults.ts): injected from its template
 * (seconds after the run's start) or at run time through the agent, each with a start and an end in
 * wall-clock time. The emulator asks, per timeframe, which are in effect at that timeframe's start —
 * so links that share the run's clock switch a fault on the same timeframe.
 */
import { channelKey, type ChannelMap } from '../../../protocol/index.js';
import { DaqError } from '../../../protocol/errors.js';
import type { FaultSpec } from '../../../protocol/faults.js';
import type { EmulatorFaults } from './emulator.js';

/** Faults one readout holds at most (each injection adds one; a clear ends them, it does not add). */
export const MAX_FAULTS = 64;

interface Held {
  readonly spec: Exclude<FaultSpec, { kind: 'clear' }>;
  readonly fromMs: number;
  untilMs: number;
}

export class FaultBoard {
  private held: Held[] = [];

  constructor(
    private readonly map: ChannelMap,
    private readonly fpga: number,
    private readonly link: number,
  ) {}

  /**
   * Takes a fault. It starts at `atMs`, else `atSeconds` after `runStartMs`, else `nowMs`; a `clear`
   * ends every fault held from its start on. Throws TOO_MANY_FAULTS beyond MAX_FAULTS.
   */
  inject(spec: FaultSpec, runStartMs: number, nowMs: number): void {
    const from = spec.atMs ?? (spec.atSeconds === undefined ? nowMs : runStartMs + spec.atSeconds * 1000);
    if (spec.kind === 'clear') {
      for (const h of this.held) h.untilMs = Math.min(h.untilMs, from);
      this.held = this.held.filter((h) => h.untilMs > h.fromMs);
      return;
    }
    // Faults that have ended make room first.
    this.held = this.held.filter((h) => h.untilMs > nowMs);
    if (this.held.length >= MAX_FAULTS)
      throw new DaqError(
        'TOO_MANY_FAULTS',
        `link ${this.link} holds ${MAX_FAULTS} drill faults already; clear them first`,
      );
    const until = spec.durationSeconds === undefined ? Infinity : from + spec.durationSeconds * 1000;
    this.held.push({ spec, fromMs: from, untilMs: until });
  }

  /** Faults held (started or not yet), for the agent's answer and the tests. */
  get size(): number {
    return this.held.length;
  }

  /** Whether this link's front end is stalled at `tMs`. */
  stalledAt(tMs: number): boolean {
    return this.held.some(
      (h) =>
        h.spec.kind === 'stalled-link' && h.spec.link === this.link && h.fromMs <= tMs && tMs < h.untilMs,
    );
  }

  /** What the emulator does differently at `tMs` (later faults of one kind override earlier ones). */
  at(tMs: number): EmulatorFaults {
    const noisy: { key: number; rateHz: number }[] = [];
    const deadChambers = new Set<number>();
    let muonRateHz: number | undefined;
    let noiseRateHzPerChannel: number | undefined;
    for (const h of this.held) {
      if (tMs < h.fromMs || tMs >= h.untilMs) continue;
      const f = h.spec;
      if (f.kind === 'noisy-channel') {
        const ch = this.map.channelOf(f.chamber, f.layer, f.cell);
        if (ch !== undefined && ch.fpga === this.fpga)
          noisy.push({ key: channelKey(ch.fpga, ch.channel), rateHz: f.rateHz });
      } else if (f.kind === 'dead-chamber') deadChambers.add(f.chamber);
      else if (f.kind === 'rate-change') {
        muonRateHz = f.muonRateHz ?? muonRateHz;
        noiseRateHzPerChannel = f.noiseRateHzPerChannel ?? noiseRateHzPerChannel;
      }
    }
    return { noisy, deadChambers, muonRateHz, noiseRateHzPerChannel };
  }
}
