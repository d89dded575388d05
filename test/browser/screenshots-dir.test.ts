/** `npm test` leaves the checkout as it found it: the browser tests' screenshots (megabytes) go
 * to a temporary folder, never under the repository. */
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { SCREENSHOTS } from './report-page';

const ROOT = join(__dirname, '..', '..');

describe('the screenshots folder', () => {
  it('is outside the checkout, in the temporary folder unless MESHLOAD_SCREENSHOTS names one', () => {
    const fromRoot = relative(ROOT, SCREENSHOTS);
    if (process.env.MESHLOAD_SCREENSHOTS !== undefined) {
      expect(SCREENSHOTS).toBe(process.env.MESHLOAD_SCREENSHOTS);
      return;
    }
    expect(fromRoot.startsWith('..') || isAbsolute(fromRoot)).toBe(true);
    expect(SCREENSHOTS).toBe(join(tmpdir(), `meshload-screenshots-${process.pid}`));
  });
});
