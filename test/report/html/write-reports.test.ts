/** `meshload run` writes report.html beside the other reports; a renderer that throws costs only
 * the page, never the result. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../../helpers/cli';

const mockRender = jest.fn<string, unknown[]>();
jest.mock('../../../src/report/html/render-report', () => {
  const actual = jest.requireActual<typeof import('../../../src/report/html/render-report')>('../../../src/report/html/render-report');
  return { ...actual, renderReportHtml: (...args: unknown[]) => mockRender(...args) };
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-html-'));
  mockRender.mockReset();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function runSmallScenario(): Promise<{ code: number; stderr: string; report: string }> {
  const file = join(dir, 'small.yaml');
  writeFileSync(file, 'name: small\nserver: { port: 0 }\nphases:\n  - name: one\n    load: { connections: 1, qps: 0, requests: 10 }\n    expect: [ "calls == 10" ]\n');
  const run = await cli('run', file, '--report-dir', join(dir, 'reports'));
  const runs = readdirSync(join(dir, 'reports'));
  expect(runs).toHaveLength(1);
  return { code: run.code, stderr: run.stderr, report: join(dir, 'reports', runs[0] as string) };
}

describe('meshload run: report.html', () => {
  it('writes the page rendered from the result it wrote', async () => {
    const { renderReportHtml } = jest.requireActual<typeof import('../../../src/report/html/render-report')>('../../../src/report/html/render-report');
    mockRender.mockImplementation((...args: unknown[]) => renderReportHtml(...(args as Parameters<typeof renderReportHtml>)));
    const { code, report } = await runSmallScenario();
    expect(code).toBe(0);
    const html = readFileSync(join(report, 'report.html'), 'utf8');
    const written = JSON.parse(readFileSync(join(report, 'result.json'), 'utf8')) as unknown;
    expect(mockRender).toHaveBeenCalledTimes(1);
    expect(mockRender.mock.calls[0]?.[0]).toEqual(written);
    expect(mockRender.mock.calls[0]?.[1]).toEqual({ source: join(report, 'result.json') });
    expect(html).toContain('<tr data-verdict="pass" data-path="phases[0].expect[0]">');
  });

  it('still writes every other file when rendering throws, with a one-line warning', async () => {
    mockRender.mockImplementation(() => {
      throw new Error('chart exploded');
    });
    const { code, stderr, report } = await runSmallScenario();
    expect(code).toBe(0);
    expect(stderr).toContain('meshload: report.html not written: chart exploded\n');
    expect(existsSync(join(report, 'report.html'))).toBe(false);
    expect(readdirSync(report).sort()).toEqual(['junit.xml', 'phases', 'result.json', 'summary.md', 'summary.txt']);
  });
});
