/** An in-memory Transport for engine tests: answers each call as `behaviour` says, after the
 * given delay, so scheduling and recording can be tested exactly without sockets. */
import type { ErrorKind } from '../../src/engine/load-result';
import type { Connection, Outcome, Transport } from '../../src/transport/transport';

export interface FakeAnswer {
  status: number;
  delayMs?: number;
  errorKind?: ErrorKind;
}

export class FakeTransport implements Transport {
  calls = 0;
  reconnects = 0;
  connections = 0;
  closed = false;

  /** `behaviour` gets the 0-based index of the call across the transport (warm-up included). */
  constructor(private readonly behaviour: (call: number) => FakeAnswer = () => ({ status: 200 })) {}

  newConnection(): Connection {
    this.connections++;
    const next = (): FakeAnswer => this.behaviour(this.calls++);
    let sockets = 0;
    let open = false;
    return {
      get socketsOpened() {
        return sockets;
      },
      resends: 0,
      send(done: (outcome: Outcome) => void): void {
        if (!open) {
          sockets++;
          open = true;
        }
        const answer = next();
        const outcome: Outcome = {
          status: answer.status,
          errorKind: answer.status === -1 ? (answer.errorKind ?? 'reset') : undefined,
          errorMessage: answer.status === -1 ? 'fake socket error' : undefined,
          headerBytes: answer.status === -1 ? 0 : 100,
          bodyBytes: answer.status === -1 ? 0 : 10,
          viaEnvoy: false,
          envoyOverloaded: false,
          version: undefined,
          attempt: 0,
          bodyPrefix: undefined,
        };
        const delay = answer.delayMs ?? 0;
        if (delay > 0) setTimeout(() => done(outcome), delay);
        else setImmediate(() => done(outcome));
      },
      reconnect: (): void => {
        this.reconnects++;
        open = false;
      },
      close(): void {
        open = false;
      },
    };
  }

  close(): void {
    this.closed = true;
  }
}
