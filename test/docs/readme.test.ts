/** The README documents what the code does: its checks reference is the grammar's own help. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPECTATION_HELP } from '../../src/scenario/expectation';

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
