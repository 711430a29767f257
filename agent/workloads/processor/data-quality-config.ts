/** The thresholds of data-quality detection (data-quality.ts; docs/data-quality.md): documented defaults a processor's configuration overrides by name. */
export interface DataQualityConfig {
  /** Intervals summed for each judgement (more statistics, slower detection). */
  readonly windowIntervals: number;
  readonly raiseAfter: number;
  readonly clearAfter: number;
  /** A channel is noisy above this many times its chamber's median rate … */
  readonly noisyFactor: number;
  /** … and above this rate (Hz of detector time). */
  readonly noisyMinHz: number;
  /** A silent channel (or chamber) is dead only if at least this many hits were expected in the window. */
  readonly deadMinExpected: number;
  /** Intervals averaged into the run's baseline, after the first one of the run. */
  readonly baselineIntervals: number;
  /** The hit rate drifted when it is off its baseline by more than this fraction. */
  readonly rateDriftFraction: number;
  /** The noise (hits in no event) rose when it is above this many times its baseline. */
  readonly noiseRiseFactor: number;
  /** A layer is inefficient below this fraction of events crossing its chamber with a hit in it … */
  readonly efficiencyMin: number;
  /** … judged only with at least this many such events in the window. */
  readonly efficiencyMinEvents: number;
  /** A link is silent when present in fewer than this fraction of the window's timeframes. */
  readonly linkPresenceMin: number;
}

export const DEFAULT_DATA_QUALITY: DataQualityConfig = {
  windowIntervals: 3,
  raiseAfter: 2,
  clearAfter: 3,
  noisyFactor: 5,
  noisyMinHz: 1000,
  deadMinExpected: 20,
  baselineIntervals: 5,
  rateDriftFraction: 0.5,
  noiseRiseFactor: 2,
  efficiencyMin: 0.7,
  efficiencyMinEvents: 50,
  linkPresenceMin: 0.5,
};
