/** Fortio's request rules, each against the line of Fortio it copies: payload precedence and
 * size (fnet/network.go GeneratePayload, ValidatePayloadSize), Content-Type and method
 * (fhttp/http_client.go GenerateHeaders, Method, AddAndValidateExtraHeader; bincommon
 * SharedHTTPOptions), -user (ValidateAndAddBasicAuthentication) and -resolve. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_PAYLOAD_SIZE, requestFromFlags, type RequestFlags } from '../../src/cli/request-flags';
import { MeshloadError } from '../../src/util/errors';

const URL_TEXT = 'http://127.0.0.1:8080/echo';

function parts(flags: Partial<RequestFlags>, command = 'load'): ReturnType<typeof requestFromFlags> {
  return requestFromFlags(URL_TEXT, { header: [], timeout: '3s', ...flags }, command);
}

function usage(flags: Partial<RequestFlags>): MeshloadError {
  try {
    parts(flags);
  } catch (error) {
    expect(error).toBeInstanceOf(MeshloadError);
    expect((error as MeshloadError).code).toBe('E_USAGE');
    return error as MeshloadError;
  }
  throw new Error('no usage error');
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshload-payload-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('payload (fnet/network.go GeneratePayload: file, else size > 0, else -payload)', () => {
  it('-payload-file wins over -payload-size and -payload', () => {
    const file = join(dir, 'body.bin');
    writeFileSync(file, 'from the file');
    const p = parts({ payloadFile: file, payloadSize: '100', payload: 'text' });
    expect(p.payload.toString()).toBe('from the file');
    expect(p.method).toBe('POST');
  });

  it.each([
    ['/dev/zero', /-payload-file \/dev\/zero is not a regular file/],
    ['-', /-payload-file - \(standard input\) is not supported/],
    ['/nonexistent/body', /cannot read -payload-file \/nonexistent\/body/],
  ])('-payload-file %s is exit 2 in one line, never a hang', (file, message) => {
    expect(usage({ payloadFile: file }).message).toMatch(message);
  });

  it('-payload-file reads a directory as an error', () => {
    expect(usage({ payloadFile: dir }).message).toMatch(/is not a regular file/);
  });

  it('-payload-size > 0 wins over -payload, with random bytes of that length', () => {
    const a = parts({ payloadSize: '1000', payload: 'text' }).payload;
    const b = parts({ payloadSize: '1000' }).payload;
    expect(a).toHaveLength(1000);
    expect(new Set(a).size).toBeGreaterThan(100); // random, not one repeated byte
    expect(a.equals(b)).toBe(false);
  });

  it('-payload-size 0 is no payload: -payload is used, and without one the method stays GET', () => {
    expect(parts({ payloadSize: '0', payload: 'text' }).payload.toString()).toBe('text');
    const none = parts({ payloadSize: '0' });
    expect(none.payload).toHaveLength(0);
    expect(none.method).toBe('GET');
  });

  it('clamps -payload-size to 256 KiB and a negative size to none, with a note each (ValidatePayloadSize)', () => {
    const big = parts({ payloadSize: String(10 * MAX_PAYLOAD_SIZE) });
    expect(big.payload).toHaveLength(MAX_PAYLOAD_SIZE);
    expect(big.notes).toEqual([expect.stringMatching(/over the 262144 bytes/)]);
    const negative = parts({ payloadSize: '-5' });
    expect(negative.payload).toHaveLength(0);
    expect(negative.notes).toEqual([expect.stringMatching(/negative/)]);
  });

  it('refuses a -payload-size that is not a whole number', () => {
    expect(usage({ payloadSize: '1k' }).message).toMatch(/-payload-size '1k' is not a byte count/);
  });

  it('an empty -payload is no payload: GET, no Content-Type', () => {
    const p = parts({ payload: '' });
    expect(p.method).toBe('GET');
    expect(p.headers).toEqual([]);
  });
});

describe('Content-Type and method (fhttp/http_client.go GenerateHeaders and Method)', () => {
  it('a payload without a type is application/octet-stream, and POST', () => {
    const p = parts({ payload: 'x' });
    expect(p.headers).toEqual([['Content-Type', 'application/octet-stream']]);
    expect(p.method).toBe('POST');
  });

  it('-content-type alone switches to POST with no body', () => {
    const p = parts({ contentType: 'application/json' });
    expect(p.method).toBe('POST');
    expect(p.headers).toEqual([['Content-Type', 'application/json']]);
  });

  it('-H Content-Type switches to POST too, and is the type of the payload', () => {
    const p = parts({ header: ['Content-Type: text/plain'] });
    expect(p.method).toBe('POST');
    expect(parts({ header: ['Content-Type: text/plain'], payload: 'x' }).headers).toEqual([['Content-Type', 'text/plain']]);
  });

  it('-content-type wins over -H Content-Type: one header is sent (bincommon SharedHTTPOptions)', () => {
    const p = parts({ header: ['X-A: 1', 'Content-Type: text/plain'], contentType: 'application/json', payload: 'x' });
    expect(p.headers).toEqual([['X-A', '1'], ['Content-Type', 'application/json']]);
  });

  it('an empty -H Content-Type: is no type', () => {
    const p = parts({ header: ['Content-Type:'], payload: 'x' });
    expect(p.headers).toEqual([['Content-Type', 'application/octet-stream']]);
  });

  it('-X wins over the POST switch', () => {
    expect(parts({ payload: 'x', method: 'put' }).method).toBe('PUT');
  });
});

describe('-user (ValidateAndAddBasicAuthentication)', () => {
  it('sends Basic base64(user:password), splitting at the first colon only', () => {
    const p = parts({ user: 'alice:pa:ss' });
    expect(p.headers).toEqual([['Authorization', `Basic ${Buffer.from('alice:pa:ss').toString('base64')}`]]);
  });

  it('replaces -H Authorization, as headers.Set does', () => {
    const p = parts({ user: 'a:b', header: ['Authorization: Bearer t', 'X-B: 2'] });
    expect(p.headers).toEqual([['X-B', '2'], ['Authorization', 'Basic YTpi']]);
  });

  it('without a colon is exit 2 in one line that does not quote the value', () => {
    const error = usage({ user: 'hunter2secret' });
    expect(error.message).toMatch(/-user has no ':' between user and password/);
    expect(`${error.message} ${error.hint ?? ''}`).not.toContain('hunter2secret');
  });
});

describe('-resolve, -unix-socket, -http1.0, -L', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['::1', '::1'],
    ['[::1]', '::1'],
  ])('-resolve %s connects to %s', (given, ip) => {
    expect(parts({ resolve: given }).planFields).toEqual({ resolve: ip });
  });

  // Fortio's client resolves a -resolve name too (fnet.Resolve), so a host name is taken as is.
  it.each(['example.com', 'httpbin', 'istio-ingressgateway.istio-system.svc.cluster.local.'])('-resolve %p is a host name, looked up when connecting', (given) => {
    expect(parts({ resolve: given }).planFields).toEqual({ resolve: given });
  });

  it.each(['1.2.3', '10.0.0.1:80', ' 10.0.0.1', 'a b', 'x/y', 'under_score', '-lead.example', `${'a'.repeat(64)}.example`, '[example.com]'])('-resolve %p is neither an IP nor a host name: exit 2', (given) => {
    expect(usage({ resolve: given }).message).toMatch(/is not an IP address or host name/);
  });

  it('carries -unix-socket and -http1.0 into the plan, and nothing when not given', () => {
    expect(parts({ unixSocket: '/tmp/x.sock', 'http1.0': true }).planFields).toEqual({ unixSocket: '/tmp/x.sock', http10: true });
    expect(parts({}).planFields).toEqual({});
    expect(parts({ resolve: '', unixSocket: '' }).planFields).toEqual({});
  });

  it('-L is carried into the plan, without notes', () => {
    const p = parts({ followRedirects: true }, 'curl');
    expect(p.notes).toEqual([]);
    expect(p.planFields).toEqual({ followRedirects: true });
  });
});
