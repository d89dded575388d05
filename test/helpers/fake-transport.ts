/** An in-memory Transport for engine tests: answers each call as `behaviour` says, after the
 * given delay, so scheduling and recording can be tested exactly without sockets. */
import type { ErrorKind, Outcome } from '../../src/model/outcome';
import type { Connection, Transport } from '../../src/transport/transport';

export interface FakeAnswer {
  status: number;
  delayMs?: number;
  errorKind?: ErrorKind;
  /** The message of a socket error; 'fake socket error' when absent. */
  errorMessage?: string;
  /** Never answer (a silent server): `done` is called only when the connection is closed. */
  silent?: boolean;
  /** The connection counts this call as sent again by itself (Connection.resends). */
  resent?: boolean;
}

export class FakeTransport implements Transport {
  calls = 0;
  reconnects = 0;
  connections = 0;
  /** Connections closed while a call was in flight on them. */
  closedInFlight = 0;
  closed = false;

  /** `behaviour` gets the 0-based index of the call across the transport (warm-up included). */
  constructor(private readonly behaviour: (call: number) => FakeAnswer = () => ({ status: 200 })) {}

  newConnection(): Connection {
    this.connections++;
    const next = (): FakeAnswer => this.behaviour(this.calls++);
    let sockets = 0;
    let resends = 0;
    let open = false;
    let waiting: ((outcome: Outcome) => void) | undefined;
    return {
      get socketsOpened() {
        return sockets;
      },
      get resends() {
        return resends;
      },
      send(done: (outcome: Outcome) => void): void {
        if (!open) {
          sockets++;
          open = true;
        }
        const answer = next();
        if (answer.resent === true) resends++;
        if (answer.silent === true) {
          waiting = done;
          return;
        }
        const outcome: Outcome = {
          status: answer.status,
          errorKind: answer.status === -1 ? (answer.errorKind ?? 'reset') : undefined,
          errorMessage: answer.status === -1 ? (answer.errorMessage ?? 'fake socket error') : undefined,
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
      close: (): void => {
        open = false;
        const done = waiting;
        waiting = undefined;
        if (done === undefined) return;
        // As the real transports do: a call in flight ends as 'closed', asynchronously.
        this.closedInFlight++;
        const closed: Outcome = { status: -1, errorKind: 'closed', errorMessage: 'closed while in flight', headerBytes: 0, bodyBytes: 0, viaEnvoy: false, envoyOverloaded: false, version: undefined, attempt: 0, bodyPrefix: undefined };
        setImmediate(() => done(closed));
      },
    };
  }

  close(): void {
    this.closed = true;
  }
}
