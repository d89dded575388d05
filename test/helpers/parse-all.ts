/** Drives the HTTP/1.1 response parser as the transport does, for the parser's tests. */
import { Http1ResponseParser, type ParsedResponse } from '../../src/transport/http1-response-parser';

export type Parsed = ParsedResponse | { error: string };

/** Feeds the chunks in order, each inside a larger buffer of other bytes (as the transport's
 * shared read buffer is), then signals EOF; collects every response and the first error. */
export function parseAll(chunks: Uint8Array[], headRequest = false): Parsed[] {
  const parser = new Http1ResponseParser();
  parser.headRequest = headRequest;
  const results: Parsed[] = [];
  for (const chunk of chunks) {
    const framed = Buffer.concat([Buffer.from('JUNK'), chunk, Buffer.from('HTTP/1.1 999 junk\r\n')]);
    const end = 4 + chunk.length;
    let at = 4;
    let rounds = 0;
    while (at < end) {
      if (++rounds > chunk.length + 1) throw new Error('parser made no progress');
      at = parser.execute(framed, at, end);
      if (parser.error !== undefined) return [...results, { error: parser.error }];
      if (parser.complete) results.push(parser.response());
    }
  }
  if (parser.finish()) results.push(parser.response());
  if (parser.error !== undefined) results.push({ error: parser.error });
  return results;
}
