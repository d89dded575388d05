/** Streaming parsers for proxy stats dumps: Envoy admin `/stats` text, `/stats?format=json`, and
 * Prometheus exposition text 0.0.4 (Envoy's `/stats/prometheus`, HAProxy's exporter), one file
 * per format in formats/. Pure: no I/O. Text formats keep only the unfinished last line between
 * pushes, so memory is bounded by the longest line whatever the dump size; a malformed line
 * throws `StatsParseError` naming the line and what was expected there, never a silent skip. */

import { EnvoyJsonParser } from './formats/envoy-json';
import { EnvoyTextParser } from './formats/envoy-text';
import type { LineParser } from './formats/line-parser';
import { isMetricNameChar, isMetricNameStart, parsePromValue, PrometheusParser } from './formats/prometheus';
import { isBlank, isWhitespace } from './formats/text-scan';
import { StatsParseError, type StatSample } from './stat-sample';
import type { StatsFormat } from '../model/sidecar-report';

const CR = 13;
const HASH = 35;
const OPEN_BRACE = 123;

export class StatsParser {
  private rest = '';
  private lineCount = 0;
  private state: 'open' | 'ended' | 'failed' = 'open';
  /** Envoy JSON has a parser of its own: the document is one line, so there is no line to keep. */
  private readonly json: EnvoyJsonParser | undefined;
  /** The text format's parser, given whole lines; undefined for Envoy JSON. */
  private readonly text: LineParser | undefined;

  constructor(
    readonly format: StatsFormat,
    onSample: (sample: StatSample) => void,
  ) {
    this.json = format === 'envoy-json' ? new EnvoyJsonParser(onSample) : undefined;
    this.text = this.json !== undefined ? undefined : format === 'envoy-text' ? new EnvoyTextParser(onSample) : new PrometheusParser(onSample);
  }

  /** Lines consumed so far (blank lines included); the last line counts once end() has run. */
  get lines(): number {
    return this.json === undefined ? this.lineCount : this.json.lines;
  }

  push(chunk: string): void {
    this.checkOpen('push');
    if (chunk.length === 0) return;
    if (this.json !== undefined) {
      try {
        this.json.push(chunk);
      } catch (error) {
        this.state = 'failed';
        throw error;
      }
      return;
    }
    // Without a newline the chunk only extends the unfinished line: no scan, no flattening.
    if (chunk.indexOf('\n') === -1) {
      this.rest += chunk;
      return;
    }
    const text = this.rest.length === 0 ? chunk : this.rest + chunk;
    let start = 0;
    try {
      let nl = text.indexOf('\n');
      while (nl !== -1) {
        this.line(text.slice(start, nl));
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
    this.rest = start === text.length ? '' : text.slice(start);
  }

  end(): void {
    this.checkOpen('end');
    try {
      if (this.json !== undefined) {
        this.json.end();
      } else if (this.rest.length > 0) {
        const last = this.rest;
        this.rest = '';
        this.line(last);
      }
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
    this.state = 'ended';
  }

  private checkOpen(what: string): void {
    if (this.state !== 'open') throw new Error(`StatsParser.${what}() after ${this.state === 'ended' ? 'end()' : 'a parse error'}`);
  }

  private line(raw: string): void {
    const n = ++this.lineCount;
    // CRLF dumps (a capture saved on Windows) parse like LF ones.
    const line = raw.length > 0 && raw.charCodeAt(raw.length - 1) === CR ? raw.slice(0, -1) : raw;
    (this.text as LineParser).line(line, n);
  }
}

/** The format of a dump from its first bytes, or undefined when they do not tell. */
export function detectFormat(head: string): StatsFormat | undefined {
  let i = 0;
  if (head.charCodeAt(0) === 0xfeff) i = 1;
  while (i < head.length && isWhitespace(head.charCodeAt(i))) i++;
  if (head.charCodeAt(i) === OPEN_BRACE) return head.includes('"stats"', i) ? 'envoy-json' : undefined;
  let start = i;
  while (start < head.length) {
    let nl = head.indexOf('\n', start);
    if (nl === -1) nl = head.length;
    const line = head.slice(start, nl).trim();
    start = nl + 1;
    if (line.length === 0) continue;
    // Neither Envoy text nor JSON has comments.
    if (line.charCodeAt(0) === HASH) return 'prometheus';
    let m = 0;
    if (isMetricNameStart(line.charCodeAt(0))) {
      m = 1;
      while (m < line.length && isMetricNameChar(line.charCodeAt(m))) m++;
    }
    const next = line.charCodeAt(m);
    if (m > 0 && next === OPEN_BRACE) return 'prometheus';
    if (m > 0 && isBlank(next)) {
      // `foo: 1` is both an Envoy line and a Prometheus sample of metric `foo:`; Envoy names
      // ending in ':' are its separator, Prometheus names ending in ':' are unheard of.
      if (line.charCodeAt(m - 1) === 58 /* : */) return 'envoy-text';
      const value = line.slice(m).trim().split(/[ \t]/)[0] ?? '';
      if (parsePromValue(value) !== undefined) return 'prometheus';
    }
    return line.indexOf(': ') > 0 ? 'envoy-text' : undefined;
  }
  return undefined;
}

/** Parses a whole dump held in memory (small inputs and tests); detects the format if not given. */
export function parseStats(text: string, format?: StatsFormat): StatSample[] {
  const detected = format ?? detectFormat(text.slice(0, 4096));
  if (detected === undefined) {
    throw new StatsParseError(1, 'expected Envoy /stats text ("name: value"), Envoy JSON ({"stats":[...]}) or Prometheus text ("# TYPE", "name{...} value")');
  }
  const samples: StatSample[] = [];
  const parser = new StatsParser(detected, (sample) => samples.push(sample));
  parser.push(text);
  parser.end();
  return samples;
}
