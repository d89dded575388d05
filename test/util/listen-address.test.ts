import { httpUrl, parseListenAddress } from '../../src/util/listen-address';

describe('parseListenAddress', () => {
  it.each([
    ['8080', undefined, { host: undefined, port: 8080 }],
    [':8080', undefined, { host: undefined, port: 8080 }],
    ['0', undefined, { host: undefined, port: 0 }],
    ['127.0.0.1:0', undefined, { host: '127.0.0.1', port: 0 }],
    ['localhost:9000', undefined, { host: 'localhost', port: 9000 }],
    ['[::1]:8080', undefined, { host: '::1', port: 8080 }],
    ['8079', '127.0.0.1', { host: '127.0.0.1', port: 8079 }],
    ['0.0.0.0:8079', '127.0.0.1', { host: '0.0.0.0', port: 8079 }],
  ])('%s (default host %s)', (text, defaultHost, expected) => {
    expect(parseListenAddress(text, defaultHost)).toEqual(expected);
  });

  it('treats "disabled" as no listener', () => {
    expect(parseListenAddress('disabled')).toBeNull();
  });

  it.each(['', 'abc', '70000', '::1:80', 'host:', '-1'])('rejects %p', (text) => {
    expect(parseListenAddress(text)).toBeUndefined();
  });

  it('brackets IPv6 hosts in URLs', () => {
    expect(httpUrl('::1', 80)).toBe('http://[::1]:80');
    expect(httpUrl('127.0.0.1', 80)).toBe('http://127.0.0.1:80');
  });
});
