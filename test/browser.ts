/**
 * Headless Chromium for the HTML report tests (and the docs screenshots): Debian's chromium at
 * /usr/bin/chromium driven by puppeteer-core (which downloads no browser). Offline: no QUIC, no
 * background networking, no component updates, a fresh profile directory per launch.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** A launched browser and the way to close it (browser, then its profile directory). */
export interface Chromium {
  browser: Browser;
  close(): Promise<void>;
}

/** Launches headless Chromium. Throws, naming the fix, when /usr/bin/chromium is missing. */
export async function launchChromium(): Promise<Chromium> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get update && apt-get install -y chromium); .ci/run does this`);
  const profile = mkdtempSync(path.join(os.tmpdir(), 'gatectl-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
    timeout: 30_000,
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** An opened page and what went wrong on it: console errors, page errors and requests that left file:// or failed. */
export interface OpenedReport {
  page: Page;
  errors: string[];
  requests: string[];
}

/**
 * Opens an HTML file from disk (file://) at `width` × `height` and waits until the report says every
 * chart is drawn (`data-charts-ready` on `<html>`).
 */
export async function openReport(c: Chromium, file: string, width = 1280, height = 900): Promise<OpenedReport> {
  const page = await c.browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.setViewport({ width, height });
  await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: 'load', timeout: 30_000 });
  await page.waitForSelector('html[data-charts-ready]', { timeout: 15_000 });
  return { page, errors, requests };
}
