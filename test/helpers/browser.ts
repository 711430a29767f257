/**
 * A real browser for the web page's tests: the system's Chromium (Debian `chromium`, installed by .ci/run)
 * driven by playwright-core — never a browser download. CHROMIUM_PATH overrides where it is.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

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

/**
 * Types `value` into a field and checks at once that the field holds it. A page that takes the field
 * away while the user types (a live refresh that rebuilds or moves it) fails here, saying so, rather
 * than ten seconds later on a message that never came.
 */
export async function fillField(page: Page, selector: string, value: string): Promise<void> {
  await page.fill(selector, value);
  const held = await page.inputValue(selector);
  if (held !== value)
    throw new Error(
      `${selector} holds ${JSON.stringify(held)} right after typing ${JSON.stringify(value)}: the page replaced the field under the user`,
    );
}

/**
 * Clicks and waits for the API call the click makes to be answered: the test waits for that event, not
 * for a time budget, and gets the status the page saw.
 */
export async function clickForResponse(
  page: Page,
  selector: string,
  method: string,
  path: RegExp,
): Promise<number> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && path.test(new URL(r.url()).pathname), {
      timeout: 120_000,
    }),
    page.click(selector),
  ]);
  return response.status();
}
