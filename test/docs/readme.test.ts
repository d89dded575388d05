/** The README documents what the code does: its checks reference is the grammar's own help. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPECTATION_HELP } from '../../src/checks';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

describe('README', () => {
  it("shows the checks reference exactly as meshload's help prints it", () => {
    expect(README).toContain(`\`\`\`\n${EXPECTATION_HELP}\n\`\`\``);
  });

  it('lists every command in the commands table', () => {
    for (const command of ['run', 'verify', 'load', 'merge', 'report', 'compare', 'doctor', 'k8s job', 'curl', 'stats', 'server', 'demo', 'version']) {
      expect(README).toMatch(new RegExp(`^\\| \`meshload ${command}[ \`]`, 'm'));
    }
  });
});

describe("the README's two commands", () => {
  const root = join(__dirname, '..', '..');
  const quickStart = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
  const commands = quickStart
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');

  it('are the quickstart run and the test command that installs what the tests need', () => {
    expect(commands).toEqual(['npm ci && npx meshload run scenarios/local/quickstart.yaml', 'npm run test:all']);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['test:all']).toBe('bash scripts/test-all.sh');
  });

  it('are what CI runs, and the test command installs every real server the tests start', () => {
    expect(readFileSync(join(root, '.ci', 'run'), 'utf8')).toMatch(/^exec bash scripts\/test-all\.sh$/m);
    const script = readFileSync(join(root, 'scripts', 'test-all.sh'), 'utf8');
    for (const pkg of ['haproxy', 'nginx-light', 'wrk', 'chromium']) expect(script).toContain(pkg);
    expect(script).toMatch(/^npm ci /m);
    expect(script).toMatch(/^npm run lint$/m);
    expect(script).toMatch(/^npm test$/m);
  });
});
