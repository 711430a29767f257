/**
 * What this node offers: NUMA nodes with their CPUs and memory (from /sys/devices/system/node; one node
 * when the kernel has no NUMA view), disks and NICs (systeminformation, with each NIC's NUMA node where
 * the kernel says), and readout devices from configuration. A topology file describes a simulated node
 * instead, so tests can run several differently shaped agents on one machine.
 */
import { DaqError } from '../protocol/errors.js';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
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

/** What this process may use, as the kernel says: its CPU and memory-node affinity, its cgroup's memory limit. */
export interface Confinement {
  /** `Cpus_allowed_list` of /proc/self/status (taskset, a cgroup cpuset). */
  readonly cpus?: readonly number[] | undefined;
  /** `Mems_allowed_list`: the NUMA nodes it may take memory from. */
  readonly mems?: readonly number[] | undefined;
  /** The tightest memory limit of its cgroup and the cgroups above it, and where it was read. */
  readonly memory?: { readonly bytes: number; readonly file: string } | undefined;
}

/** The CPU and memory-node lists from a /proc/<pid>/status text (absent where the kernel does not say). */
export function affinityFromStatus(status: string): Pick<Confinement, 'cpus' | 'mems'> {
  const list = (key: string): number[] | undefined => {
    const m = new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(status);
    return m === null ? undefined : parseCpuList(m[1]!);
  };
  return { cpus: list('Cpus_allowed_list'), mems: list('Mems_allowed_list') };
}

/**
 * The memory limit of this process's cgroup: the smallest `memory.max` (cgroup v2) or
 * `memory.limit_in_bytes` (v1) from its own cgroup up to the root, as a limit on a parent binds too.
 */
export function cgroupMemoryLimit(
  cgroupText: string,
  root = '/sys/fs/cgroup',
): { bytes: number; file: string } | undefined {
  let best: { bytes: number; file: string } | undefined;
  const consider = (file: string, unlimitedAbove: number): void => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch {
      return;
    }
    const bytes = Number(text);
    if (text === 'max' || !Number.isFinite(bytes) || bytes <= 0 || bytes >= unlimitedAbove) return;
    if (best === undefined || bytes < best.bytes) best = { bytes, file };
  };
  for (const line of cgroupText.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (m === null) continue;
    const [, hierarchy, controllers, path] = m;
    const v2 = hierarchy === '0' && controllers === '';
    if (!v2 && !controllers!.split(',').includes('memory')) continue;
    const base = v2 ? root : join(root, 'memory');
    const parts = path!.split('/').filter((x) => x !== '' && x !== '..');
    // v1 reports "no limit" as a page-rounded LONG_MAX; anything past 2^60 bytes is that.
    for (let i = parts.length; i >= 0; i--)
      consider(join(base, ...parts.slice(0, i), v2 ? 'memory.max' : 'memory.limit_in_bytes'), 2 ** 60);
  }
  return best;
}

/** This process's confinement, read from /proc and the cgroup filesystem; whatever cannot be read is absent. */
export function readConfinement(proc = '/proc/self', cgroupRoot = '/sys/fs/cgroup'): Confinement {
  const read = (f: string): string => {
    try {
      return readFileSync(join(proc, f), 'utf8');
    } catch {
      return '';
    }
  };
  return { ...affinityFromStatus(read('status')), memory: cgroupMemoryLimit(read('cgroup'), cgroupRoot) };
}

/**
 * The NUMA layout cut to what the confinement allows (docs/agent.md "What the agent offers"): each NUMA
 * node keeps the CPUs the affinity allows; one left without CPU, or whose memory the process may not
 * take, is not offered; when the cgroup limit is below the memory left, each node's share shrinks in
 * proportion. Returns the reasons, empty when the machine is offered whole.
 */
export function confine(numa: readonly NumaNode[], c: Confinement): { numa: NumaNode[]; because: string[] } {
  const because: string[] = [];
  const allowed = c.cpus === undefined ? undefined : new Set(c.cpus);
  const mems = c.mems === undefined ? undefined : new Set(c.mems);
  let out = numa.map((n) => ({
    ...n,
    cpus: allowed === undefined ? n.cpus : n.cpus.filter((x) => allowed.has(x)),
  }));
  const machineCpus = numa.reduce((s, n) => s + n.cpus.length, 0);
  const cpusLeft = out.reduce((s, n) => s + n.cpus.length, 0);
  if (cpusLeft < machineCpus)
    because.push(
      `CPU affinity ${formatCpuList(c.cpus ?? [])} allows ${cpusLeft} of the machine's ${machineCpus} CPUs`,
    );
  const before = out.length;
  out = out.filter((n) => n.cpus.length > 0 && (mems === undefined || mems.has(n.id)));
  if (out.length < before)
    because.push(
      `NUMA node(s) ${numa
        .filter((n) => !out.some((o) => o.id === n.id))
        .map((n) => n.id)
        .join(
          ', ',
        )} not offered (no allowed CPU, or memory not allowed: Mems_allowed_list ${formatCpuList(c.mems ?? [])})`,
    );
  const memory = out.reduce((s, n) => s + n.memoryBytes, 0);
  if (c.memory !== undefined && c.memory.bytes < memory) {
    const share = c.memory.bytes / memory;
    out = out.map((n) => ({ ...n, memoryBytes: Math.floor(n.memoryBytes * share) }));
    because.push(
      `memory limited to ${(c.memory.bytes / 1024 ** 3).toFixed(1)} GiB by ${c.memory.file} (the NUMA nodes offer ${(memory / 1024 ** 3).toFixed(1)} GiB)`,
    );
  }
  return { numa: out, because };
}

/**
 * The real machine's topology, cut to what this process may use (`confinement`: read from /proc/self and
 * the cgroup filesystem unless given): under taskset or in a container with a cpuset, the agent offers
 * only those CPUs, and never more memory than its cgroup allows.
 */
export async function discoverTopology(
  options: { node?: string; devices?: NodeTopology['devices']; confinement?: Confinement } = {},
): Promise<NodeTopology> {
  let machine = numaFromSys();
  if (machine.length === 0) machine = [{ id: 0, cpus: cpus().map((_, i) => i), memoryBytes: totalmem() }];
  const offer = confine(machine, options.confinement ?? readConfinement());
  if (offer.numa.length === 0)
    throw new DaqError(
      'INVALID_CONFIG',
      `this process may use no CPU of any NUMA node: ${offer.because.join('; ')}`,
      { field: 'affinity' },
    );
  const numa = offer.numa;
  const machineMemoryBytes = totalmem();
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
    memoryBytes: Math.min(
      machineMemoryBytes,
      numa.reduce((s, n) => s + n.memoryBytes, 0),
    ),
    disks: disks.map((d) => ({ mount: d.mount, sizeBytes: d.size, freeBytes: d.available })),
    nics: nicList,
    devices: options.devices ?? [],
    simulated: false,
    restricted:
      offer.because.length === 0
        ? undefined
        : {
            machineCpus: machine.reduce((s, n) => s + n.cpus.length, 0),
            machineMemoryBytes,
            because: offer.because,
          },
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
      links: linkList(d['links'], `${p}.devices[${i}].links`),
    })),
    simulated: true,
  };
}

function linkList(v: unknown, path: string): number[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(path, 'must be a list of link numbers');
  return v.map((l, i): number => {
    if (typeof l !== 'number' || !Number.isInteger(l) || l < 0)
      fail(`${path}[${i}]`, 'must be a link number');
    return l;
  });
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
  if (t.restricted !== undefined)
    lines.push(
      `  offered less than the machine (${t.restricted.machineCpus} CPUs, ${(t.restricted.machineMemoryBytes / 1024 ** 3).toFixed(1)} GiB): ${t.restricted.because.join('; ')}`,
    );
  return lines.join('\n');
}
