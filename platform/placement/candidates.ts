/**
 * Where a placement request may go (docs/platform.md "Placement"): the links' boards, `near`, `numa`,
 * drained nodes; then which of the candidates that fit to take (spread by role, best fit). The ledger
 * (ledger.ts) holds the state and the locks; this is the choosing.
 */
import type { NodeTopology } from '../../protocol/agent-link.js';
import type { TaskTemplate } from '../workflow/template.js';
import type { PlacementRequest } from './ledger.js';

/** Where each advertised link ends: the node and device, and the device's NUMA node. */
export type LinkHomes = Map<number, { node: string; device: string; numaNode: number | undefined }[]>;

export interface NumaState {
  readonly id: number;
  readonly cpus: readonly number[];
  readonly memoryMiB: number;
  /** cpu → owner key "env/task" */
  readonly owner: Map<number, string>;
  usedMemoryMiB: number;
}

export interface NodeState {
  readonly topology: NodeTopology;
  readonly numa: Map<number, NumaState>;
}

/** Every link the registered nodes' devices carry, and where. */
export function linkHomes(nodes: ReadonlyMap<string, NodeState>): LinkHomes {
  const homes: LinkHomes = new Map();
  for (const [node, st] of nodes)
    for (const d of st.topology.devices)
      for (const l of d.links) {
        let at = homes.get(l);
        if (at === undefined) homes.set(l, (at = []));
        at.push({ node, device: d.name, numaNode: d.numaNode });
      }
  return homes;
}

/**
 * Where a request may go before fit is counted: the (node, NUMA node) pairs its links, `near` and
 * `numa` allow, and what fixed them; or why none can.
 */
export function candidatesOf(
  nodes: ReadonlyMap<string, NodeState>,
  cordoned: ReadonlySet<string>,
  r: PlacementRequest,
  homes: LinkHomes,
  avoid: string | undefined,
): { candidates: { node: string; numa: NumaState }[]; why: string[]; fixed: boolean } | string {
  const why: string[] = [];
  const links = r.links ?? [];
  const wired = links.filter((l) => homes.has(l));
  const unwired = links.filter((l) => !homes.has(l));
  // node → the NUMA nodes its boards put the links on (undefined: any)
  let allowed: Map<string, Set<number> | undefined> | undefined;
  if (wired.length > 0) {
    if (unwired.length > 0)
      return `link(s) ${unwired.join(', ')} on no node's board while link(s) ${wired.join(', ')} are wired (${describeHomes(wired, homes)})`;
    allowed = new Map();
    const [first, ...rest] = wired;
    for (const h of homes.get(first!)!) {
      if (h.node === avoid) continue;
      if (!rest.every((l) => homes.get(l)!.some((x) => x.node === h.node))) continue;
      const numas = wired.flatMap((l) =>
        homes
          .get(l)!
          .filter((x) => x.node === h.node)
          .map((x) => x.numaNode),
      );
      allowed.set(h.node, numas.some((n) => n === undefined) ? undefined : new Set(numas as number[]));
    }
    if (allowed.size === 0)
      return homes.get(first!)!.every((h) => h.node === avoid)
        ? `link(s) ${wired.join(', ')} are wired only to node ${avoid}, which it is leaving`
        : `link(s) ${wired.join(', ')} are on boards of different nodes (${describeHomes(wired, homes)})`;
    why.push(describeHomes(wired, homes, (n) => allowed!.has(n)));
  } else if (unwired.length > 0) {
    why.push(`link(s) ${unwired.join(', ')} on no registered node's board (emulated)`);
  }
  if (r.near !== undefined) {
    const near = new Map<string, Set<number> | undefined>();
    for (const [node, st] of nodes) {
      if (node === avoid) continue;
      const dev = st.topology.devices.find((d) => d.name === r.near);
      if (dev !== undefined) near.set(node, dev.numaNode === undefined ? undefined : new Set([dev.numaNode]));
    }
    if (near.size === 0) return `no node has device ${r.near}`;
    if (allowed !== undefined) {
      for (const node of [...allowed.keys()]) if (!near.has(node)) allowed.delete(node);
      if (allowed.size === 0) return `near ${r.near} contradicts its links: ${describeHomes(wired, homes)}`;
    } else {
      allowed = near;
      why.push(`near ${r.near}`);
    }
  }
  const candidates: { node: string; numa: NumaState }[] = [];
  for (const [node, st] of nodes) {
    if (node === avoid || cordoned.has(node)) continue;
    const numas = allowed === undefined ? undefined : allowed.get(node);
    if (allowed !== undefined && !allowed.has(node)) continue;
    for (const n of st.numa.values()) {
      if (numas !== undefined && !numas.has(n.id)) continue;
      if (r.numa !== undefined && n.id !== r.numa) continue;
      candidates.push({ node, numa: n });
    }
  }
  if (candidates.length === 0) {
    const drained = [...(allowed?.keys() ?? nodes.keys())].filter((n) => cordoned.has(n));
    if (drained.length > 0 && drained.length === (allowed?.size ?? nodes.size))
      return `every node it may go to is drained (${drained.join(', ')})`;
    if (r.numa !== undefined && allowed !== undefined)
      return `NUMA node ${r.numa} contradicts where it must go (${why.join('; ')})`;
    if (r.numa !== undefined) return `no node has NUMA node ${r.numa}`;
    return 'no node is registered';
  }
  if (r.numa !== undefined) why.push(`NUMA ${r.numa} as asked`);
  return { candidates, why, fixed: allowed !== undefined || r.numa !== undefined };
}

/** Tasks of each role per node, as an environment is placed. */
export class RoleCounts {
  private readonly counts = new Map<string, Map<string, number>>();

  add(role: string | undefined, node: string): void {
    if (role === undefined) return;
    let m = this.counts.get(role);
    if (m === undefined) this.counts.set(role, (m = new Map<string, number>()));
    m.set(node, (m.get(node) ?? 0) + 1);
  }

  count(role: string | undefined, node: string): number {
    return role === undefined ? 0 : (this.counts.get(role)?.get(node) ?? 0);
  }
}

/**
 * The candidate to take: the fewest tasks of the role on its node first when spreading, then the best fit
 * (fewest free cores that still fit), then by name for a stable answer. One pass, no sort: a control-plane
 * bench places 10,000 tasks over 100 nodes.
 */
export function pickBest<T extends { node: string; numa: NumaState }>(
  fitting: readonly T[],
  free: (x: T) => number,
  roleCount: (node: string) => number,
): T | undefined {
  const counts = new Map<string, number>();
  const countOf = (node: string): number => {
    let c = counts.get(node);
    if (c === undefined) counts.set(node, (c = roleCount(node)));
    return c;
  };
  const before = (a: T, b: T): boolean =>
    (countOf(a.node) - countOf(b.node) ||
      free(a) - free(b) ||
      a.node.localeCompare(b.node) ||
      a.numa.id - b.numa.id) < 0;
  let best: T | undefined;
  for (const x of fitting) if (best === undefined || before(x, best)) best = x;
  return best;
}

/** "link 1 → board-b on node-b (NUMA 0)", for each link, on the nodes `keep` allows. */
export function describeHomes(
  links: readonly number[],
  homes: LinkHomes,
  keep: (node: string) => boolean = () => true,
): string {
  return links
    .map((l) =>
      (homes.get(l) ?? [])
        .filter((h) => keep(h.node))
        .map(
          (h) =>
            `link ${l} → ${h.device} on ${h.node}${h.numaNode === undefined ? '' : ` (NUMA ${h.numaNode})`}`,
        )
        .join(', '),
    )
    .join(', ');
}

/** The placement request of a template's task. */
export function placementRequest(tt: TaskTemplate): PlacementRequest {
  return {
    task: tt.name,
    cores: tt.resources.cores,
    numa: tt.resources.numa,
    near: tt.resources.near,
    memoryMiB: tt.resources.memoryMiB,
    links: tt.resources.links,
    role: tt.role,
    spread: tt.placement === 'spread',
  };
}
