/**
 * The one place environment variables are read. Each variable daqops understands is declared here with
 * what it means; everything else takes typed values from these helpers.
 */
import { DaqError } from '../protocol/errors.js';

export const environmentVariables = {
  DAQOPS_KAFKA_BROKERS:
    'Comma-separated host:port list of an existing Kafka cluster; when set, daqops starts no broker.',
  DAQOPS_HOME: 'Directory for daqops state (local broker pid file, …); default: .daqops in the project root.',
  DAQOPS_KAFKA_HEAP: 'Java heap for the local broker, e.g. 1g; default 768m.',
  DAQOPS_JOIN_TOKEN: 'Token an agent presents to join the platform.',
  DAQOPS_TOKEN: 'Bearer token the daqops env/run commands present to the platform API.',
  DAQOPS_PAGE_URL: 'Where the platform pages on-call (a PagerDuty-Events-v2-like webhook); unset: no pages.',
  DAQOPS_GRAFANA_URL: 'Where Grafana serves the daqops dashboards; the web page links to them when set.',
  DAQOPS_KAFKA_DEBUG:
    "librdkafka debug contexts for daqops's consumer-group members, e.g. cgrp,fetch; their lines go to the client log at debug level (unset: none).",
  DAQOPS_KAFKA_REPLICATION:
    'Copies of each namespace topic daqops creates (1–9; default: the brokers the cluster lists, at most 3).',
  DAQOPS_KAFKA_MIN_INSYNC:
    'In-sync copies a write to a namespace topic needs (min.insync.replicas; default: replication − 1, at least 1).',
  DAQOPS_HEAP_GROWING_PERCENT:
    "How far a daqops process's JavaScript heap grows past what a full collection left live before the next (default 20; 0: V8's own choice, up to 4×).",
} as const;

export type EnvironmentVariable = keyof typeof environmentVariables;

type Env = Readonly<Record<string, string | undefined>>;

export function envString(name: EnvironmentVariable, env: Env = process.env): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** An integer in [min, max], or undefined when unset; anything else fails naming the variable. */
export function envInteger(
  name: EnvironmentVariable,
  min: number,
  max: number,
  env: Env = process.env,
): number | undefined {
  const raw = envString(name, env);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new DaqError('INVALID_CONFIG', `${name}: "${raw}" is not an integer in [${min}, ${max}]`, {
      field: name,
    });
  return n;
}

/** host:port entries, validated so a typo fails at start naming the variable. */
export function envBrokerList(name: EnvironmentVariable, env: Env = process.env): string[] | undefined {
  const raw = envString(name, env);
  if (raw === undefined) return undefined;
  const brokers = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const b of brokers) {
    if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(b)) {
      throw new DaqError('INVALID_CONFIG', `${name}: "${b}" is not host:port`, { field: name });
    }
  }
  if (brokers.length === 0) throw new DaqError('INVALID_CONFIG', `${name} lists no broker`, { field: name });
  return brokers;
}
