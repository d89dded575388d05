/** util/redact: which headers are secrets, and URLs without their credentials, wherever they are. */
import fc from 'fast-check';
import { redactPlan } from '../../src/model/load-plan';
import { isSecretHeader, redactCredentialsOf, redactHeaders, redactRequestTarget, redactUrl, redactUrlsIn, REDACTED } from '../../src/util/redact';

describe('isSecretHeader', () => {
  it.each([
    'Authorization',
    'cookie',
    'PROXY-AUTHORIZATION',
    'X-Api-Key',
    'x-apikey',
    'X-Auth-Token',
    'My-Password',
    'X-Client-Secret',
    'Token',
    'X-APIKEY-ID',
  ])('%s is a secret', (name) => {
    expect(isSecretHeader(name)).toBe(true);
  });

  it.each(['Content-Type', 'X-Request-Id', 'User-Agent', 'Accept', 'Set-Cookie', 'X-Api', 'Host'])('%s is not', (name) => {
    expect(isSecretHeader(name)).toBe(false);
  });

  it('adds the names given, in any case', () => {
    expect(isSecretHeader('X-Custom')).toBe(false);
    expect(isSecretHeader('X-Custom', ['x-custom'])).toBe(true);
    expect(isSecretHeader('x-custom', ['X-CUSTOM'])).toBe(true);
  });
});

describe('redactHeaders', () => {
  it('replaces the values of secret headers only, keeping names and order', () => {
    const headers: Array<[string, string]> = [
      ['X-Api-Key', 'k-123'],
      ['X-Trace', 't'],
      ['Authorization', 'Bearer b-789'],
      ['X-Custom', 'c'],
    ];
    expect(redactHeaders(headers, ['x-custom'])).toEqual([
      ['X-Api-Key', REDACTED],
      ['X-Trace', 't'],
      ['Authorization', REDACTED],
      ['X-Custom', REDACTED],
    ]);
    expect(headers[0]).toEqual(['X-Api-Key', 'k-123']); // the input, which is sent, is untouched
  });

  it('never lets a secret header value through, whatever the value and the name around the secret part', () => {
    const part = fc.constantFrom('token', 'Secret', 'PASSWORD', 'api-key', 'ApiKey', 'authorization', 'cookie', 'proxy-authorization');
    const affix = fc.stringMatching(/^[A-Za-z-]{0,8}$/);
    fc.assert(
      fc.property(affix, part, affix, fc.string({ minLength: 1 }), (before, secret, after, value) => {
        const name = ['authorization', 'cookie', 'proxy-authorization'].includes(secret) ? secret : `${before}${secret}${after}`;
        expect(redactHeaders([[name, value]])).toEqual([[name, REDACTED]]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('redactUrl', () => {
  it.each([
    ['http://user:pass@host:8080/path?q=1', `http://${REDACTED}@host:8080/path?q=1`],
    ['https://user@host/', `https://${REDACTED}@host/`],
    ['http://:pass@host/', `http://${REDACTED}@host/`],
    ['http://host/x?api_key=abc&b=2', `http://host/x?api_key=${REDACTED}&b=2`],
    ['http://host/x?a=%20x&access_token=abc#frag', `http://host/x?a=%20x&access_token=${REDACTED}#frag`],
    ['http://u:p@host/x?password=p&apikey=k', `http://${REDACTED}@host/x?password=${REDACTED}&apikey=${REDACTED}`],
  ])('%s -> %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  it.each(['http://host:8080/path?q=1', 'http://127.0.0.1:1/', 'not a url', '', 'http://host/?token', 'http://host/?token=&a=1', 'http://host/#token=x'])('%s is returned as is', (text) => {
    expect(redactUrl(text)).toBe(text);
  });

  it('is idempotent', () => {
    for (const url of ['http://user:pass@host/?token=1', 'http://h/']) expect(redactUrl(redactUrl(url))).toBe(redactUrl(url));
  });

  it('never returns a URL password, whatever it is', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=%-]{4,20}$/), (password) => {
        const url = `http://user:${password}@host/`;
        let parsed = true;
        try {
          new URL(url);
        } catch {
          parsed = false;
        }
        // Not a URL: nothing will parse credentials out of it either, and it is returned as is.
        if (!parsed) return;
        expect(redactUrl(url)).toBe(`http://${REDACTED}@host/`);
      }),
      { numRuns: 300 },
    );
  });
});

describe('redactUrlsIn', () => {
  it('redacts every URL in free text and leaves the rest', () => {
    expect(redactUrlsIn("GET http://a:b@x/ failed; see https://docs/ and 'http://y/?token=t'.")).toBe(`GET http://${REDACTED}@x/ failed; see https://docs/ and 'http://y/?token=${REDACTED}'.`);
  });
});

describe('redactCredentialsOf', () => {
  it("takes a URL's credentials out of text made from it without the scheme (load's default labels)", () => {
    expect(redactCredentialsOf('user:s3cret@host:8080/get , box', 'http://user:s3cret@host:8080/get')).toBe(`${REDACTED}@host:8080/get , box`);
    expect(redactCredentialsOf('u:p@ss@h/ , box', 'http://u:p%40ss@h/')).toBe(`${REDACTED}@h/ , box`);
    expect(redactCredentialsOf('h/?a=1&api_key=k-1 , box', 'http://h/?a=1&api_key=k-1')).toBe(`h/?a=1&api_key=${REDACTED} , box`);
    expect(redactCredentialsOf('host/get , box', 'http://host/get')).toBe('host/get , box');
    expect(redactCredentialsOf('anything', 'not a url')).toBe('anything');
  });
});

describe('redactPlan', () => {
  it('redacts headers, URL and labels, and keeps the rest', () => {
    const plan = {
      url: 'http://u:pw-1@h/get?token=t',
      headers: [
        ['X-Auth-Token', 't-456'],
        ['X-Custom', 'c'],
        ['Accept', '*/*'],
      ] as Array<[string, string]>,
      labels: 'u:pw-1@h/get?token=t , box',
      secretHeaders: ['x-custom'],
      qps: 8,
    };
    const redacted = redactPlan(plan);
    expect(redacted).toEqual({
      url: `http://${REDACTED}@h/get?token=${REDACTED}`,
      headers: [
        ['X-Auth-Token', REDACTED],
        ['X-Custom', REDACTED],
        ['Accept', '*/*'],
      ],
      labels: `${REDACTED}@h/get?token=${REDACTED} , box`,
      secretHeaders: ['x-custom'],
      qps: 8,
    });
    expect(plan.headers[0]).toEqual(['X-Auth-Token', 't-456']);
  });
});

describe('redactRequestTarget', () => {
  it.each([
    ['/get?api_key=k-1&status=503', `/get?api_key=${REDACTED}&status=503`],
    ['/?access_token=t&x=1&Password=p', `/?access_token=${REDACTED}&x=1&Password=${REDACTED}`],
    ['/plain', '/plain'],
    ['/?status=503:20', '/?status=503:20'],
    ['/?token=', '/?token='],
  ])('%s is logged as %s', (target, logged) => {
    expect(redactRequestTarget(target)).toBe(logged);
  });
});
