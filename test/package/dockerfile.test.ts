/** The Dockerfile's essentials, read as text (no Docker engine here): a build stage and a small
 * runtime stage, tini as PID 1 in front of meshload, UID 10001 and never 1337, a health check
 * through meshload's own client on the server's real default port. pack-install.test.ts runs the
 * build stage's steps. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli';
import { argsOf, contextCopies, readDockerfile, ROOT, stage } from './dockerfile';

const dockerfile = readDockerfile();
const build = stage(dockerfile, 'build');
const runtime = stage(dockerfile, 'runtime');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string };
const runs = (s: typeof build): string => argsOf(s, 'RUN').join('\n');

describe('the Dockerfile', () => {
  it('builds in a node:20-bookworm-slim stage and runs in another, named runtime', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile.globalArgs['NODE_IMAGE']).toBe('node:20-bookworm-slim');
    expect(build.from).toBe('${NODE_IMAGE}');
    expect(dockerfile.stages[dockerfile.stages.length - 1]).toBe(runtime);
    expect(runtime.from).toBe('${NODE_IMAGE}');
  });

  it('packs the package in the build stage and installs it with production dependencies at the lockfile versions', () => {
    expect(runs(build)).toMatch(/^npm ci --ignore-scripts --no-audit --no-fund$/m);
    expect(runs(build)).toMatch(/^npm pack --pack-destination \/tmp$/m);
    expect(runs(build)).toContain('cp package-lock.json /opt/meshload/');
    expect(runs(build)).toContain('npm ci --omit=dev --ignore-scripts --no-audit --no-fund');
    expect(argsOf(runtime, 'COPY')).toContain('--from=build /opt/meshload /opt/meshload');
    expect(runs(runtime)).not.toMatch(/npm (ci|install)/); // no dev tools, no registry, in the final stage
  });

  it('copies from the context only files that exist and .dockerignore keeps', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['.git', 'node_modules', 'dist', 'reports', 'coverage']));
    const sources = contextCopies(build).flatMap((copy) => copy.sources);
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'bin', 'src', 'scenarios']));
    for (const source of sources) {
      expect(existsSync(join(ROOT, source))).toBe(true);
      expect(ignored).not.toContain(source);
    }
    expect(contextCopies(runtime)).toEqual([]); // the runtime stage takes everything from the build
  });

  it('runs tini as PID 1 in front of meshload, with the server as the default command', () => {
    expect(runs(runtime)).toMatch(/apt-get install -y --no-install-recommends tini && rm -rf \/var\/lib\/apt\/lists\/\*/);
    expect(argsOf(runtime, 'ENTRYPOINT').map((a) => JSON.parse(a) as unknown)).toEqual([['/usr/bin/tini', '--', 'meshload']]);
    expect(argsOf(runtime, 'CMD').map((a) => JSON.parse(a) as unknown)).toEqual([['server']]);
    // meshload on PATH: kubectl exec POD -- meshload ...
    expect(runs(runtime)).toContain('ln -s /opt/meshload/bin/meshload.js /usr/local/bin/meshload');
    // Why, in the file itself.
    expect(dockerfile.text).toMatch(/# tini as PID 1: .*\n# .*reaps/);
  });

  it('runs as UID and GID 10001, and says why never 1337', () => {
    expect(argsOf(runtime, 'USER')).toEqual(['10001:10001']);
    expect(runs(runtime)).toMatch(/groupadd --gid 10001 meshload && useradd --uid 10001 --gid 10001 /);
    // 1337 only in the comment that explains it.
    expect(dockerfile.codeLines.filter((line) => line.includes('1337'))).toEqual([]);
    expect(dockerfile.text).toMatch(/# It must never be 1337: Istio's iptables rules .*UID 1337/);
  });

  it('ships the scenarios at /scenarios and works in /work, owned by 10001', () => {
    expect(argsOf(runtime, 'COPY')).toContain('--from=build /opt/meshload/scenarios /scenarios');
    expect(argsOf(runtime, 'WORKDIR')).toEqual(['/work']);
    expect(runs(runtime)).toContain('install -d -o 10001 -g 10001 -m 0755 /work');
  });

  it("checks health with meshload's own client on the server's default echo port, which it exposes", async () => {
    const help = await cli('server', '--help');
    const port = /--http-port <\[host:\]port>[\s\S]*?\(default:\s+"(\d+)"\)/.exec(help.stdout)?.[1];
    expect(port).toBe('8080');
    const healthcheck = argsOf(runtime, 'HEALTHCHECK');
    expect(healthcheck).toHaveLength(1);
    const command = JSON.parse(/CMD (\[.*\])$/.exec(healthcheck[0] as string)?.[1] ?? 'null') as string[];
    expect(command).toEqual(['meshload', 'curl', '-timeout', '3s', `http://127.0.0.1:${port}/healthz`]);
    expect(argsOf(runtime, 'EXPOSE')).toEqual([port]);
  });

  it('labels the image with the package version and license', () => {
    const labels = argsOf(runtime, 'LABEL').join(' ');
    for (const key of ['title', 'description', 'version', 'source', 'licenses']) expect(labels).toContain(`org.opencontainers.image.${key}=`);
    expect(labels).toContain(`org.opencontainers.image.licenses="${pkg.license}"`);
    expect(argsOf(runtime, 'ARG')).toContain(`VERSION=${pkg.version}`);
  });
});
