/** uPlot's script and stylesheet, read from the installed package (a production dependency, so
 * `require.resolve` finds it from a checkout and from an `npm pack`ed install alike) and inlined:
 * reports open offline, on clusters without a CDN. Read once per process. */
import { readFileSync } from 'node:fs';

export interface UplotAssets {
  script: string;
  css: string;
}

let cached: UplotAssets | undefined;

export function uplotAssets(): UplotAssets {
  if (cached === undefined) {
    cached = {
      script: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  }
  return cached;
}
