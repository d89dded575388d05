/** meshload's HPACK against RFC 7541 Appendix C (exact bytes both ways, dynamic tables as
 * printed there), hostile blocks, and a real node:http2 server decoding what we encode. */
import http2 from 'node:http2';
import net from 'node:net';
import fc from 'fast-check';
import { openWireSession } from '../../src/transport/h2-wire/connect';
import { DynamicTable, HpackDecoder, HpackEncoder, HpackError, integer, readInteger, type HuffmanPolicy, type Indexing } from '../../src/transport/h2-wire/hpack';
import { huffmanDecode, huffmanEncode, huffmanLength } from '../../src/transport/h2-wire/huffman';
import { H2Stream, type StreamHandler } from '../../src/transport/h2-wire/session';

type Fields = Array<[string, string]>;

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function decodeAll(decoder: HpackDecoder, block: Buffer): Fields {
  const fields: Fields = [];
  decoder.decode(block, { onField: (name, value) => fields.push([name, value]) });
  return fields;
}

function tableOf(table: DynamicTable): string[] {
  return table.names.map((name, i) => `${name}: ${table.values[i] ?? ''}`);
}

interface Step {
  fields: Fields;
  bytes: string;
  table: string[];
  size: number;
}

const REQ1: Fields = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const REQ2: Fields = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: Fields = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']];
const REQ_TABLES = [
  { table: [':authority: www.example.com'], size: 57 },
  { table: ['cache-control: no-cache', ':authority: www.example.com'], size: 110 },
  { table: ['custom-key: custom-value', 'cache-control: no-cache', ':authority: www.example.com'], size: 164 },
];
const RES1: Fields = [[':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']];
const RES2: Fields = [[':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']];
const RES3: Fields = [
  [':status', '200'],
  ['cache-control', 'private'],
  ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
  ['location', 'https://www.example.com'],
  ['content-encoding', 'gzip'],
  ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
];
const RES_TABLES = [
  { table: ['location: https://www.example.com', 'date: Mon, 21 Oct 2013 20:13:21 GMT', 'cache-control: private', ':status: 302'], size: 222 },
  { table: [':status: 307', 'location: https://www.example.com', 'date: Mon, 21 Oct 2013 20:13:21 GMT', 'cache-control: private'], size: 222 },
  { table: ['set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1', 'content-encoding: gzip', 'date: Mon, 21 Oct 2013 20:13:22 GMT'], size: 215 },
];

const SEQUENCES: Array<{ name: string; huffman: HuffmanPolicy; tableSize: number; steps: Step[] }> = [
  {
    name: 'C.3 requests without Huffman',
    huffman: 'never',
    tableSize: 4096,
    steps: [
      { fields: REQ1, bytes: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', ...(REQ_TABLES[0] as { table: string[]; size: number }) },
      { fields: REQ2, bytes: '8286 84be 5808 6e6f 2d63 6163 6865', ...(REQ_TABLES[1] as { table: string[]; size: number }) },
      { fields: REQ3, bytes: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65', ...(REQ_TABLES[2] as { table: string[]; size: number }) },
    ],
  },
  {
    name: 'C.4 requests with Huffman',
    huffman: 'always',
    tableSize: 4096,
    steps: [
      { fields: REQ1, bytes: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', ...(REQ_TABLES[0] as { table: string[]; size: number }) },
      { fields: REQ2, bytes: '8286 84be 5886 a8eb 1064 9cbf', ...(REQ_TABLES[1] as { table: string[]; size: number }) },
      { fields: REQ3, bytes: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf', ...(REQ_TABLES[2] as { table: string[]; size: number }) },
    ],
  },
  {
    name: 'C.5 responses without Huffman, 256-byte table',
    huffman: 'never',
    tableSize: 256,
    steps: [
      {
        fields: RES1,
        bytes:
          '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        ...(RES_TABLES[0] as { table: string[]; size: number }),
      },
      { fields: RES2, bytes: '4803 3330 37c1 c0bf', ...(RES_TABLES[1] as { table: string[]; size: number }) },
      {
        fields: RES3,
        bytes:
          '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
        ...(RES_TABLES[2] as { table: string[]; size: number }),
      },
    ],
  },
  {
    name: 'C.6 responses with Huffman, 256-byte table',
    huffman: 'always',
    tableSize: 256,
    steps: [
      {
        fields: RES1,
        bytes: '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
        ...(RES_TABLES[0] as { table: string[]; size: number }),
      },
      { fields: RES2, bytes: '4883 640e ffc1 c0bf', ...(RES_TABLES[1] as { table: string[]; size: number }) },
      {
        fields: RES3,
        bytes:
          '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
        ...(RES_TABLES[2] as { table: string[]; size: number }),
      },
    ],
  },
];

describe('RFC 7541 Appendix C', () => {
  it('C.1: prefixed integers', () => {
    expect(integer(10, 5, 0)).toEqual(Buffer.from([0x0a]));
    expect(integer(1337, 5, 0)).toEqual(Buffer.from([0x1f, 0x9a, 0x0a]));
    expect(integer(42, 8, 0)).toEqual(Buffer.from([0x2a]));
    expect(readInteger(Buffer.from([0x1f, 0x9a, 0x0a]), 0, 5)).toEqual([1337, 3]);
  });

  const C2: Array<{ name: string; bytes: string; field: [string, string]; indexing: Indexing; table: string[] }> = [
    { name: 'C.2.1 literal with indexing', bytes: '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572', field: ['custom-key', 'custom-header'], indexing: 'index', table: ['custom-key: custom-header'] },
    { name: 'C.2.2 literal without indexing', bytes: '040c 2f73 616d 706c 652f 7061 7468', field: [':path', '/sample/path'], indexing: 'no-index', table: [] },
    { name: 'C.2.3 literal never indexed', bytes: '1008 7061 7373 776f 7264 0673 6563 7265 74', field: ['password', 'secret'], indexing: 'never', table: [] },
    { name: 'C.2.4 indexed', bytes: '82', field: [':method', 'GET'], indexing: 'index', table: [] },
  ];
  it.each(C2)('$name: exact bytes both ways', ({ bytes, field, indexing, table }) => {
    const encoder = new HpackEncoder('never');
    expect(encoder.encode([field], () => indexing).toString('hex')).toBe(hex(bytes).toString('hex'));
    expect(tableOf(encoder.table)).toEqual(table);
    const decoder = new HpackDecoder();
    expect(decodeAll(decoder, hex(bytes))).toEqual([field]);
    expect(tableOf(decoder.table)).toEqual(table);
  });

  it.each(SEQUENCES)('$name: each block encodes to the RFC bytes and decodes back, tables as printed', ({ huffman, tableSize, steps }) => {
    const encoder = new HpackEncoder(huffman, tableSize);
    const decoder = new HpackDecoder(tableSize);
    for (const step of steps) {
      expect(encoder.encode(step.fields).toString('hex')).toBe(hex(step.bytes).toString('hex'));
      expect(tableOf(encoder.table)).toEqual(step.table);
      expect(encoder.table.size).toBe(step.size);
      expect(decodeAll(decoder, hex(step.bytes))).toEqual(step.fields);
      expect(tableOf(decoder.table)).toEqual(step.table);
      expect(decoder.table.size).toBe(step.size);
    }
  });
});

describe('Huffman', () => {
  it('round-trips every byte value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = Buffer.from(bytes).toString('latin1');
        const out = Buffer.alloc(huffmanLength(text));
        expect(huffmanEncode(text, out, 0)).toBe(out.length);
        expect(huffmanDecode(out, 0, out.length)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses padding longer than 7 bits, padding that is not all ones, and EOS', () => {
    // 'a' is 00011 (5 bits): 00011111 is 'a' + 3 padding ones.
    expect(huffmanDecode(Buffer.from([0x1f]), 0, 1)).toBe('a');
    expect(huffmanDecode(Buffer.from([0x1f, 0xff]), 0, 2)).toBe('padding');
    expect(huffmanDecode(Buffer.from([0x18]), 0, 1)).toBe('padding');
    // EOS is 30 ones.
    expect(huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xfc]), 0, 4)).toBe('eos');
  });
});

describe('per-request values ({uuid} in :path)', () => {
  it('are literals without indexing: the table keeps the constant fields and does not churn', () => {
    const encoder = new HpackEncoder('shorter', 4096, new Set([':path']));
    const decoder = new HpackDecoder();
    const request = (id: number): Fields => [
      [':method', 'GET'],
      [':path', `/items/${String(id).padStart(36, '0')}`],
      ['x-constant', 'same every time'],
      ['authorization', 'Bearer secret'],
    ];
    const first = encoder.encode(request(1));
    const version = encoder.table.version;
    expect(tableOf(encoder.table)).toEqual(['x-constant: same every time']);
    expect(decodeAll(decoder, first)).toEqual(request(1));
    for (let id = 2; id <= 50; id++) {
      const block = encoder.encode(request(id));
      expect(decodeAll(decoder, block)).toEqual(request(id));
    }
    expect(encoder.table.version).toBe(version);
    expect(tableOf(decoder.table)).toEqual(['x-constant: same every time']);
    // :method GET indexed (static 2), then :path as a literal without indexing on static name
    // index 4 (RFC 7541 6.2.2: 0000 0100).
    const block = encoder.encode(request(99));
    expect([block[0], block[1]]).toEqual([0x82, 0x04]);
  });
});

describe('hostile header blocks', () => {
  const bad: Array<[string, string]> = [
    ['an index beyond both tables', 'be'],
    ['index 0', '80'],
    ['a string longer than the block', '400a 6375'],
    ['an integer that never ends', '1f ff ff ff ff ff ff ff'],
    ['a size update above what we allowed', '3fe2 1f'],
    ['a size update after a field', '82 20'],
    ['a block ending before a value', '41'],
  ];
  it.each(bad)('refuses %s with an HpackError', (_name, bytes) => {
    expect(() => decodeAll(new HpackDecoder(), hex(bytes))).toThrow(HpackError);
  });

  it('never throws anything but HpackError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeAll(new HpackDecoder(), Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(HpackError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('counts the decoded list size (name + value + 32 per field) for the caller to bound', () => {
    const decoder = new HpackDecoder();
    decodeAll(decoder, hex('8286'));
    expect(decoder.listSize).toBe(':method'.length + 3 + 32 + ':scheme'.length + 4 + 32);
  });

  it('a size update shrinks the table and evicts', () => {
    const decoder = new HpackDecoder();
    decodeAll(decoder, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    expect(decoder.table.length).toBe(1);
    decodeAll(decoder, hex('20'));
    expect(decoder.table.length).toBe(0);
  });
});

describe('round trip through a real node:http2 server', () => {
  const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'.split(''));
  const name = fc.array(tokenChar, { minLength: 1, maxLength: 20 }).map((chars) => `x-${chars.join('')}`);
  // Visible ASCII and latin1 bytes a header value may carry; no leading/trailing blanks (node trims nothing, but keep it plain).
  const value = fc
    .array(fc.integer({ min: 0x21, max: 0xff }).filter((c) => c !== 0x7f), { maxLength: 40 })
    .map((codes) => Buffer.from(codes).toString('latin1'));

  it('node:http2 decodes exactly the fields we encode, over many blocks on one connection', async () => {
    const received: Array<Record<string, string>> = [];
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const copy: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) if (k.startsWith('x-')) copy[k] = String(v);
      received.push(copy);
      stream.respond({ ':status': 200 });
      stream.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    // A raw client: our encoder on one connection, so the dynamic table evolves across blocks.
    const socket = net.connect(port, '127.0.0.1');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.on('data', () => undefined);
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frame(4, 0, 0, Buffer.alloc(0))]));
      const encoder = new HpackEncoder('shorter');
      const sent: Array<Record<string, string>> = [];
      const samples = fc.sample(fc.uniqueArray(fc.tuple(name, value), { minLength: 1, maxLength: 8, selector: ([n]) => n }), { numRuns: 60, seed: 16 });
      let streamId = 1;
      for (const sample of samples) {
        const fields: Fields = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'localhost'], ...sample];
        sent.push(Object.fromEntries(sample));
        socket.write(frame(1, 0x5, streamId, encoder.encode(fields)));
        streamId += 2;
      }
      const deadline = Date.now() + 5000;
      while (received.length < samples.length && Date.now() < deadline && !socket.destroyed) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 100);
          server.once('stream', () => {
            clearTimeout(timer);
            setImmediate(resolve);
          });
        });
      }
      expect(received).toEqual(sent);
    } finally {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  it('we decode exactly what node:http2 encodes, response after response on one connection', async () => {
    const samples = fc.sample(fc.uniqueArray(fc.tuple(name, value), { minLength: 1, maxLength: 8, selector: ([n]) => n }), { numRuns: 60, seed: 7 });
    let next = 0;
    const server = http2.createServer();
    server.on('stream', (stream) => {
      const fields = samples[next++] ?? [];
      stream.respond({ ':status': 200, ...Object.fromEntries(fields) }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const owner = { onSessionRetired: (): void => undefined, onSessionClosed: (): void => undefined };
    const session = openWireSession(new URL(`http://127.0.0.1:${port}/`), owner);
    try {
      const received: Array<Record<string, string>> = [];
      for (let i = 0; i < samples.length; i++) {
        const fields: Record<string, string> = {};
        let failed = '';
        await new Promise<void>((resolve) => {
          const handler: StreamHandler = {
            onField: (n, v) => {
              if (n.startsWith('x-')) fields[n] = v;
            },
            onHeaders: (_stream, end) => {
              if (end) resolve();
            },
            onData: (_stream, _data, _start, _end, end) => {
              if (end) resolve();
            },
            onFailed: (_stream, _end, _code, _kind, message) => {
              failed = message;
              resolve();
            },
          };
          session.request(new H2Stream(handler), [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'localhost']], undefined, true);
        });
        expect(failed).toBe('');
        received.push(fields);
      }
      expect(received).toEqual(samples.map((sample) => Object.fromEntries(sample)));
    } finally {
      session.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}
