/** Opens a report.html in Debian's Chromium (driven by playwright-core, nothing downloaded) and
 * reads back what a person would see: errors, charts drawn, pixels on each canvas, the checks
 * table and the traffic graph's edges. */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots for a person to look at, outside the checkout: `npm test` must leave `git status`
 * and the working tree as they were. MESHLOAD_SCREENSHOTS picks the folder (a CI artifact). */
export const SCREENSHOTS = process.env.MESHLOAD_SCREENSHOTS ?? join(tmpdir(), `meshload-screenshots-${process.pid}`);

/** Fails, never skips, without the browser: CI installs it, and a skipped test proves nothing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: the HTML report tests need a real browser (apt-get install -y chromium; .ci/run installs it)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
  });
}

export interface OpenedReport {
  page: Page;
  /** console.error messages and uncaught page errors. */
  errors: string[];
  /** Requests for anything but the file itself: a self-contained page makes none. */
  external: string[];
}

export async function openReport(browser: Browser, file: string): Promise<OpenedReport> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const external: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (!request.url().startsWith('file:')) external.push(request.url());
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction('document.body.dataset.chartsDrawn !== undefined', undefined, { timeout: 20_000 });
  return { page, errors, external };
}

export interface ChartState {
  drawn: number;
  containers: number;
  /** Per chart container: its canvases' count of coloured pixels (series, not the grey grid). */
  colouredPixels: Array<{ id: string; canvases: number; coloured: number }>;
}

/** Axes, grid and phase bands are grey; only the series are saturated colours, so a canvas with
 * saturated pixels has data drawn on it. */
export async function chartState(page: Page): Promise<ChartState> {
  return page.evaluate<ChartState>(`(() => {
    const charts = Array.from(document.querySelectorAll('.chart'));
    return {
      drawn: Number(document.body.dataset.chartsDrawn),
      containers: charts.length,
      colouredPixels: charts.map((chart) => {
        const canvases = Array.from(chart.querySelectorAll('canvas'));
        let coloured = 0;
        for (const canvas of canvases) {
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] > 0 && Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 40) coloured++;
          }
        }
        return { id: chart.id, canvases: canvases.length, coloured };
      }),
    };
  })()`);
}

/** The checks table as shown: [expression, verdict, path] per row, in order. */
export async function checkRows(page: Page): Promise<string[][]> {
  return page.evaluate<string[][]>(`Array.from(document.querySelectorAll('#checks tbody tr')).map((tr) => [tr.querySelector('.expression').textContent, tr.dataset.verdict, tr.dataset.path])`);
}

/** Each traffic graph of a source: [subset, share] per edge. */
export async function trafficEdges(page: Page, source: 'versions' | 'subsets'): Promise<string[][][]> {
  return page.evaluate<string[][][]>(
    `Array.from(document.querySelectorAll('svg.traffic-graph[data-source="${source}"]')).map((svg) => Array.from(svg.querySelectorAll('[data-subset]')).map((g) => [g.dataset.subset, g.dataset.share]))`,
  );
}

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
