/** The tokenizer of the checks language: names, numbers with their unit, operators and
 * brackets, and the raw arguments (stat names, share lists) no token class should have to know. */
import { ExpectationError } from './expectation';

type Token =
  | { type: 'name'; text: string; at: number }
  /** `suffix` is what follows the digits without a space: '%', a duration unit, or ''. */
  | { type: 'number'; text: string; value: number; suffix: string; at: number }
  | { type: 'op'; text: string; at: number }
  | { type: 'punct'; text: '(' | ')' | '[' | ']' | ','; at: number }
  | { type: 'end'; text: ''; at: number };

const NAME = /[A-Za-z_][A-Za-z0-9_.]*/y;
const NUMBER = /(\d+(?:\.\d*)?|\.\d+)(%|[A-Za-zµμ][A-Za-z0-9µμ.]*)?/y;
const OP = /<=|>=|==|!=|<|>|=|~/y;

export class Lexer {
  private pos = 0;
  private peeked: Token | undefined;

  constructor(readonly text: string) {}

  fail(at: number, detail: string): never {
    throw new ExpectationError(this.text, at + 1, detail);
  }

  peek(): Token {
    this.peeked ??= this.scan();
    return this.peeked;
  }

  next(): Token {
    const token = this.peek();
    this.peeked = undefined;
    return token;
  }

  /** Everything up to the matching `)`, as written: stat names carry dots, dashes and Prometheus
   * selectors (`http_responses_total{code="5xx"}`) that no token class should have to know. */
  rawArgument(open: number, fn: string): { text: string; at: number } {
    if (this.peeked !== undefined) throw new Error('rawArgument after peek');
    const start = this.pos;
    let quoted = false;
    for (let i = start; i < this.text.length; i++) {
      const c = this.text[i];
      if (c === '"') quoted = !quoted;
      else if (c === ')' && !quoted) {
        this.pos = i + 1;
        const raw = this.text.slice(start, i);
        return { text: raw.trim(), at: start + (raw.length - raw.trimStart().length) };
      }
    }
    return this.fail(open, `missing ) to close ${fn}(`);
  }

  /** Everything up to `close`, after a consumed opening bracket. */
  rawUntil(close: string, open: number, what: string): { text: string; at: number } {
    if (this.peeked !== undefined) throw new Error('rawUntil after peek');
    const end = this.text.indexOf(close, this.pos);
    if (end < 0) return this.fail(open, `missing ${close} to close ${what}`);
    const start = this.pos;
    this.pos = end + 1;
    return { text: this.text.slice(start, end), at: start };
  }

  private scan(): Token {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
    const at = this.pos;
    if (at >= this.text.length) return { type: 'end', text: '', at };
    const c = this.text[at] as string;
    for (const [re, type] of [
      [NAME, 'name'],
      [OP, 'op'],
    ] as const) {
      re.lastIndex = at;
      const m = re.exec(this.text);
      if (m !== null) {
        this.pos = re.lastIndex;
        return { type, text: m[0], at };
      }
    }
    NUMBER.lastIndex = at;
    const m = NUMBER.exec(this.text);
    if (m !== null) {
      this.pos = NUMBER.lastIndex;
      return { type: 'number', text: m[0], value: Number(m[1]), suffix: m[2] ?? '', at };
    }
    if (c === '(' || c === ')' || c === '[' || c === ']' || c === ',') {
      this.pos++;
      return { type: 'punct', text: c, at };
    }
    return this.fail(at, `unexpected character "${c}"`);
  }
}
