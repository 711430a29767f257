/**
 * A real browser for the web page's tests: the system's Chromium (Debian `chromium`, installed by .ci/run)
 * driven by playwright-core — never a browser download. CHROMIUM_PATH overrides where it is.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export function chromiumPath(): string {
  const path = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  if (!existsSync(path))
    throw new Error(`no Chromium at ${path}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  return path;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in CI containers: Chromium's sandbox needs user namespaces that these do not give.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}
