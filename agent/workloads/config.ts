/**
 * Workload configuration: documented defaults, then validation that names the field, then frozen
 * (the three steps of lib/config.ts). One file per workload kind would scatter the shared part;
 * the three kinds are small enough to read here together.
 */
import { parseFault, type FaultSpec } from '../../protocol/faults.js';
import { MAX_FAULTS } from './readout/faults.js';
import { DEFAULT_DATA_QUALITY, type DataQualityConfig } from './processor/data-quality-config.js';
import {
  CELLS_PER_LAYER,
  ChannelMap,
  DEFAULT_ORBITS_PER_TIMEFRAME,
  LAYERS_PER_CHAMBER,
  channelKey,
  packLocation,
  validateNamespace,
} from '../../protocol/index.js';
import type { DaqError } from '../../protocol/errors.js';
import { MAX_RECORD_BYTES } from '../../protocol/topics.js';
import {
  fail,
  freeze,
  int,
  intList,
  num,
  oneOf,
  optionalSection,
  optionalStr,
  section,
  str,
  type Raw,
} from '../../lib/config.js';
import { DEFAULT_KERNEL } from './processor/kernel.js';
import type { EmulatorPhysics } from './readout/emulator.js';

export const workloadKinds = ['readout', 'processor', 'writer'] as const;
export type WorkloadKind = (typeof workloadKinds)[number];

export interface CommonConfig {
  /** Environment (partition) name: a metric label and the ERS context. */
  readonly environment: string;
  /** Kafka topic namespace: topics are `<namespace>.raw-hits`, … */
  readonly namespace: string;
  /** Task name, unique in the environment: a metric label. */
  readonly task: string;
  readonly run: number;
  readonly brokers: readonly string[];
  /** Port for this workload's own /metrics (0 = any free port); absent = none (the agent scrapes it). */
  readonly metricsPort: number | undefined;
  readonly orbitsPerTimeframe: number;
  readonly chambers: number;
  readonly map: ChannelMap;
  /**
   * Cells masked for this run (`maskedCells: [{chamber, layer, cell}]`, set by the platform at CONFIGURE):
   * the emulator never fires them and data quality does not judge them. Packed with packLocation.
   */
  readonly maskedCells: ReadonlySet<number>;
  /**
   * The placement generation this copy runs under (set by the platform at CONFIGURE; absent when run by
   * hand). The writer fences its run directory with it (writer/fence.ts).
   */
  readonly generation: number | undefined;
}

export interface EmulatorSource extends EmulatorPhysics {
  readonly type: 'emulator';
  readonly startTimeframe: number;
}

export interface ReplaySource {
  readonly type: 'replay';
  readonly file: string;
  readonly chunkBytes: number;
}

export interface TcpSource {
  readonly type: 'tcp';
  readonly host: string;
  readonly port: number;
}

export type ReadoutSource = EmulatorSource | ReplaySource | TcpSource;

export interface ReadoutConfig extends CommonConfig {
  readonly kind: 'readout';
  readonly link: number;
  /** The FPGA whose words the emulator emits (default: the link number). */
  readonly fpga: number;
  readonly source: ReadoutSource;
  readonly overlapNs: number;
  /** A sub-timeframe larger than this is split into parts (below the broker's message.max.bytes). */
  readonly maxMessageBytes: number;
  /** Bytes gathered into one send (librdkafka then cuts requests at the broker's limit). */
  readonly batchBytes: number;
  /**
   * Bytes sent but not yet acknowledged that the link may hold (its buffer while the broker is slow or
   * away); beyond it the source is paused: a TCP source stops reading, the emulator waits.
   */
  readonly bufferBytes: number;
  readonly compression: 'none' | 'gzip' | 'lz4' | 'zstd';
  readonly pacing: 'realtime' | 'max';
  /** Stop after this many timeframes (emulator) — absent: run until stopped. */
  readonly timeframes: number | undefined;
  /**
   * The run's time origin (wall-clock ms), the same for every link (the platform's START): timeframe n
   * of the run covers [epoch + n·T, epoch + (n+1)·T), so all links agree on timeframe numbers and stop
   * on the same one. Absent: the link's own start (stand-alone runs).
   */
  readonly epochMs: number | undefined;
  /** Append every sent main word to this file (replayable). */
  readonly record: string | undefined;
  readonly accountingIntervalMs: number;
  /** Drill faults of the emulator (protocol/faults.ts), each from `atSeconds` after the run's start. */
  readonly faults: readonly FaultSpec[];
}

export interface ProcessorConfig extends CommonConfig {
  readonly kind: 'processor';
  readonly links: readonly number[];
  readonly groupId: string;
  readonly assemblyTimeoutMs: number;
  readonly toleranceNs: number;
  readonly windowMinNs: number;
  readonly windowMaxNs: number;
  readonly driftBinNs: number;
  readonly minChambers: number;
  readonly monitoringIntervalMs: number;
  /** Events (and dead-letter words) of a timeframe are split into records of at most this many bytes. */
  readonly maxRecordBytes: number;
  readonly dataQuality: DataQualityConfig;
}

export interface WriterConfig extends CommonConfig {
  readonly kind: 'writer';
  readonly dataDir: string;
  readonly groupId: string;
  readonly flushEvents: number;
  readonly flushIntervalMs: number;
  readonly diskFreeIntervalMs: number;
}

export type WorkloadConfig = ReadoutConfig | ProcessorConfig | WriterConfig;

/** Validates a raw workload config of the given kind; `brokers` fills in when the file names none. */
export function parseWorkloadConfig(
  kind: WorkloadKind,
  raw: Raw,
  fallbackBrokers?: readonly string[],
): WorkloadConfig {
  const p = kind;
  const namespace = str(raw, 'namespace', p, { default: 'daq' });
  try {
    validateNamespace(namespace);
  } catch (err) {
    fail(`${p}.namespace`, (err as DaqError).message);
  }
  const brokersRaw = raw['brokers'] ?? fallbackBrokers;
  if (
    !Array.isArray(brokersRaw) ||
    brokersRaw.length === 0 ||
    brokersRaw.some((b) => typeof b !== 'string')
  ) {
    fail(
      `${p}.brokers`,
      'must list at least one host:port (or set DAQOPS_KAFKA_BROKERS, or run `daqops kafka up`)',
    );
  }
  const chambers = int(raw, 'chambers', p, { min: 1, max: 16, default: 4 });
  const common: CommonConfig = {
    environment: str(raw, 'environment', p, { default: namespace }),
    namespace,
    task: str(raw, 'task', p, { default: kind }),
    run: int(raw, 'run', p, { min: 0, default: 1 }),
    brokers: brokersRaw as string[],
    metricsPort:
      raw['metricsPort'] === undefined ? undefined : int(raw, 'metricsPort', p, { min: 0, max: 65535 }),
    orbitsPerTimeframe: int(raw, 'orbitsPerTimeframe', p, {
      min: 1,
      max: 1 << 20,
      default: DEFAULT_ORBITS_PER_TIMEFRAME,
    }),
    chambers,
    map: ChannelMap.testbed(chambers),
    maskedCells: parseMaskedCells(raw['maskedCells'], chambers, `${p}.maskedCells`),
    generation:
      raw['generation'] === undefined ? undefined : int(raw, 'generation', p, { min: 0, max: 2 ** 31 }),
  };
  if (kind === 'readout') return freeze(parseReadout(raw, common));
  if (kind === 'processor') return freeze(parseProcessor(raw, common));
  return freeze(parseWriter(raw, common));
}

/** The most cells one run may mask (every cell of 16 chambers). */
const MAX_MASKED_CELLS = 16 * LAYERS_PER_CHAMBER * CELLS_PER_LAYER;

function parseMaskedCells(raw: unknown, chambers: number, p: string): ReadonlySet<number> {
  if (raw === undefined) return new Set();
  if (!Array.isArray(raw)) fail(p, 'must be a list of {chamber, layer, cell}');
  if (raw.length > MAX_MASKED_CELLS) fail(p, `may list at most ${MAX_MASKED_CELLS} cells`);
  return new Set(
    raw.map((m, i) => {
      const e = section(m, `${p}[${i}]`);
      return packLocation({
        chamber: int(e, 'chamber', `${p}[${i}]`, { min: 0, max: chambers - 1 }),
        layer: int(e, 'layer', `${p}[${i}]`, { min: 1, max: LAYERS_PER_CHAMBER }),
        cell: int(e, 'cell', `${p}[${i}]`, { min: 1, max: CELLS_PER_LAYER }),
      });
    }),
  );
}

function parseReadout(raw: Raw, c: CommonConfig): ReadoutConfig {
  const p = 'readout';
  const link = int(raw, 'link', p, { min: 0, max: 4095 });
  const src = section(raw['source'] ?? { type: 'emulator' }, `${p}.source`);
  const sp = `${p}.source`;
  const type = oneOf(src, 'type', sp, ['emulator', 'replay', 'tcp'] as const, 'emulator');
  let source: ReadoutSource;
  if (type === 'emulator') {
    const maskedRaw = src['masked'] ?? [];
    if (!Array.isArray(maskedRaw)) fail(`${sp}.masked`, 'must be a list of {fpga, channel}');
    const masked = new Set<number>();
    maskedRaw.forEach((m, i) => {
      const e = section(m, `${sp}.masked[${i}]`);
      masked.add(
        channelKey(
          int(e, 'fpga', `${sp}.masked[${i}]`, { min: 0, max: 7 }),
          int(e, 'channel', `${sp}.masked[${i}]`, { min: 0, max: 511 }),
        ),
      );
    });
    // Cells the platform masked for the run: their channels, through this readout's channel map.
    for (const e of c.map.entries)
      if (c.maskedCells.has(packLocation(e))) masked.add(channelKey(e.fpga, e.channel));
    source = {
      type,
      muonRateHz: num(src, 'muonRateHz', sp, { min: 0, default: 1000 }),
      noiseRateHzPerChannel: num(src, 'noiseRateHzPerChannel', sp, { min: 0, default: 100 }),
      maxAngleDeg: num(src, 'maxAngleDeg', sp, { min: 0, max: 60, default: 20 }),
      chamberSpacingMm: num(src, 'chamberSpacingMm', sp, { min: 52, default: 200 }),
      layerEfficiency: num(src, 'layerEfficiency', sp, { min: 0, max: 1, default: 0.98 }),
      segmentJitterNs: num(src, 'segmentJitterNs', sp, { min: 0, max: 20, default: 2 }),
      masked,
      seed: int(src, 'seed', sp, { min: 0, default: 1 }),
      startTimeframe: int(src, 'startTimeframe', sp, { min: 0, default: 0 }),
    };
  } else if (type === 'replay') {
    source = {
      type,
      file: str(src, 'file', sp),
      chunkBytes: int(src, 'chunkBytes', sp, { min: 8, default: 4 << 20 }),
    };
  } else {
    source = {
      type,
      host: str(src, 'host', sp, { default: '127.0.0.1' }),
      port: int(src, 'port', sp, { min: 1, max: 65535 }),
    };
  }
  const maxMessageBytes = int(raw, 'maxMessageBytes', p, {
    min: 1024,
    max: MAX_RECORD_BYTES,
    default: 1 << 20,
  });
  const tfNs = c.orbitsPerTimeframe * 3564 * 25;
  const overlapNs = int(raw, 'overlapNs', p, { min: 0, default: 1000 });
  if (overlapNs >= tfNs / 2) fail(`${p}.overlapNs`, `must be below half a timeframe (${tfNs / 2} ns)`);
  const pacing = oneOf(raw, 'pacing', p, ['realtime', 'max'] as const, 'realtime');
  return {
    ...c,
    kind: 'readout',
    link,
    fpga: int(raw, 'fpga', p, { min: 0, max: 7, default: link }),
    source,
    overlapNs,
    maxMessageBytes,
    batchBytes: int(raw, 'batchBytes', p, { min: 1024, max: 64 << 20, default: 4 << 20 }),
    bufferBytes: int(raw, 'bufferBytes', p, {
      min: 1 << 20,
      max: 4 * 1024 ** 3,
      default: sourceCanWait(source, pacing) ? WAITING_SOURCE_BUFFER_BYTES : DETECTOR_BUFFER_BYTES,
    }),
    compression: oneOf(raw, 'compression', p, ['none', 'gzip', 'lz4', 'zstd'] as const, 'none'),
    pacing,
    timeframes: raw['timeframes'] === undefined ? undefined : int(raw, 'timeframes', p, { min: 1 }),
    epochMs: raw['epochMs'] === undefined ? undefined : int(raw, 'epochMs', p, { min: 0 }),
    record: optionalStr(raw, 'record', p),
    accountingIntervalMs: int(raw, 'accountingIntervalMs', p, { min: 50, default: 1000 }),
    faults: parseFaults(raw['faults'], c.chambers, `${p}.faults`),
  };
}

/**
 * A readout's default buffer (docs/data-path.md "Readout"): a live source (a board's TCP stream, the
 * emulator in real time) cannot wait for Kafka without losing data, so its buffer rides out an outage;
 * a source that waits at no cost (a replay, the emulator at pacing max) needs only enough in flight to
 * keep the producer busy, and a larger buffer would only fill whenever Kafka is slower than it.
 */
const DETECTOR_BUFFER_BYTES = 128 << 20;
const WAITING_SOURCE_BUFFER_BYTES = 16 << 20;

function sourceCanWait(source: ReadoutSource, pacing: 'realtime' | 'max'): boolean {
  return source.type === 'replay' || (source.type === 'emulator' && pacing === 'max');
}

function parseFaults(raw: unknown, chambers: number, p: string): FaultSpec[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) fail(p, 'must be a list of faults');
  if (raw.length > MAX_FAULTS) fail(p, `at most ${MAX_FAULTS} faults`);
  return raw.map((f, i) => {
    try {
      return parseFault(f, { chambers }, `${p}[${i}]`);
    } catch (err) {
      const e = err as DaqError;
      fail(e.field ?? `${p}[${i}]`, e.message.replace(/^[^:]*: /, ''));
    }
  });
}

function parseProcessor(raw: Raw, c: CommonConfig): ProcessorConfig {
  const p = 'processor';
  const k = optionalSection(raw, 'events', p);
  const windowMinNs = num(k, 'windowMinNs', `${p}.events`, { default: DEFAULT_KERNEL.windowMinNs });
  const windowMaxNs = num(k, 'windowMaxNs', `${p}.events`, { default: DEFAULT_KERNEL.windowMaxNs });
  if (windowMaxNs <= windowMinNs)
    fail(`${p}.events.windowMaxNs`, `must be above windowMinNs (${windowMinNs})`);
  const links = intList(raw, 'links', p, { default: [0, 1], min: 0, max: 4095 });
  if (links.length === 0) fail(`${p}.links`, 'must name at least one readout link');
  return {
    ...c,
    kind: 'processor',
    links,
    groupId: str(raw, 'groupId', p, { default: `${c.namespace}.processor` }),
    assemblyTimeoutMs: int(raw, 'assemblyTimeoutMs', p, { min: 10, default: 2000 }),
    toleranceNs: num(k, 'toleranceNs', `${p}.events`, { min: 0, default: DEFAULT_KERNEL.toleranceNs }),
    windowMinNs,
    windowMaxNs,
    driftBinNs: num(k, 'driftBinNs', `${p}.events`, { min: 1, default: DEFAULT_KERNEL.driftBinNs }),
    minChambers: int(k, 'minChambers', `${p}.events`, {
      min: 1,
      max: 16,
      default: DEFAULT_KERNEL.minChambers,
    }),
    monitoringIntervalMs: int(raw, 'monitoringIntervalMs', p, { min: 100, default: 1000 }),
    maxRecordBytes: int(raw, 'maxRecordBytes', p, { min: 1024, max: MAX_RECORD_BYTES, default: 1 << 20 }),
    dataQuality: parseDataQuality(optionalSection(raw, 'dataQuality', p), `${p}.dataQuality`),
  };
}

/** Data-quality thresholds (docs/data-quality.md); every one optional, each checked by name. */
function parseDataQuality(raw: Raw, p: string): DataQualityConfig {
  const d = DEFAULT_DATA_QUALITY;
  const known = new Set(Object.keys(d));
  for (const key of Object.keys(raw))
    if (!known.has(key)) fail(`${p}.${key}`, `unknown setting (known: ${[...known].join(', ')})`);
  const windowIntervals = int(raw, 'windowIntervals', p, { min: 1, max: 60, default: d.windowIntervals });
  return {
    windowIntervals,
    raiseAfter: int(raw, 'raiseAfter', p, { min: 1, max: 60, default: d.raiseAfter }),
    clearAfter: int(raw, 'clearAfter', p, { min: 1, max: 600, default: d.clearAfter }),
    noisyFactor: num(raw, 'noisyFactor', p, { min: 1.5, max: 1e6, default: d.noisyFactor }),
    noisyMinHz: num(raw, 'noisyMinHz', p, { min: 0, max: 1e9, default: d.noisyMinHz }),
    deadMinExpected: num(raw, 'deadMinExpected', p, { min: 1, max: 1e9, default: d.deadMinExpected }),
    baselineIntervals: int(raw, 'baselineIntervals', p, { min: 1, max: 600, default: d.baselineIntervals }),
    rateDriftFraction: num(raw, 'rateDriftFraction', p, {
      min: 0.01,
      max: 100,
      default: d.rateDriftFraction,
    }),
    noiseRiseFactor: num(raw, 'noiseRiseFactor', p, { min: 1.01, max: 1e6, default: d.noiseRiseFactor }),
    efficiencyMin: num(raw, 'efficiencyMin', p, { min: 0, max: 1, default: d.efficiencyMin }),
    efficiencyMinEvents: int(raw, 'efficiencyMinEvents', p, {
      min: 1,
      max: 1e9,
      default: d.efficiencyMinEvents,
    }),
    linkPresenceMin: num(raw, 'linkPresenceMin', p, { min: 0, max: 1, default: d.linkPresenceMin }),
  };
}

function parseWriter(raw: Raw, c: CommonConfig): WriterConfig {
  const p = 'writer';
  return {
    ...c,
    kind: 'writer',
    dataDir: str(raw, 'dataDir', p, { default: 'data' }),
    groupId: str(raw, 'groupId', p, { default: `${c.namespace}.writer` }),
    flushEvents: int(raw, 'flushEvents', p, { min: 1, max: 1_000_000, default: 5000 }),
    flushIntervalMs: int(raw, 'flushIntervalMs', p, { min: 10, default: 1000 }),
    diskFreeIntervalMs: int(raw, 'diskFreeIntervalMs', p, { min: 100, default: 5000 }),
  };
}
