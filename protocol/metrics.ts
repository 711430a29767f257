/**
 * Every Prometheus metric daqops exports, declared once. Code registers metrics from this list only
 * (lib/metrics), and dashboards and alerts are checked against it, so a renamed metric cannot silently
 * leave a panel or an alert empty.
 *
 * Conventions (tested): prefix `daq_`, base units, counters end in `_total`, durations in `_seconds`,
 * sizes in `_bytes`; labels come from a small bounded set — never a run number or an event id.
 */
import { DaqError } from './errors.js';

export const metricLabels = [
  'environment',
  'task',
  'link',
  'chamber',
  'layer',
  'reason',
  'topic',
  'partition',
  'state',
  'transition',
  'node',
  'result',
  'kind',
  'severity',
  'source',
  'target',
  'cell',
  'cpus',
] as const;
export type MetricLabel = (typeof metricLabels)[number];

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly MetricLabel[];
  /** Histogram bucket upper bounds, in the metric's base unit. */
  readonly buckets?: readonly number[];
}

/** −25 ns to 500 ns in steps of 25 ns: the drift window of event building (events.windowMinNs … windowMaxNs). */
const DRIFT_BUCKETS_SECONDS = Array.from({ length: 22 }, (_, i) => Math.round((i - 1) * 25) / 1e9);
const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const metricCatalogue = [
  // readout
  {
    name: 'daq_readout_hits_total',
    type: 'counter',
    help: 'Hit words sent to Kafka by a readout link.',
    labels: ['environment', 'task', 'link'],
  },
  {
    name: 'daq_readout_segments_total',
    type: 'counter',
    help: 'Segment words sent to Kafka by a readout link.',
    labels: ['environment', 'task', 'link'],
  },
  {
    name: 'daq_readout_bytes_total',
    type: 'counter',
    help: 'Payload bytes sent to Kafka by a readout link.',
    labels: ['environment', 'task', 'link'],
  },
  {
    name: 'daq_readout_subtimeframes_total',
    type: 'counter',
    help: 'Sub-timeframe messages acknowledged by Kafka.',
    labels: ['environment', 'task', 'link'],
  },
  {
    name: 'daq_readout_send_errors_total',
    type: 'counter',
    help: 'Failed sends to Kafka (retried or not).',
    labels: ['environment', 'task', 'link'],
  },
  {
    name: 'daq_readout_buffered_bytes',
    type: 'gauge',
    help: 'Memory a readout link holds in what it sent and Kafka has not acknowledged yet: bytes, headers and 2 KiB per record (bounded by its bufferBytes).',
    labels: ['environment', 'task', 'link'],
  },
  {
    name: 'daq_readout_backpressure_seconds_total',
    type: 'counter',
    help: 'Time a readout link paused its source because its buffer was full (Kafka slow or away).',
    labels: ['environment', 'task', 'link'],
  },
  {
    name: 'daq_readout_not_produced_hits_total',
    type: 'counter',
    help: 'Hits a real-time readout (the emulator) could not send because its buffer was full; in the run balance as not produced.',
    labels: ['environment', 'task', 'link'],
  },
  // the dataflow graph (Grafana's node graph, in the style of Tempo's service-graph metrics)
  {
    name: 'daq_dataflow_bytes_total',
    type: 'counter',
    help: 'Bytes moved along one edge of the dataflow (source → target: link-N → raw-hits → processors → events → writer), counted where the step is acknowledged.',
    labels: ['environment', 'task', 'source', 'target'],
  },
  // every stage's Kafka producer
  {
    name: 'daq_kafka_records_too_large_total',
    type: 'counter',
    help: 'Records larger than the broker accepts, set aside on the dead-letter topic with their reason.',
    labels: ['environment', 'task', 'topic'],
  },
  // processor
  {
    name: 'daq_processor_hits_total',
    type: 'counter',
    help: 'Valid hit words decoded by processors.',
    labels: ['environment', 'task', 'link'],
  },
  {
    name: 'daq_processor_bytes_total',
    type: 'counter',
    help: 'Raw payload bytes consumed by processors.',
    labels: ['environment', 'task', 'link'],
  },
  {
    name: 'daq_processor_corrupt_words_total',
    type: 'counter',
    help: 'Words that failed validation, by reason.',
    labels: ['environment', 'task', 'reason'],
  },
  {
    name: 'daq_processor_deadletter_total',
    type: 'counter',
    help: 'Records written to the dead-letter topic, by reason.',
    labels: ['environment', 'task', 'reason'],
  },
  {
    name: 'daq_processor_timeframes_total',
    type: 'counter',
    help: 'Timeframes processed.',
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_processor_timeframes_incomplete_total',
    type: 'counter',
    help: 'Timeframes processed without all links after the assembly timeout.',
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_processor_events_total',
    type: 'counter',
    help: 'Events built and acknowledged by Kafka.',
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_processor_consumer_lag_messages',
    type: 'gauge',
    help: 'Messages behind the partition high watermark.',
    labels: ['environment', 'task', 'topic', 'partition'],
  },
  {
    name: 'daq_processor_assembly_timeframes',
    type: 'gauge',
    help: 'Timeframes waiting in assembly: some links delivered, others not yet (grows while links drift apart).',
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_processor_assembly_bytes',
    type: 'gauge',
    help: 'Bytes of sub-timeframes held by timeframes waiting in assembly.',
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_processor_latency_seconds',
    type: 'histogram',
    help: 'Time from sub-timeframe production to its outputs being acknowledged.',
    labels: ['environment', 'task'],
    buckets: LATENCY_BUCKETS_SECONDS,
  },
  {
    name: 'daq_processor_channel_hits_total',
    type: 'counter',
    help: 'Hits per chamber, layer and cell (occupancy; a DT chamber has 4 layers of at most 32 cells).',
    labels: ['environment', 'chamber', 'layer', 'cell'],
  },
  {
    name: 'daq_processor_drift_time_seconds',
    type: 'histogram',
    help: "Drift time of the hits in events (hit time − the event's crossing time), the DT chamber's signature; sampled to at most 2000 hits per monitoring interval (the shape, not the count).",
    labels: ['environment', 'task'],
    buckets: DRIFT_BUCKETS_SECONDS,
  },
  {
    name: 'daq_processor_commit_errors_total',
    type: 'counter',
    help: 'Offset commits refused (a rebalance moved the partition); the new owner skips what was handled.',
    labels: ['environment', 'task'],
  },
  // data quality (agent/workloads/processor/data-quality.ts)
  {
    name: 'daq_dq_findings',
    type: 'gauge',
    help: 'Data-quality findings a processor holds now, by kind (noisy-channel, dead-chamber, …), link and chamber.',
    labels: ['environment', 'task', 'kind', 'link', 'chamber'],
  },
  {
    name: 'daq_dq_hit_rate_ratio',
    type: 'gauge',
    help: "Hit rate over the run's own baseline (1 = as at the start of the run), per second of detector time.",
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_dq_noise_rate_hz',
    type: 'gauge',
    help: 'Hits in no event per second of detector time (the noise level).',
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_dq_layer_efficiency_ratio',
    type: 'gauge',
    help: 'Fraction of the events crossing a chamber that have a hit in the layer.',
    labels: ['environment', 'task', 'chamber', 'layer'],
  },
  // agent
  { name: 'daq_agent_tasks', type: 'gauge', help: 'Tasks on this node by state.', labels: ['node', 'state'] },
  {
    name: 'daq_agent_task_restarts_total',
    type: 'counter',
    help: 'Task processes restarted after an unexpected exit.',
    labels: ['node', 'environment', 'task'],
  },
  {
    name: 'daq_agent_task_failures_total',
    type: 'counter',
    help: 'Tasks given up on after their restart cap.',
    labels: ['node', 'environment', 'task'],
  },
  {
    name: 'daq_agent_commands_total',
    type: 'counter',
    help: 'Task commands handled, by transition and result.',
    labels: ['node', 'transition', 'result'],
  },
  {
    name: 'daq_agent_command_duration_seconds',
    type: 'histogram',
    help: 'Time to carry out a task command.',
    labels: ['node', 'transition'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  {
    name: 'daq_agent_task_pinned_info',
    type: 'gauge',
    help: 'The cores each task runs on, as verified after its start (label cpus, e.g. "2,3"; "" when it shares the node).',
    labels: ['node', 'environment', 'task', 'cpus'],
  },
  {
    name: 'daq_agent_platform_connected',
    type: 'gauge',
    help: '1 while the link to the platform is up.',
    labels: ['node'],
  },
  {
    name: 'daq_agent_heartbeats_total',
    type: 'counter',
    help: 'Heartbeats sent to the platform.',
    labels: ['node'],
  },
  {
    name: 'daq_agent_ers_suppressed_total',
    type: 'counter',
    help: 'ERS issues held back by the throttle.',
    labels: ['node'],
  },
  {
    name: 'daq_agent_ers_published_total',
    type: 'counter',
    help: "ERS issues of the node's tasks published to their environment's Kafka <ns>.ers (ok) or dropped.",
    labels: ['node', 'result'],
  },
  {
    name: 'daq_agent_pinning_failures_total',
    type: 'counter',
    help: 'Tasks whose CPUs or memory node did not match what was asked.',
    labels: ['node', 'environment', 'task'],
  },
  // platform
  { name: 'daq_platform_environments', type: 'gauge', help: 'Environments by state.', labels: ['state'] },
  {
    name: 'daq_platform_feed_records_total',
    type: 'counter',
    help: "Records the platform folded from an environment's <ns>.monitoring, by kind (accounting, aggregate, unreadable).",
    labels: ['topic', 'kind'],
  },
  {
    name: 'daq_platform_feed_read_seconds',
    type: 'histogram',
    help: "Time one read of <ns>.monitoring took, from where the last one ended to the topic's end (the cost of a balance).",
    labels: ['topic'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  },
  {
    name: 'daq_platform_transition_duration_seconds',
    type: 'histogram',
    help: 'Time an environment transition took, by transition and result.',
    labels: ['transition', 'result'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  },
  {
    name: 'daq_platform_tasks',
    type: 'gauge',
    help: 'Tasks of all environments by state.',
    labels: ['state'],
  },
  {
    name: 'daq_platform_environment_state',
    type: 'gauge',
    help: "Each environment's state: 1 for the state it is in, 0 for the others (alerts join on it).",
    labels: ['environment', 'state'],
  },
  {
    name: 'daq_platform_run_number',
    type: 'gauge',
    help: 'The run number of each environment (0 before its first START_ACTIVITY).',
    labels: ['environment'],
  },
  {
    name: 'daq_platform_ers_issues_total',
    type: 'counter',
    help: "ERS issues read from the environments' <ns>.ers, by severity.",
    labels: ['environment', 'severity'],
  },
  {
    name: 'daq_platform_run_start_timestamp_seconds',
    type: 'gauge',
    help: 'When the current run of each environment started (Unix seconds; 0 between runs): its duration is time() minus this.',
    labels: ['environment'],
  },
  {
    name: 'daq_platform_incident_detect_seconds',
    type: 'histogram',
    help: 'Time from the first signal of a fault (its own time stamp) to its incident being open: time to detect.',
    labels: ['kind'],
    buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
  },
  {
    name: 'daq_platform_incident_resolve_seconds',
    type: 'histogram',
    help: 'Time from an incident opening to it resolving (by recovery and quiet, or by a human): time to recover.',
    labels: ['kind'],
    buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
  },
  {
    name: 'daq_platform_kafka_up',
    type: 'gauge',
    help: 'Whether a Kafka broker answers the platform (1) or none has for its last three checks (0).',
    labels: [],
  },
  {
    name: 'daq_platform_agents_connected',
    type: 'gauge',
    help: 'Agents connected to the platform.',
    labels: [],
  },
  {
    name: 'daq_platform_bus_records_total',
    type: 'counter',
    help: 'Control events and ERS issues the platform published to Kafka (result ok) or could not (dropped).',
    labels: ['kind', 'result'],
  },
  {
    name: 'daq_platform_signals_total',
    type: 'counter',
    help: 'Signals taken in by the incident correlator, by source (alertmanager, ers, agent, control).',
    labels: ['kind'],
  },
  {
    name: 'daq_platform_incidents',
    type: 'gauge',
    help: 'Incidents by state (open, acknowledged; resolved ones are not counted).',
    labels: ['state'],
  },
  {
    name: 'daq_platform_recovery_actions_total',
    type: 'counter',
    help: 'Runbook steps run on incidents, by action and result.',
    labels: ['kind', 'result'],
  },
  {
    name: 'daq_platform_pages_total',
    type: 'counter',
    help: 'Pages sent to the on-call webhook, by result.',
    labels: ['result'],
  },
  // writer
  {
    name: 'daq_writer_events_total',
    type: 'counter',
    help: 'Events stored by the writer (after de-duplication).',
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_writer_duplicate_events_total',
    type: 'counter',
    help: 'Events dropped as duplicates of stored ones.',
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_writer_bytes_total',
    type: 'counter',
    help: 'Bytes written to run files.',
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_writer_deadletter_total',
    type: 'counter',
    help: 'Event records the writer could not decode, set aside on the dead-letter topic.',
    labels: ['environment', 'task', 'reason'],
  },
  {
    name: 'daq_writer_commit_errors_total',
    type: 'counter',
    help: 'Offset commits the broker refused (tried again at the next flush).',
    labels: ['environment', 'task'],
  },
  {
    name: 'daq_writer_disk_free_bytes',
    type: 'gauge',
    help: 'Free bytes on the writer data directory filesystem.',
    labels: ['environment', 'task'],
  },
] as const satisfies readonly MetricSpec[];

export type MetricName = (typeof metricCatalogue)[number]['name'];

const byName: ReadonlyMap<string, MetricSpec> = new Map(metricCatalogue.map((m) => [m.name, m]));

export function metricSpec(name: MetricName): MetricSpec {
  const spec = byName.get(name);
  if (spec === undefined) throw new DaqError('INTERNAL', `metric ${name} is not in the catalogue`);
  return spec;
}

export function isCatalogued(name: string): boolean {
  return byName.has(name);
}
