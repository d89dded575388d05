/** What the image's runtime stage holds, proven without Docker: the build stage's steps run here
 * (copy what its COPY lines copy, `npm pack`, unpack, `npm ci --omit=dev` against the lockfile),
 * then the installed package runs from PATH as the image runs it: version, server, health check,
 * load, a scenario with its report. The npm registry (or npm's cache) must be reachable. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runProcess, type Finished } from '../helpers/run-process';
import { argsOf, contextCopies, readDockerfile, ROOT, stage } from './dockerfile';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
const dockerfile = readDockerfile();
const build = stage(dockerfile, 'build');
/** The production install, as the build stage runs it; --prefer-offline only makes it faster. */
const INSTALL = ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'];

let tmp: string;
let app: string; // the image's /opt/meshload
let tarball: string;
let env: NodeJS.ProcessEnv; // PATH with the image's /usr/local/bin/meshload first

beforeAll(async () => {
  // The test mirrors these steps; if the Dockerfile changes them, this must change too.
  expect(argsOf(build, 'RUN').join('\n')).toContain(`npm ${INSTALL.join(' ')}`);
  expect(argsOf(build, 'RUN')).toContain('npm pack --pack-destination /tmp');
  tmp = mkdtempSync(join(tmpdir(), 'meshload-pack-'));
  // The build stage's context copies; its `npm ci` is the checkout's node_modules.
  const context = join(tmp, 'src');
  for (const { sources, dest } of contextCopies(build)) {
    for (const source of sources) cpSync(join(ROOT, source), join(context, dest === './' ? source : dest), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(context, 'node_modules'), 'dir');
  // npm pack runs "prepare" (the build) in the copy, leaving the checkout's dist/ alone.
  const packed = await run('npm', ['pack', '--pack-destination', tmp], { cwd: context, maxBuffer: 16 << 20 });
  tarball = join(tmp, packed.stdout.trim().split('\n').pop() as string);
  app = join(tmp, 'opt', 'meshload');
  mkdirSync(app, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', app, '--strip-components=1']);
  cpSync(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
  await run('npm', [...INSTALL, '--prefer-offline'], { cwd: app, maxBuffer: 16 << 20 });
  const bin = join(tmp, 'usr-local-bin');
  mkdirSync(bin);
  symlinkSync(join(app, 'bin', 'meshload.js'), join(bin, 'meshload'));
  env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
}, 240_000);

afterAll(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

/** Runs the installed `meshload` found on PATH, as `kubectl exec POD -- meshload ...` would. */
function meshload(args: string[], cwd = tmp): Promise<Finished> {
  return runProcess('meshload', args, { cwd, env });
}

describe('the packed and installed package (the image runtime stage)', () => {
  it('holds bin, dist and the scenarios, and no sources or tests', async () => {
    const entries = (await run('tar', ['-tzf', tarball], { maxBuffer: 16 << 20 })).stdout.split('\n').filter((e) => e !== '');
    expect(entries).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/bin/meshload.js',
        'package/dist/cli/main.js',
        'package/scenarios/local/quickstart.yaml',
        'package/scenarios/istio/retries.yaml',
        'package/scenarios/istio/manifests/meshload-client.yaml',
      ]),
    );
    expect(entries.filter((e) => /^package\/(src|test|bench|node_modules)\//.test(e) || (e.endsWith('.ts') && !e.endsWith('.d.ts')))).toEqual([]);
    expect(existsSync(join(app, 'scenarios', 'local', 'quickstart.yaml'))).toBe(true);
  });

  it('installs every dependency at its lockfile version and no devDependency', () => {
    for (const [name] of Object.entries(pkg.dependencies)) {
      const version = (JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
      expect(`${name}@${version}`).toBe(`${name}@${lock.packages[`node_modules/${name}`]?.version ?? '?'}`);
    }
    const devDependencies = Object.keys(pkg.devDependencies);
    expect(devDependencies).toEqual(expect.arrayContaining(['jest', 'typescript', 'eslint', 'playwright-core']));
    for (const name of devDependencies) expect(`${name}: ${existsSync(join(app, 'node_modules', name))}`).toBe(`${name}: false`);
    // The HTML report inlines uPlot's browser build from the installed package.
    expect(require.resolve('uplot/dist/uPlot.iife.min.js', { paths: [app] }).startsWith(app)).toBe(true);
  });

  it('meshload --version, from PATH, is the package version', async () => {
    const result = await meshload(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${pkg.version}\n`);
  });

  it("serves, passes the image's health check, takes load, and drains on SIGTERM", async () => {
    let server: ChildProcess | undefined;
    try {
      server = spawn('meshload', ['server', '--http-port', '127.0.0.1:0', '--admin-port', 'disabled'], { cwd: tmp, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      const exited = new Promise<number | null>((resolve) => server?.once('exit', (code) => resolve(code)));
      const url = await new Promise<string>((resolve, reject) => {
        server?.stderr?.on('data', (chunk: Buffer) => {
          log += chunk.toString();
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
          if (match !== null) resolve(match[1] as string);
        });
        void exited.then((code) => reject(new Error(`meshload server exited (${code}): ${log}`)));
      });

      // The Dockerfile's HEALTHCHECK command, pointed at this server's port.
      const healthcheck = JSON.parse(/CMD (\[.*\])$/.exec(argsOf(stage(dockerfile, 'runtime'), 'HEALTHCHECK')[0] as string)?.[1] as string) as string[];
      expect(healthcheck[0]).toBe('meshload');
      const health = await meshload(healthcheck.slice(1).map((arg) => arg.replace('http://127.0.0.1:8080', url)));
      expect(health.code).toBe(0);
      expect(health.stdout).toBe('ok\n');

      const load = await meshload(['load', '-n', '200', '-c', '4', '-qps', '0', `${url}/`]);
      expect(load.code).toBe(0);
      expect(load.stderr).toMatch(/^Code 200 : 200 \(100\.0 %\)$/m);

      server.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(log).toMatch(/meshload server: stopped/);
    } finally {
      if (server !== undefined && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    }
  });

  it('runs a scenario and writes its report under the working directory', async () => {
    const work = join(tmp, 'work');
    mkdirSync(work);
    writeFileSync(
      join(work, 'smoke.yaml'),
      ['name: smoke', 'server: {}', 'phases:', '  - name: plain', '    load: { connections: 2, requests: 50, qps: 0 }', '    expect:', '      - status(200) == 100%', ''].join('\n'),
    );
    const result = await meshload(['run', 'smoke.yaml'], work);
    expect(result.stderr).toMatch(/smoke: PASS/);
    expect(result.code).toBe(0);
    const reports = readdirSync(join(work, 'reports'));
    expect(reports).toHaveLength(1);
    expect(existsSync(join(work, 'reports', reports[0] as string, 'result.json'))).toBe(true);
  });
});
