/** A scenario's shell commands (`run:`, `start:`, `sidecar.statsCmd`) read as `sh` would split
 * them into simple commands and words, far enough for `k8s job` to find the files and the
 * kubectl calls they name. Not a shell: what it cannot read safely (here-documents, backquotes,
 * an unclosed quote) is reported, so the Job is refused rather than shipped without a file. Pure. */

export interface SimpleCommand {
  /** The words after quote removal, leading `NAME=value` assignments and `exec` dropped. */
  words: string[];
  /** Which words held an unquoted or double-quoted `$`: their value is only known in the pod. */
  expanded: boolean[];
}

export type ShellReading = { ok: true; commands: SimpleCommand[] } | { ok: false; reason: string };

const OPERATORS = new Set([';', '&', '|', '\n', '(', ')']);

export function simpleCommands(command: string): ShellReading {
  const commands: SimpleCommand[] = [];
  let words: string[] = [];
  let expanded: boolean[] = [];
  let word: string | undefined;
  let dollar = false;
  const endWord = (): void => {
    if (word !== undefined) {
      words.push(word);
      expanded.push(dollar);
    }
    word = undefined;
    dollar = false;
  };
  const endCommand = (): void => {
    endWord();
    let start = 0;
    while (start < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[start] as string) || words[start] === 'exec')) start += 1;
    if (start < words.length) commands.push({ words: words.slice(start), expanded: expanded.slice(start) });
    words = [];
    expanded = [];
  };
  for (let i = 0; i < command.length; i += 1) {
    const c = command[i] as string;
    if (c === '\\') {
      const next = command[i + 1];
      i += 1;
      if (next !== undefined && next !== '\n') word = (word ?? '') + next;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) return { ok: false, reason: 'an unclosed quote' };
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = '';
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j += 1) {
        if (command[j] === '\\' && j + 1 < command.length) j += 1;
        else if (command[j] === '`') return { ok: false, reason: 'a backquoted command' };
        else if (command[j] === '$' && command[j + 1] === '(') return { ok: false, reason: 'a $(...) inside double quotes' };
        else if (command[j] === '$') dollar = true;
        text += command[j] as string;
      }
      if (j >= command.length) return { ok: false, reason: 'an unclosed quote' };
      word = (word ?? '') + text;
      i = j;
    } else if (c === '`') {
      return { ok: false, reason: 'a backquoted command' };
    } else if (c === '<' && command[i + 1] === '<') {
      return { ok: false, reason: 'a here-document (<<)' };
    } else if (c === '$' && command[i + 1] === '(') {
      // $( ... ): its inside is a command of its own, read like the rest.
      endCommand();
      i += 1;
    } else if (c === '#' && word === undefined) {
      while (i + 1 < command.length && command[i + 1] !== '\n') i += 1;
    } else if (OPERATORS.has(c)) {
      endCommand();
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if ((c === '>' || c === '<') && (word === undefined || /^\d+$/.test(word))) {
      // A redirection's target is the shell's business, not an argument; `2>&1` too.
      word = undefined;
      dollar = false;
      while (command[i + 1] === '>' || command[i + 1] === '&') i += 1;
      words.push(c);
      expanded.push(false);
    } else {
      if (c === '$') dollar = true;
      word = (word ?? '') + c;
    }
  }
  endCommand();
  return { ok: true, commands: dropRedirections(commands) };
}

/** `> file` and `< file` pairs out: the file is where output goes, not a step's argument. */
function dropRedirections(commands: SimpleCommand[]): SimpleCommand[] {
  return commands
    .map((cmd) => {
      const words: string[] = [];
      const expanded: boolean[] = [];
      for (let i = 0; i < cmd.words.length; i += 1) {
        const w = cmd.words[i] as string;
        if (w === '>' || w === '<') {
          i += 1;
          continue;
        }
        words.push(w);
        expanded.push(cmd.expanded[i] as boolean);
      }
      return { words, expanded };
    })
    .filter((cmd) => cmd.words.length > 0);
}
