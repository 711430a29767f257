/**
 * CPU and NUMA-memory placement of workload processes (seed 000: "readout applications need to be locked
 * on specific resources … CPU and RAM in the same NUMA region"). The process is started through numactl
 * (cores + memory node) or, without numactl, taskset (cores only); what it really got is read back from
 * /proc/<pid>/status.
 */
import { spawnSync } from 'node:child_process';
import { DaqError } from '../protocol/errors.js';
import { readFileSync } from 'node:fs';
import { formatCpuList } from './topology.js';

export interface Placement {
  readonly cpus: readonly number[];
  readonly memoryNode?: number | undefined;
}

export interface PinningTools {
  readonly numactl: boolean;
  readonly taskset: boolean;
}

export function detectPinningTools(): PinningTools {
  const works = (cmd: string, args: string[]): boolean => {
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    return r.error === undefined && r.status === 0;
  };
  // numactl must also be able to bind memory here (it fails without NUMA support in the kernel).
  return {
    numactl: works('numactl', ['--membind=0', '--', 'true']),
    taskset: works('taskset', ['-c', '0', 'true']),
  };
}

export interface PinnedCommand {
  readonly argv: readonly string[];
  readonly memoryBound: boolean;
  /** Why placement is weaker than asked, for a Warning ERS issue. */
  readonly warning?: string;
}

/** The argv that starts `argv` with the placement applied (never a shell). */
export function pinnedArgv(argv: readonly string[], p: Placement, tools: PinningTools): PinnedCommand {
  if (p.cpus.length === 0) {
    // A shared task (`cores: 0`): no cores of its own; it runs on any core of its NUMA node, with its
    // memory there too (docs/decisions.md).
    if (p.memoryNode === undefined) return { argv, memoryBound: false };
    if (tools.numactl)
      return {
        argv: ['numactl', `--cpunodebind=${p.memoryNode}`, `--membind=${p.memoryNode}`, '--', ...argv],
        memoryBound: true,
      };
    return {
      argv,
      memoryBound: false,
      warning: `numactl unavailable: shared task not bound to NUMA node ${p.memoryNode}`,
    };
  }
  const cpuList = formatCpuList(p.cpus);
  if (tools.numactl) {
    const mem = p.memoryNode === undefined ? [] : [`--membind=${p.memoryNode}`];
    return {
      argv: ['numactl', `--physcpubind=${cpuList}`, ...mem, '--', ...argv],
      memoryBound: p.memoryNode !== undefined,
    };
  }
  if (tools.taskset) {
    return {
      argv: ['taskset', '-c', cpuList, ...argv],
      memoryBound: false,
      ...(p.memoryNode === undefined
        ? {}
        : { warning: `numactl unavailable: CPUs ${cpuList} pinned, memory node ${p.memoryNode} not bound` }),
    };
  }
  return {
    argv,
    memoryBound: false,
    warning: `neither numactl nor taskset available: CPUs ${cpuList} not pinned`,
  };
}

/** The CPUs and memory nodes a live process may use, from the kernel. */
export function readPlacement(pid: number): { cpus: string; mems: string } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const cpus = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
    const mems = /^Mems_allowed_list:\s*(\S+)/m.exec(status)?.[1];
    return cpus === undefined || mems === undefined ? undefined : { cpus, mems };
  } catch {
    return undefined;
  }
}

export interface VerifiedPlacement {
  readonly ok: boolean;
  readonly cpus: string | undefined;
  readonly mems: string | undefined;
  /** The process's memory policy, e.g. "bind:0" or "default". */
  readonly memoryPolicy: string | undefined;
  readonly problem?: string;
}

/** Checks a live process got exactly the CPUs asked and, when memory was bound, the bind policy. */
export function verifyPlacement(pid: number, p: Placement, memoryBound: boolean): VerifiedPlacement {
  const actual = readPlacement(pid);
  const memoryPolicy = readMemoryPolicy(pid);
  if (actual === undefined)
    return { ok: false, cpus: undefined, mems: undefined, memoryPolicy, problem: `process ${pid} is gone` };
  const want = formatCpuList(p.cpus);
  if (p.cpus.length > 0 && actual.cpus !== want) {
    return { ok: false, ...actual, memoryPolicy, problem: `CPUs ${actual.cpus} instead of ${want}` };
  }
  if (memoryBound && p.memoryNode !== undefined && memoryPolicy !== `bind:${p.memoryNode}`) {
    return {
      ok: false,
      ...actual,
      memoryPolicy,
      problem: `memory policy ${memoryPolicy ?? 'unknown'} instead of bind:${p.memoryNode}`,
    };
  }
  return { ok: true, ...actual, memoryPolicy };
}

/** The memory policy of a live process (from /proc/<pid>/numa_maps, first mapping), e.g. "bind:0". */
export function readMemoryPolicy(pid: number): string | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/numa_maps`, 'utf8')
      .split('\n')
      .find((l) => l.trim() !== '');
    return first?.split(/\s+/)[1];
  } catch {
    return undefined;
  }
}

/** A task is pinned to no CPU the node does not offer (its topology, cut to the agent's affinity). */
export function checkOffered(
  key: string,
  cpus: readonly number[],
  node: string,
  offered?: readonly number[],
): void {
  const outside = offered === undefined ? [] : cpus.filter((c) => !offered.includes(c));
  if (outside.length > 0)
    throw new DaqError(
      'INVALID_CONFIG',
      `task ${key}: CPU(s) ${outside.join(', ')} are not offered by ${node} (it offers ${offered!.join(', ')})`,
      { field: 'cpus' },
    );
}
