/**
 * Several nodes on one machine, each in its own Linux network namespace (docs/multi-node.md): a bridge in
 * the root namespace carries a /24; the platform and the broker listen on the bridge's address, and each
 * node namespace reaches them over its own veth pair — real separate interfaces, no loopback between
 * them. A partition is the node's veth taken down on the bridge side; healing brings it up again.
 *
 * Needs root (CI runs as root). Every name carries a random id, so parallel runs and a run that failed
 * half-way never collide; `remove()` deletes the namespaces (and with them their veth ends) and the
 * bridge, also after a failure.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NetworkNode {
  readonly name: string;
  /** The namespace to run the node's processes in (`ip netns exec <ns> …`). */
  readonly namespace: string;
  readonly address: string;
  /** The veth end on the bridge: down is the node cut off. */
  readonly link: string;
}

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

/** Whether namespaces and veth pairs can be made here (root, iproute2, a kernel that allows them). */
export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `dqprobe${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return true;
  } catch {
    return false;
  }
}

export class NodeNetwork {
  /** The address the platform and the broker listen on. */
  readonly hubAddress: string;
  readonly nodes: NetworkNode[] = [];
  private readonly id = randomBytes(2).toString('hex');
  private readonly bridge: string;
  private readonly subnet: string;

  constructor(subnetThirdOctet = 100 + Math.floor(Math.random() * 100)) {
    this.subnet = `10.213.${subnetThirdOctet}`;
    this.hubAddress = `${this.subnet}.1`;
    this.bridge = `dqbr${this.id}`;
  }

  /** The bridge and its address; call `remove()` in a `finally` even when this throws. */
  create(): this {
    ip('link', 'add', this.bridge, 'type', 'bridge');
    ip('addr', 'add', `${this.hubAddress}/24`, 'dev', this.bridge);
    ip('link', 'set', this.bridge, 'up');
    return this;
  }

  /** A node namespace with its own address on the bridge. */
  addNode(name: string): NetworkNode {
    const i = this.nodes.length + 1;
    const node: NetworkNode = {
      name,
      namespace: `dq-${this.id}-${name}`,
      address: `${this.subnet}.${10 + i}`,
      link: `dq${this.id}n${i}`,
    };
    this.nodes.push(node);
    ip('netns', 'add', node.namespace);
    ip('link', 'add', node.link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.namespace);
    ip('link', 'set', node.link, 'master', this.bridge);
    ip('link', 'set', node.link, 'up');
    ip('-n', node.namespace, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0');
    ip('-n', node.namespace, 'link', 'set', 'eth0', 'up');
    ip('-n', node.namespace, 'link', 'set', 'lo', 'up');
    return node;
  }

  /** Cuts a node off (its link down), or heals it. */
  setLink(node: NetworkNode, up: boolean): void {
    ip('link', 'set', node.link, up ? 'up' : 'down');
  }

  /** The argv prefix that runs a program inside a node's namespace. */
  exec(node: NetworkNode): string[] {
    return ['ip', 'netns', 'exec', node.namespace];
  }

  /** Deletes every namespace (their veth pairs go with them) and the bridge; never throws. */
  remove(): void {
    for (const n of this.nodes) {
      try {
        ip('netns', 'del', n.namespace);
      } catch {
        // already gone
      }
    }
    try {
      ip('link', 'del', this.bridge);
    } catch {
      // already gone
    }
  }
}
