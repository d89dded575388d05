/** `meshload report --serve PORT`: a browsable index of a reports folder, as `fortio report` has
 * one. `/` lists the runs (directories holding result.json) and the load JSON files at the top
 * (meshload's or Fortio's), newest first; `/run/<entry>/` renders the report page on the fly;
 * `/run/<dir>/<file>` and `/files/<path>` serve the raw files with their content types. Only
 * files under the root are served: a path with `..`, an empty or encoded-slash segment, or one
 * that resolves (through symlinks) outside the root is a 404. The listing and rendering are pure
 * functions; the server is the I/O edge. */
import { close, constants, createReadStream, fstat, open, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, sep } from 'node:path';
import { notOkCalls } from '../model/outcome';
import { Distribution } from '../metrics/distribution';
import { shownResultVerdict, type ScenarioResult, type ShownVerdict } from '../scenario/scenario-result';
import { MeshloadError } from '../util/errors';
import { httpUrl } from '../util/listen-address';
import { escapeHtml } from './compare/html';
import { renderReportHtml } from './html/render-report';
import { readResult, type ResultKind } from './read-result';

export interface IndexEntry {
  /** The directory or file name in the root: the URL segment. */
  id: string;
  kind: ResultKind | 'unreadable';
  name: string;
  /** ISO 8601; undefined when unreadable. */
  startTime: string | undefined;
  /** As reports show it: `no_checks` for a result that checked nothing, never PASS. */
  verdict: ShownVerdict | undefined;
  interrupted: boolean;
  phases: number;
  calls: number;
  /** Percent of calls not OK over every phase; undefined without calls. */
  errorRatePct: number | undefined;
  /** Corrected p99 of the run's only load, or of its worst phase (named); undefined without calls. */
  p99: { ms: number; phase: string | undefined } | undefined;
  checks: { passed: number; total: number };
  /** Why an entry could not be read, or the approximation note of a Fortio file. */
  note: string | undefined;
  /** For ordering when there is no start time. */
  mtimeMs: number;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.json': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.csv': 'text/csv; charset=utf-8',
};

export function contentTypeOf(file: string): string {
  const dot = file.lastIndexOf('.');
  return (dot < 0 ? undefined : CONTENT_TYPES[file.slice(dot).toLowerCase()]) ?? 'application/octet-stream';
}

/** URL path segments, decoded, or undefined when any is unsafe: `..`, `.`, empty (`//`, an
 * absolute path after a prefix), or holding a slash, backslash or NUL once decoded. The raw path
 * is split as sent, before any normalisation that would turn `/run/../x` into `/x`. */
export function safeSegments(rawPath: string): string[] | undefined {
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '' || segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return segments;
}

/** The real path of `segments` under `root` (itself a real path), or undefined when it does not
 * exist or resolves outside the root. */
export function insideRoot(root: string, segments: readonly string[]): string | undefined {
  let real: string;
  try {
    real = realpathSync(join(root, ...segments));
  } catch {
    return undefined;
  }
  return real === root || real.startsWith(root + sep) ? real : undefined;
}

/** Reads result files only when they changed: an index view re-reads nothing it has seen. */
export class IndexCache {
  private readonly entries = new Map<string, { key: string; entry: IndexEntry }>();

  entry(file: string, stats: Stats, read: () => IndexEntry | undefined): IndexEntry | undefined {
    const key = `${stats.mtimeMs}:${stats.size}`;
    const cached = this.entries.get(file);
    if (cached?.key === key) return cached.entry;
    const entry = read();
    if (entry !== undefined) this.entries.set(file, { key, entry });
    return entry;
  }
}

/** The worst corrected p99 over the phases with calls; the phase is named when there are several. */
function worstP99(result: ScenarioResult): IndexEntry['p99'] {
  const measured = result.phases.flatMap((p) => (p.load !== undefined && p.load !== null && p.load.latency.count > 0 ? [{ name: p.name, ms: Distribution.decode(p.load.latency).percentile(99) / 1000 }] : []));
  let worst = measured[0];
  for (const m of measured) if (worst === undefined || m.ms > worst.ms) worst = m;
  return worst === undefined ? undefined : { ms: worst.ms, phase: measured.length > 1 ? worst.name : undefined };
}

function entryOf(id: string, result: ScenarioResult, kind: ResultKind, note: string | undefined, mtimeMs: number): IndexEntry {
  let calls = 0;
  let failed = 0;
  for (const p of result.phases) {
    if (p.load === undefined || p.load === null) continue;
    calls += Object.values(p.load.codes).reduce((n, c) => n + c, 0);
    failed += notOkCalls(p.load.codes);
  }
  const checks = result.phases.flatMap((p) => p.checks ?? []);
  return {
    id,
    kind,
    name: result.name,
    startTime: result.startTime,
    verdict: shownResultVerdict(result),
    interrupted: result.interrupted,
    phases: result.phases.length,
    calls,
    errorRatePct: calls > 0 ? (failed * 100) / calls : undefined,
    p99: worstP99(result),
    checks: { passed: checks.filter((c) => c.verdict === 'pass').length, total: checks.length },
    note,
    mtimeMs,
  };
}

/** The runs and load files directly under `root` (a real path), newest first. A run directory
 * whose result.json cannot be read is listed as unreadable; other JSON files that are not
 * results (benchmarks, merges' inputs of other tools) are left out. */
export function listReports(root: string, cache = new IndexCache()): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (const dirent of readdirSync(root, { withFileTypes: true })) {
    const path = insideRoot(root, [dirent.name]);
    if (path === undefined) continue;
    let stats: Stats;
    try {
      stats = statSync(path);
    } catch {
      continue;
    }
    if (stats.isDirectory()) {
      const file = join(path, 'result.json');
      let fileStats: Stats;
      try {
        fileStats = statSync(file);
      } catch {
        continue; // not a run directory
      }
      const entry = cache.entry(file, fileStats, () => {
        try {
          const read = readResult(path);
          return entryOf(dirent.name, read.result, 'run-dir', read.note, fileStats.mtimeMs);
        } catch (error) {
          return unreadable(dirent.name, error, fileStats.mtimeMs);
        }
      });
      if (entry !== undefined) entries.push(entry);
    } else if (stats.isFile() && dirent.name.toLowerCase().endsWith('.json')) {
      const entry = cache.entry(path, stats, () => {
        try {
          const read = readResult(path);
          return entryOf(dirent.name, read.result, read.kind, read.note, stats.mtimeMs);
        } catch {
          return undefined;
        }
      });
      if (entry !== undefined) entries.push(entry);
    }
  }
  const time = (e: IndexEntry): number => {
    const t = e.startTime === undefined ? NaN : Date.parse(e.startTime);
    return Number.isNaN(t) ? e.mtimeMs : t;
  };
  return entries.sort((a, b) => time(b) - time(a) || a.id.localeCompare(b.id));
}

function unreadable(id: string, error: unknown, mtimeMs: number): IndexEntry {
  const message = error instanceof MeshloadError ? error.message : error instanceof Error ? error.message : String(error);
  return {
    id,
    kind: 'unreadable',
    name: id,
    startTime: undefined,
    verdict: undefined,
    interrupted: false,
    phases: 0,
    calls: 0,
    errorRatePct: undefined,
    p99: undefined,
    checks: { passed: 0, total: 0 },
    note: message,
    mtimeMs,
  };
}

const VERDICT_TEXT: Record<ShownVerdict, string> = { pass: 'PASS', fail: 'FAIL', no_data: 'NO DATA', inconclusive: 'INCONCLUSIVE', no_checks: 'no checks' };

function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

function formatRate(pct: number): string {
  return pct > 0 && pct < 0.1 ? `${Number(pct.toPrecision(2))}%` : `${pct.toFixed(1)}%`;
}

const INDEX_CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e5e5e5; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #1b7f3b; font-weight: 700; } .fail, .no_data, .unreadable { color: #b00020; font-weight: 700; }
.inconclusive, .interrupted { color: #8a5a00; font-weight: 700; }
.no_checks { color: #57606a; font-style: italic; }
.note { color: #666; font-size: .9em; }
`;

/** The index page. Pure. */
export function renderIndexHtml(rootLabel: string, entries: readonly IndexEntry[]): string {
  const rows = entries.map((e) => {
    const unreadable = e.kind === 'unreadable';
    const verdictClass = e.kind === 'unreadable' ? 'unreadable' : e.interrupted ? 'interrupted' : (e.verdict ?? '');
    const verdict = e.kind === 'unreadable' ? 'UNREADABLE' : e.interrupted ? 'INTERRUPTED' : e.verdict === undefined ? '' : VERDICT_TEXT[e.verdict];
    const href = `/run/${encodeURIComponent(e.id)}/`;
    const raw = e.kind === 'run-dir' || e.kind === 'unreadable' ? `/run/${encodeURIComponent(e.id)}/result.json` : `/files/${encodeURIComponent(e.id)}`;
    const kind = { 'run-dir': 'run', scenario: 'run', load: 'meshload load', fortio: 'Fortio', unreadable: 'run' }[e.kind];
    return (
      `<tr><td><a href="${escapeHtml(href)}">${escapeHtml(e.name)}</a><div class="note">${escapeHtml(e.id)}${e.note !== undefined ? ` &middot; ${escapeHtml(e.note)}` : ''}</div></td>` +
      `<td>${escapeHtml(e.startTime ?? '')}</td><td class="${escapeHtml(verdictClass)}" data-verdict="${escapeHtml(verdictClass)}">${escapeHtml(verdict)}</td>` +
      `<td class="num" data-col="checks">${unreadable || e.checks.total === 0 ? '' : `${e.checks.passed}/${e.checks.total}`}</td>` +
      `<td class="num" data-col="p99">${e.p99 === undefined ? '' : `${formatMs(e.p99.ms)}${e.p99.phase === undefined ? '' : `<div class="note">worst phase: ${escapeHtml(e.p99.phase)}</div>`}`}</td>` +
      `<td class="num" data-col="errors">${e.errorRatePct === undefined ? '' : formatRate(e.errorRatePct)}</td>` +
      `<td class="num" data-col="calls">${e.calls}</td><td class="num" data-col="phases">${e.phases}</td><td>${escapeHtml(kind)}</td>` +
      `<td><a href="${escapeHtml(href)}">report</a> &middot; <a href="${escapeHtml(raw)}">json</a></td></tr>`
    );
  });
  const body = entries.length === 0 ? `<p>No runs in ${escapeHtml(rootLabel)} yet: <code>meshload run SCENARIO --report-dir ${escapeHtml(rootLabel)}</code> writes them.</p>` : (
    '<table>\n<thead><tr><th>name</th><th>started</th><th>verdict</th><th>checks passed</th><th>p99<div class="note">of the run, or its worst phase</div></th><th>errors</th><th>calls</th><th>phases</th><th>kind</th><th>links</th></tr></thead>\n' +
    `<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`
  );
  return (
    `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>meshload reports: ${escapeHtml(rootLabel)}</title>\n<style>${INDEX_CSS}</style>\n</head>\n<body>\n` +
    `<h1>meshload reports: ${escapeHtml(rootLabel)}</h1>\n<p>${entries.length} result${entries.length === 1 ? '' : 's'}, newest first.</p>\n${body}\n</body>\n</html>\n`
  );
}

/** Files of a run directory, relative, for the links under its page (depth-limited: phases/NN-x/). */
function filesOf(dir: string, prefix = '', depth = 0): string[] {
  const out: string[] = [];
  for (const dirent of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (dirent.isFile()) out.push(prefix + dirent.name);
    else if (dirent.isDirectory() && depth < 2) out.push(...filesOf(join(dir, dirent.name), `${prefix}${dirent.name}/`, depth + 1));
  }
  return out;
}

/** The rendered report with a line of links to the raw files before `</body>`. */
function withFileLinks(html: string, links: ReadonlyArray<readonly [href: string, label: string]>): string {
  const nav =
    '<nav style="margin:2rem 0 1rem;font:13px system-ui,sans-serif">files: ' +
    links.map(([href, label]) => `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>`).join(' &middot; ') +
    ' &middot; <a href="/">all runs</a></nav>\n';
  const at = html.lastIndexOf('</body>');
  return at < 0 ? html + nav : html.slice(0, at) + nav + html.slice(at);
}

export interface ReportServerOptions {
  /** The folder to serve. */
  root: string;
  host: string;
  port: number;
  /** Shown in the index title: the root as the user gave it. */
  rootLabel: string;
  /** Called when a request fails inside (a result that cannot be rendered). */
  onError?: (message: string) => void;
}

/** Sends a raw file from disk in 64 KiB reads under backpressure, whatever its size. The length
 * is the one the open descriptor has: a file that shrinks meanwhile cuts the response off (the
 * client sees it incomplete, never a short body passed for whole); one that grows is sent as it
 * was. O_NOFOLLOW: `path` is a real path, so a symlink there now was swapped in after the check. */
function streamFile(path: string, req: http.IncomingMessage, res: http.ServerResponse, notFound: () => void, onError: (message: string) => void): void {
  open(path, constants.O_RDONLY | constants.O_NOFOLLOW, (openError, fd) => {
    if (openError !== null) return notFound();
    fstat(fd, (statError, stats) => {
      if (statError !== null || !stats.isFile()) {
        close(fd, ignore);
        return notFound();
      }
      const size = stats.size;
      res.writeHead(200, { 'content-type': contentTypeOf(path), 'content-length': size, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
      if (req.method === 'HEAD' || size === 0 || res.destroyed) {
        close(fd, ignore);
        res.end();
        return;
      }
      const file = createReadStream('', { fd, start: 0, end: size - 1 });
      file.on('error', (error) => {
        onError(`reading ${path}: ${error.message}`);
        res.destroy();
      });
      // A client that goes away mid-download releases the descriptor at once.
      res.on('close', () => file.destroy());
      file.on('end', () => {
        if (file.bytesRead === size) res.end();
        else res.destroy();
      });
      file.pipe(res, { end: false });
    });
  });
}

function ignore(): void {
  // Closing a descriptor we only read: nothing to do if it fails.
}

export interface RunningReportServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startReportServer(options: ReportServerOptions): Promise<RunningReportServer> {
  const root = realpathSync(options.root);
  const cache = new IndexCache();
  const server = http.createServer((req, res) => {
    const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const notFound = (): void => send(404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    const rawPath = (req.url ?? '/').split('?')[0] as string;
    if (!rawPath.startsWith('/')) return notFound();
    try {
      if (rawPath === '/') {
        send(200, 'text/html; charset=utf-8', renderIndexHtml(options.rootLabel, listReports(root, cache)));
        return;
      }
      const trailing = rawPath.endsWith('/');
      const segments = safeSegments(rawPath.slice(1, trailing ? -1 : undefined));
      if (segments === undefined || segments.length < 2) return notFound();
      const [route, id, ...rest] = segments as [string, string, ...string[]];
      if (route === 'files') {
        serveFile(insideRoot(root, [id, ...rest]));
        return;
      }
      if (route !== 'run') return notFound();
      const entry = insideRoot(root, [id]);
      if (entry === undefined) return notFound();
      const isDir = statSync(entry).isDirectory();
      if (rest.length > 0) {
        if (!isDir) return notFound();
        serveFile(insideRoot(root, [id, ...rest]));
        return;
      }
      if (!trailing) {
        send(301, 'text/plain; charset=utf-8', 'moved\n', { location: `/run/${encodeURIComponent(id)}/` });
        return;
      }
      const read = readResult(entry);
      const html = renderReportHtml(read.result, { source: read.note === undefined ? id : `${id} (${read.note})` });
      const links: Array<[string, string]> = isDir ? filesOf(entry).map((f) => [f.split('/').map(encodeURIComponent).join('/'), f]) : [[`/files/${encodeURIComponent(id)}`, id]];
      send(200, 'text/html; charset=utf-8', withFileLinks(html, links));
    } catch (error) {
      // A JSON file that is not a result (a benchmark) is simply not a report.
      if (error instanceof MeshloadError && error.code === 'E_USAGE') {
        send(404, 'text/plain; charset=utf-8', `not a report: ${error.oneLine()}\n`);
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      options.onError?.(`${rawPath}: ${message}`);
      send(500, 'text/plain; charset=utf-8', `cannot render ${rawPath}: ${message}\n`);
    }

    function serveFile(path: string | undefined): void {
      if (path === undefined) return notFound();
      streamFile(path, req, res, notFound, (message) => options.onError?.(`${rawPath}: ${message}`));
    }
  });
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const reason = error.code === 'EADDRINUSE' ? 'address already in use' : error.message;
      reject(new MeshloadError('E_LISTEN', `cannot listen on ${options.host}:${options.port}: ${reason}`, 'choose another --serve port, or 0 for a free one'));
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      // After listen, 'error' is a failed accept (EMFILE): that connection is lost, not the server.
      server.on('error', ignore);
      resolve(server.address() as AddressInfo);
    });
  });
  return {
    url: `${httpUrl(options.host, address.port)}/`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
