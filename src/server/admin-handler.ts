/** The admin port's routes: chaos defaults (GET, PUT, DELETE /chaos), Prometheus metrics and a
 * health check; bound apart from the echo port so exposing echo never exposes control. */
import type http from 'node:http';
import type { ChaosState } from './chaos-state';
import type { ServerMetrics } from './server-metrics';
import { EchoParamError } from './weighted-list';

const ADMIN_HELP = 'admin endpoints: GET|PUT|DELETE /chaos?<echo params>, GET /metrics, GET /healthz\n';

/** Never throws, as EchoHandler.handle. */
export function handleAdmin(req: http.IncomingMessage, res: http.ServerResponse, chaos: ChaosState, metrics: ServerMetrics): void {
  try {
    routeAdmin(req, res, chaos, metrics);
  } catch {
    metrics.internalErrors++;
    res.destroy();
  }
}

function routeAdmin(req: http.IncomingMessage, res: http.ServerResponse, chaos: ChaosState, metrics: ServerMetrics): void {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : url.slice(queryAt + 1);
  const reply = (status: number, body: string, contentType = 'text/plain; charset=utf-8', extra: string[] = []): void => {
    res.writeHead(status, ['content-type', contentType, 'content-length', String(Buffer.byteLength(body)), ...extra]);
    res.end(body);
  };
  const chaosJson = (): string => JSON.stringify({ params: chaos.defaultPlan.query, active: chaos.defaultPlan.query !== '' }) + '\n';
  req.resume();
  switch (path) {
    case '/healthz':
      reply(200, 'ok\n');
      return;
    case '/metrics':
      reply(200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
      return;
    case '/chaos':
      if (req.method === 'GET' || req.method === 'HEAD') {
        reply(200, chaosJson(), 'application/json');
      } else if (req.method === 'PUT' || req.method === 'POST') {
        if (query === '') {
          reply(400, 'PUT /chaos needs echo parameters, e.g. /chaos?status=503:30&delay=100ms:10; DELETE /chaos clears them\n');
          return;
        }
        try {
          chaos.setDefaults(query);
        } catch (error) {
          if (!(error instanceof EchoParamError)) throw error;
          reply(400, `meshload admin: bad parameter ${error.message}; chaos defaults unchanged\n`);
          return;
        }
        metrics.chaosChanges++;
        reply(200, chaosJson(), 'application/json');
      } else if (req.method === 'DELETE') {
        chaos.clearDefaults();
        metrics.chaosChanges++;
        reply(200, chaosJson(), 'application/json');
      } else {
        reply(405, `method ${req.method ?? '?'} not allowed on /chaos; use GET, PUT or DELETE\n`, undefined, [
          'allow',
          'GET, HEAD, PUT, POST, DELETE',
        ]);
      }
      return;
    default:
      reply(404, `no admin endpoint ${path}; ${ADMIN_HELP}`);
  }
}
