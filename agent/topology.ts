/**
 * What this node offers: NUMA nodes with their CPUs and memory (from /sys/devices/system/node; one node
 * when the kernel has no NUMA view), disks and NICs (systeminformation, with each NIC's NUMA node where
 * the kernel says), and readout devices from configuration. A topology file describes a simulated node
 * instead, so tests can run several differently shaped agents on one machine.
 */
import { DaqError } from '../protocol/errors.js';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { fail, readConfigFile, section, str, int, type Raw } from '../lib/config.js';
import type { NodeTopology, NumaNode } from '../protocol/agent-link.js';

/** Parses a kernel CPU list such as "0-3,8,10-11". */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-');
    const from = Number(a);
    const to = b === undefined ? from : Number(b);
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from)
      throw new DaqError('INVALID_CONFIG', `not a CPU list: "${text}"`, { field: 'cpulist' });
    for (let c = from; c <= to; c++) out.push(c);
  }
  return out;
}

export function formatCpuList(cpusList: readonly number[]): string {
  const sorted = [...new Set(cpusList)].sort((x, y) => x - y);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function numaFromSys(root = '/sys/devices/system/node'): NumaNode[] {
  if (!existsSync(root)) return [];
  const nodes: NumaNode[] = [];
  for (const d of readdirSync(root)) {
    const m = /^node(\d+)$/.exec(d);
    if (m === null) continue;
    const cpulist = parseCpuList(readFileSync(`${root}/${d}/cpulist`, 'utf8'));
    const meminfo = readFileSync(`${root}/${d}/meminfo`, 'utf8');
    const kb = /MemTotal:\s+(\d+) kB/.exec(meminfo)?.[1];
    nodes.push({ id: Number(m[1]), cpus: cpulist, memoryBytes: kb === undefined ? 0 : Number(kb) * 1024 });
  }
  return nodes.sort((a, b) => a.id - b.id);
}

function nicNuma(iface: string): number | undefined {
  try {
    const v = Number(readFileSync(`/sys/class/net/${iface}/device/numa_node`, 'utf8').trim());
    return v >= 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The real machine's topology. */
export async function discoverTopology(
  options: { node?: string; devices?: NodeTopology['devices'] } = {},
): Promise<NodeTopology> {
  let numa = numaFromSys();
  if (numa.length === 0) numa = [{ id: 0, cpus: cpus().map((_, i) => i), memoryBytes: totalmem() }];
  // systeminformation is large: loaded only when a real node is discovered.
  const { default: si } = await import('systeminformation');
  const [disks, nics] = await Promise.all([
    si.fsSize().catch(() => []),
    si.networkInterfaces().catch(() => []),
  ]);
  const nicList = (Array.isArray(nics) ? nics : [nics])
    .filter((n) => !n.internal)
    .map((n) => ({
      name: n.iface,
      speedMbps: typeof n.speed === 'number' && n.speed > 0 ? n.speed : undefined,
      numaNode: nicNuma(n.iface),
    }));
  return {
    node: options.node ?? hostname(),
    numa,
    memoryBytes: totalmem(),
    disks: disks.map((d) => ({ mount: d.mount, sizeBytes: d.size, freeBytes: d.available })),
    nics: nicList,
    devices: options.devices ?? [],
    simulated: false,
  };
}

/** A simulated node from a JSON/YAML file: `{ node, numa: [{id, cpus: "0-3", memoryGiB}], nics, devices }`. */
export function topologyFromFile(file: string): NodeTopology {
  const raw = readConfigFile(file);
  const p = 'topology';
  const numaRaw = raw['numa'];
  if (!Array.isArray(numaRaw) || numaRaw.length === 0) fail(`${p}.numa`, 'must list at least one NUMA node');
  const numa = numaRaw.map((n, i): NumaNode => {
    const e = section(n, `${p}.numa[${i}]`);
    let list: number[];
    try {
      list = parseCpuList(str(e, 'cpus', `${p}.numa[${i}]`));
    } catch (err) {
      fail(`${p}.numa[${i}].cpus`, (err as Error).message);
    }
    return {
      id: int(e, 'id', `${p}.numa[${i}]`, { min: 0, default: i }),
      cpus: list,
      memoryBytes: int(e, 'memoryGiB', `${p}.numa[${i}]`, { min: 0, default: 4 }) * 1024 ** 3,
    };
  });
  const all = numa.flatMap((n) => n.cpus);
  if (new Set(all).size !== all.length) fail(`${p}.numa`, 'lists a CPU in two NUMA nodes');
  const list = (key: string): Raw[] => {
    const v = raw[key] ?? [];
    if (!Array.isArray(v)) fail(`${p}.${key}`, 'must be a list');
    return v.map((x, i) => section(x, `${p}.${key}[${i}]`));
  };
  return {
    node: str(raw, 'node', p),
    numa,
    memoryBytes: numa.reduce((s, n) => s + n.memoryBytes, 0),
    disks: [],
    nics: list('nics').map((n, i) => ({
      name: str(n, 'name', `${p}.nics[${i}]`),
      numaNode: n['numaNode'] === undefined ? undefined : int(n, 'numaNode', `${p}.nics[${i}]`, { min: 0 }),
    })),
    devices: list('devices').map((d, i) => ({
      name: str(d, 'name', `${p}.devices[${i}]`),
      numaNode:
        d['numaNode'] === undefined ? undefined : int(d, 'numaNode', `${p}.devices[${i}]`, { min: 0 }),
      links: d['links'] === undefined ? [] : (d['links'] as number[]),
    })),
    simulated: true,
  };
}

export function formatTopology(t: NodeTopology): string {
  const lines = [
    `node ${t.node}${t.simulated ? ' (simulated)' : ''}: ${(t.memoryBytes / 1024 ** 3).toFixed(1)} GiB`,
  ];
  for (const n of t.numa)
    lines.push(
      `  NUMA ${n.id}: CPUs ${formatCpuList(n.cpus)}, ${(n.memoryBytes / 1024 ** 3).toFixed(1)} GiB`,
    );
  for (const n of t.nics)
    lines.push(
      `  NIC ${n.name}${n.speedMbps === undefined ? '' : ` ${n.speedMbps} Mb/s`}${n.numaNode === undefined ? '' : `, NUMA ${n.numaNode}`}`,
    );
  for (const d of t.disks)
    lines.push(
      `  disk ${d.mount}: ${(d.freeBytes / 1024 ** 3).toFixed(1)} of ${(d.sizeBytes / 1024 ** 3).toFixed(1)} GiB free`,
    );
  for (const d of t.devices)
    lines.push(
      `  device ${d.name}${d.numaNode === undefined ? '' : `, NUMA ${d.numaNode}`}, links ${d.links.join(',')}`,
    );
  return lines.join('\n');
}
