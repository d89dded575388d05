/** The HTTP/2 sessions of one transport of meshload's own framing (`load -h2`, gRPC), each in a
 * slot that several Connections share (-h2-multiplex, gRPC's -s), or in none (-1: a session of
 * one Connection's own). Which session each slot uses now, and every session not yet closed, so
 * the transport can destroy them all when it closes. */
import type { H2WireSession } from './session';

export class SessionSlots {
  /** The session each slot sends on now; undefined once it is retired or gracefully closed. */
  private readonly current: Array<H2WireSession | undefined> = [];
  /** Every session not yet closed, with its slot. */
  private readonly slotOf = new Map<H2WireSession, number>();

  /** The slot's session if it can take a stream; undefined means open one. */
  usable(slot: number): H2WireSession | undefined {
    const session = this.current[slot];
    return session !== undefined && session.usable() ? session : undefined;
  }

  add(session: H2WireSession, slot: number): void {
    this.slotOf.set(session, slot);
    if (slot >= 0) this.current[slot] = session;
  }

  /** Closes the slot's session gracefully (-connection-reuse, its last Connection gone): streams
   * in flight finish, the next call opens a new one. */
  shutdown(slot: number): void {
    const session = this.current[slot];
    if (session === undefined) return;
    this.current[slot] = undefined;
    session.shutdown();
  }

  /** A session that takes no new streams (GOAWAY, an error) leaves its slot. */
  retired(session: H2WireSession): void {
    const slot = this.slotOf.get(session);
    if (slot !== undefined && slot >= 0 && this.current[slot] === session) this.current[slot] = undefined;
  }

  closed(session: H2WireSession): void {
    this.retired(session);
    this.slotOf.delete(session);
  }

  destroyAll(): void {
    for (const session of [...this.slotOf.keys()]) session.destroy();
    this.current.length = 0;
  }
}
