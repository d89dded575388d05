/** `load -L`: Fortio's -L switches the run to Go's standard client, which follows redirects
 * (bincommon/commonflags.go SharedHTTPOptions: FollowRedirects and DisableFastClient), and whose
 * help says "do not use for load test". This is that client on undici: one agent per
 * Connection (Go: one http.Client per thread), keep-alive whatever the status, redirects
 * followed by Go's rules (redirect-hop.ts) within the one -timeout, the final answer counted.
 * Slower than the fast client by design; only -L uses it. */
import type { Dispatcher } from 'undici';
import type { ErrorKind, Outcome } from '../model/outcome';
import { errorKindOf, failure, refusedSend } from './outcome';
import { MAX_REDIRECTS, nextHop, REDIRECT_STATUSES, type Hop } from './redirect-hop';
import type { Connection, RequestTemplate, Transport } from './transport';
import { connectOptions, type ConnectTarget } from './undici-connect';

type Undici = typeof import('undici');

/** Bytes of an error body kept to classify its cause, as the fast client keeps. */
const BODY_PREFIX_BYTES = 256;

export function createRedirectTransport(template: RequestTemplate): Transport {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- undici takes ~180 ms to load; only -L needs it
  const undici = require('undici') as Undici;
  return new RedirectTransport(template, undici);
}

class RedirectTransport implements Transport {
  readonly target: ConnectTarget;
  private readonly connections = new Set<RedirectConnection>();
  closed = false;

  constructor(
    readonly template: RequestTemplate,
    readonly undici: Undici,
  ) {
    this.target = { first: template.url, insecure: template.insecure, tls: template.tls, resolve: template.resolve, unixSocket: template.unixSocket };
  }

  newConnection(): Connection {
    const connection = new RedirectConnection(this);
    if (!this.closed) this.connections.add(connection);
    return connection;
  }

  close(): void {
    this.closed = true;
    for (const connection of this.connections) connection.close();
    this.connections.clear();
  }
}

class RedirectConnection implements Connection {
  socketsOpened = 0;
  readonly resends = 0;
  private agent: Dispatcher | undefined;
  private done: ((outcome: Outcome) => void) | undefined;
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Why meshload aborted the request in flight. */
  private stop: 'timeout' | 'closed' | undefined;
  private closed = false;

  constructor(private readonly transport: RedirectTransport) {
    if (transport.closed) this.closed = true;
  }

  send(done: (outcome: Outcome) => void): void {
    if (refusedSend(this.done !== undefined, this.closed, done)) return;
    this.done = done;
    this.stop = undefined;
    const controller = new AbortController();
    this.controller = controller;
    const timeoutMs = this.transport.template.timeoutMs;
    if (timeoutMs > 0) {
      this.timer = setTimeout(() => {
        this.stop = 'timeout';
        controller.abort();
      }, timeoutMs);
    }
    this.exchange(controller.signal).then(
      (outcome) => this.finish(outcome),
      (error: unknown) => this.finish(this.failureOf(error)),
    );
  }

  reconnect(): void {
    const agent = this.agent;
    this.agent = undefined;
    // A request in flight keeps its socket until it ends; the next one gets a new agent.
    if (agent !== undefined && this.done === undefined) void agent.destroy().catch(() => undefined);
    else if (agent !== undefined) void agent.close().catch(() => undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.done !== undefined) {
      this.stop = 'closed';
      this.controller?.abort();
    }
    void this.agent?.destroy().catch(() => undefined);
    this.agent = undefined;
  }

  /** The request and its redirects, to the final answer. */
  private async exchange(signal: AbortSignal): Promise<Outcome> {
    const { template, undici } = this.transport;
    let hop: Hop = { url: template.url, method: template.method, headers: template.headers, body: template.body };
    for (let redirects = 0; ; redirects++) {
      const response = await undici.request(hop.url, {
        method: hop.method as Dispatcher.HttpMethod,
        headers: hop.headers.flat(),
        ...(hop.body.length > 0 || hop.method === 'POST' ? { body: hop.body } : {}),
        signal,
        // -keepalive=false: Go's DisableKeepAlives, a new socket per request.
        ...(template.keepAlive ? {} : { reset: true }),
        dispatcher: this.agentFor(),
      });
      const location = response.headers.location;
      if (!REDIRECT_STATUSES.has(response.statusCode) || typeof location !== 'string') return this.read(response);
      await response.body.dump();
      if (redirects === MAX_REDIRECTS) return failure('other', `stopped after ${MAX_REDIRECTS} redirects (-L)`);
      const next = nextHop(hop, response.statusCode, location, template.url);
      if (typeof next === 'string') return failure('other', `${next} (-L)`);
      hop = next;
    }
  }

  /** One agent per Connection; sockets are counted as its connector opens them. Each host gets
   * a connector with its own TLS options (SNI), -resolve and -unix-socket applying to all. */
  private agentFor(): Dispatcher {
    if (this.agent !== undefined) return this.agent;
    const { undici, target } = this.transport;
    const connectors = new Map<string, ReturnType<Undici['buildConnector']>>();
    this.agent = new undici.Agent({
      connections: 1,
      connect: (options, callback) => {
        this.socketsOpened++;
        const key = `${options.protocol}//${options.host}`;
        let connector = connectors.get(key);
        if (connector === undefined) {
          connector = undici.buildConnector(connectOptions(target, new URL(key)) as Parameters<Undici['buildConnector']>[0]);
          connectors.set(key, connector);
        }
        connector(options, callback);
      },
    });
    return this.agent;
  }

  private async read(response: Dispatcher.ResponseData): Promise<Outcome> {
    const headers = response.headers;
    const status = response.statusCode;
    let headerBytes = `HTTP/1.1 ${status} \r\n\r\n`.length;
    for (const [name, value] of Object.entries(headers)) {
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) headerBytes += name.length + 4 + Buffer.byteLength(v, 'latin1');
    }
    let bodyBytes = 0;
    const prefix: Buffer[] | undefined = status >= 400 ? [] : undefined;
    let kept = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      bodyBytes += chunk.length;
      if (prefix !== undefined && kept < BODY_PREFIX_BYTES) {
        const piece = chunk.subarray(0, BODY_PREFIX_BYTES - kept);
        prefix.push(piece);
        kept += piece.length;
      }
    }
    const one = (name: string): string | undefined => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const attempt = Number(one('x-envoy-attempt-count'));
    const outcome: Outcome = {
      status,
      errorKind: undefined,
      errorMessage: undefined,
      headerBytes,
      bodyBytes,
      viaEnvoy: /^envoy$/i.test(one('server') ?? '') || one('x-envoy-upstream-service-time') !== undefined,
      envoyOverloaded: one('x-envoy-overloaded') === 'true',
      bodyPrefix: prefix === undefined ? undefined : Buffer.concat(prefix).toString('latin1'),
      version: one('x-version'),
      attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 0,
      clamped: one('x-meshload-clamped') !== undefined,
    };
    return outcome;
  }

  private failureOf(error: unknown): Outcome {
    if (this.stop === 'timeout') return failure('timeout', `no complete response within ${this.transport.template.timeoutMs}ms`);
    if (this.stop === 'closed') return failure('closed', 'connection closed by meshload while the request was in flight');
    const top = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const cause = top.cause !== undefined && typeof top.cause === 'object' ? top.cause : top;
    const kind: ErrorKind = typeof cause.code === 'string' && !cause.code.startsWith('UND_ERR') ? errorKindOf(cause) : top.code === 'UND_ERR_SOCKET' ? 'closed' : 'other';
    return failure(kind, typeof top.message === 'string' ? top.message : String(error));
  }

  private finish(outcome: Outcome): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.controller = undefined;
    const done = this.done;
    this.done = undefined;
    done?.(outcome);
  }
}
