/** How many calls each connection makes and when, following Fortio's periodic runner so that a
 * pasted Fortio command line makes the same calls at the same times. Pure. */
import type { LoadPlan } from '../model/load-plan';

export interface ConnectionSchedule {
  /** Timed calls this connection makes; undefined: until the duration ends or an interrupt. */
  calls: number | undefined;
  /** When slot i is due, in ms after the run start; undefined at max speed (no schedule). */
  slotMs: ((i: number) => number) | undefined;
  /** Slot duration, for -nocatchup and jitter (ms); 0 at max speed. */
  periodMs: number;
}

export interface RunSchedule {
  connections: ConnectionSchedule[];
  /** Total timed calls when known in advance (-n, or -qps with -t). */
  totalCalls: number | undefined;
  /** Fortio's Warning lines (periodic.go runQPSSetup) for the adjustments it also makes. */
  notes: string[];
}

/** When arrival k of a linear ramp is due, in ms: the rate goes from `from` to `to` per second
 * over `durationMs`, so the count by time t is from*t + (to-from)*t^2/(2T); solved for t. */
export function rampSlotMs(from: number, to: number, durationMs: number): (k: number) => number {
  const seconds = durationMs / 1000;
  const slope = (to - from) / seconds;
  if (Math.abs(slope) < 1e-12) return (k) => (1000 * k) / from;
  return (k) => (1000 * (-from + Math.sqrt(Math.max(0, from * from + 2 * slope * k)))) / slope;
}

/** Calls a ramp makes: the area under the rate line. */
export function rampCalls(from: number, to: number, durationMs: number): number {
  return Math.floor(((from + to) / 2) * (durationMs / 1000));
}

export function planSchedule(plan: Pick<LoadPlan, 'connections' | 'qps' | 'durationMs' | 'requests' | 'uniform'> & Partial<Pick<LoadPlan, 'ramp'>>): RunSchedule {
  const notes: string[] = [];
  if (plan.ramp !== undefined) {
    // Each connection ramps its share; no Fortio stretch (Fortio has no ramps).
    const { from, to } = plan.ramp;
    const threads = plan.connections;
    const calls = Math.max(1, rampCalls(from / threads, to / threads, plan.durationMs));
    const slot = rampSlotMs(from / threads, to / threads, plan.durationMs);
    const meanPeriodMs = (1000 * threads * 2) / Math.max(from + to, 1e-9);
    return {
      connections: repeat(threads, (t) => {
        const offsetMs = plan.uniform ? (meanPeriodMs * t) / threads : 0;
        return { calls, slotMs: (i: number) => offsetMs + slot(i), periodMs: meanPeriodMs };
      }),
      totalCalls: calls * threads,
      notes,
    };
  }
  let threads = plan.connections;
  const exactly = plan.requests;
  if (plan.qps <= 0) {
    if (exactly === undefined) {
      return { connections: repeat(threads, () => ({ calls: undefined, slotMs: undefined, periodMs: 0 })), totalCalls: undefined, notes };
    }
    const each = Math.floor(exactly / threads);
    const leftOver = exactly % threads;
    return {
      connections: repeat(threads, (t) => ({ calls: each + (t === 0 ? leftOver : 0), slotMs: undefined, periodMs: 0 })),
      totalCalls: exactly,
      notes,
    };
  }
  // Paced. Fortio sizes the run as qps x duration calls, or exactly -n.
  const hasDuration = exactly === undefined && plan.durationMs > 0;
  let numCalls = exactly ?? (hasDuration ? Math.floor((plan.qps * plan.durationMs) / 1000) : undefined);
  if (numCalls !== undefined) {
    if (numCalls < 2) {
      // periodic.go runQPSSetup's warnings, in its words.
      notes.push('Increasing the number of calls to the minimum of 2 with 1 thread. total duration will increase');
      numCalls = 2;
      threads = 1;
    }
    if (2 * threads > numCalls) {
      const lowered = Math.floor(numCalls / 2);
      notes.push(`Lowering number of threads - total call ${numCalls} -> lowering from ${threads} to ${lowered} threads`);
      threads = lowered;
    }
  }
  const perThreadQps = plan.qps / threads;
  const periodMs = 1000 / perThreadQps;
  const each = numCalls === undefined ? undefined : Math.floor(numCalls / threads);
  const leftOver = exactly !== undefined && each !== undefined ? exactly - each * threads : 0;
  const connections = repeat(threads, (t) => {
    const calls = each === undefined ? undefined : each + (t === 0 ? leftOver : 0);
    // -uniform: connection t starts t/threads of a period late, so sends interleave evenly.
    const offsetMs = plan.uniform ? (periodMs * t) / threads : 0;
    let slotMs: (i: number) => number;
    if (hasDuration && calls !== undefined && calls > 1) {
      // Fortio stretches the schedule so the last call lands at the end of the duration:
      // for 2s at 1 qps there is one 2s pause between the 2 calls.
      const stretch = 1 + 1 / (calls - 1);
      slotMs = (i) => offsetMs + i * stretch * periodMs;
    } else {
      slotMs = (i) => offsetMs + i * periodMs;
    }
    return { calls, slotMs, periodMs };
  });
  const totalCalls = numCalls === undefined ? undefined : exactly ?? (each as number) * threads;
  return { connections, totalCalls, notes };
}

function repeat<T>(count: number, make: (index: number) => T): T[] {
  return Array.from({ length: count }, (_, index) => make(index));
}
