/** Fortio's gRPC destinations (fgrpc/grpcrunner.go grpcDestination). */
import { parseGrpcTarget } from '../../src/grpc/grpc-target';

describe('parseGrpcTarget', () => {
  test.each([
    ['localhost', false, 'http://localhost:8079/', false],
    ['localhost:9000', false, 'http://localhost:9000/', false],
    ['http://example.com', false, 'http://example.com/', false],
    ['http://example.com:8080/', false, 'http://example.com:8080/', false],
    ['https://example.com', false, 'https://example.com/', true],
    ['10.0.0.1', false, 'http://10.0.0.1:8079/', false],
    ['::1', false, 'http://[::1]:8079/', false],
    ['[::1]:50051', false, 'http://[::1]:50051/', false],
    ['host:443', true, 'https://host/', true],
  ])('%s (cacert %p) -> %s', (destination, cacert, url, tls) => {
    const target = parseGrpcTarget(destination, cacert);
    expect(target.url.href).toBe(url);
    expect(target.tls).toBe(tls);
  });

  test.each(['', 'host:port:x', 'host/path', 'user@host:1', 'host:70000', 'a b:1'])('%p is a usage error', (destination) => {
    expect(() => parseGrpcTarget(destination, false)).toThrow(/gRPC destination|out of range/);
  });
});
