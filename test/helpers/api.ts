/** An in-process platform API on simulated agents, with one token per role (name = role's user). */
import { buildApi } from '../../platform/api/server.js';
import { Metrics } from '../../lib/metrics.js';
import { parseTokens } from '../../platform/api/auth.js';
import { Platform, type PlatformOptions } from '../../platform/platform.js';
import { PlatformStore } from '../../platform/store/store.js';
import { SimulatedDriver, simulatedNode } from './simulated-driver.js';

const TOKENS = parseTokens({
  tokens: [
    { token: 'viewer-token-0123456789', name: 'eve', role: 'viewer' },
    { token: 'shifter-token-0123456789', name: 'alice', role: 'shifter' },
    { token: 'expert-token-0123456789', name: 'bob', role: 'expert' },
    { token: 'admin-token-0123456789', name: 'root', role: 'admin' },
  ],
});
export const as = (role: string) => ({ authorization: `Bearer ${role}-token-0123456789` });

export function setup(more: Partial<PlatformOptions> = {}) {
  const store = new PlatformStore(':memory:');
  const metrics = new Metrics({ task: 'platform' }, { processMetrics: false });
  const driver = new SimulatedDriver();
  const platform = new Platform({
    metrics,
    store,
    driver,
    brokers: ['127.0.0.1:9092'],
    actions: { reconcile: () => Promise.resolve() },
    ...more,
  });
  platform.ledger.addNode(simulatedNode('n1', 2, 4));
  return {
    store,
    platform,
    driver,
    app: buildApi(platform, TOKENS, { metricsText: () => metrics.text() }),
  };
}
