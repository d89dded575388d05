/** How a Job pod hands its result to `meshload merge`: the whole result.json as ONE line on
 * stdout after a fixed marker, so `kubectl logs` (which keeps a pod's output after it ends)
 * carries it and no volume or object store is needed. Pure. */

/** The marker; the JSON follows on the same line. */
export const RESULT_MARKER = 'MESHLOAD-RESULT ';

/** The line a sharded run prints last. JSON.stringify escapes every newline inside strings, so
 * the result stays one line however large (a few hundred KB: the container runtime stores it as
 * 8-16 KiB partial records, which the kubelet joins back for `kubectl logs`, though not with
 * `--timestamps`). Printed after every stderr line, so no other output can land inside it. */
export function resultLine(result: unknown): string {
  return `${RESULT_MARKER}${JSON.stringify(result)}\n`;
}

export interface FoundResult {
  /** 1-based line in the logs. */
  line: number;
  data: unknown;
}

/** Every result line in a log text; other lines (the runs' stderr, other containers) are ignored.
 * The marker may come after a prefix that `kubectl logs --prefix` or `--timestamps` adds. A
 * marked line whose JSON does not parse (a log cut short) is reported, not skipped: a silently
 * missing part would make the merge describe less load than ran. */
export function resultsFromLogs(text: string): { found: FoundResult[]; broken: Array<{ line: number; error: string }> } {
  const found: FoundResult[] = [];
  const broken: Array<{ line: number; error: string }> = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const at = raw.indexOf(RESULT_MARKER);
    if (at === -1) return;
    const json = raw.slice(at + RESULT_MARKER.length).trim();
    try {
      found.push({ line: i + 1, data: JSON.parse(json) as unknown });
    } catch (error) {
      broken.push({ line: i + 1, error: (error as Error).message });
    }
  });
  return { found, broken };
}
