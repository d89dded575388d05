/** MessageReader under any chunking and any bytes: what was framed comes back whole and in
 * order; garbage never throws, never keeps more than the limit, and ends in an error or a count. */
import fc from 'fast-check';
import { frameMessage, MessageReader } from '../../src/grpc/grpc-frame';

/** Cuts `bytes` at the given points (sorted, deduplicated, in range). */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of at) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

describe('MessageReader properties', () => {
  test('framed messages come back whole and in order, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), fc.boolean(), (messages, points, gzip) => {
        const stream = Buffer.concat(messages.map((m) => frameMessage(m, gzip)));
        const reader = new MessageReader(1024, true, gzip ? 'gzip' : undefined);
        for (const chunk of cut(stream, points)) reader.push(chunk);
        expect(reader.error).toBeUndefined();
        expect(reader.atBoundary()).toBe(true);
        expect(reader.messages).toBe(messages.length);
        expect(reader.kept.map((b) => Buffer.from(b).toString('hex'))).toEqual(messages.map((m) => Buffer.from(m).toString('hex')));
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary bytes never throw and never keep a message over the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 10 }), fc.constantFrom(undefined, 'gzip', 'br'), (bytes, points, encoding) => {
        const reader = new MessageReader(64, true, encoding);
        for (const chunk of cut(Buffer.from(bytes), points)) reader.push(chunk);
        for (const message of reader.kept) expect(message.length).toBeLessThanOrEqual(64);
        if (reader.error !== undefined) expect(reader.error.length).toBeLessThan(300);
      }),
      { numRuns: 500 },
    );
  });
});
