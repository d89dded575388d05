/** The repository's Dockerfile as data, for the tests that check it and mirror its steps. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined with single spaces. */
  args: string;
}

export interface Stage {
  /** The image as written, ARGs not expanded (`${NODE_IMAGE}`). */
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  text: string;
  /** Lines that are not comments (instructions and their continuations). */
  codeLines: string[];
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function readDockerfile(path = join(ROOT, 'Dockerfile')): Dockerfile {
  const text = readFileSync(path, 'utf8');
  const codeLines = text.split('\n').filter((line) => !/^\s*#/.test(line) && line.trim() !== '');
  const instructions: Instruction[] = [];
  let pending = '';
  for (const line of codeLines) {
    const continued = /\\\s*$/.test(line);
    pending += `${pending === '' ? '' : ' '}${line.replace(/\\\s*$/, '').trim()}`;
    if (continued) continue;
    const match = /^(\S+)\s*(.*)$/.exec(pending) as RegExpExecArray;
    instructions.push({ keyword: (match[1] as string).toUpperCase(), args: match[2] as string });
    pending = '';
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from, as, name] = instruction.args.split(/\s+/);
      stages.push({ from: from as string, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        const [key, value] = instruction.args.split('=');
        globalArgs[key as string] = value ?? '';
      }
    } else {
      (stages[stages.length - 1] as Stage).instructions.push(instruction);
    }
  }
  return { text, codeLines, globalArgs, stages };
}

export function stage(dockerfile: Dockerfile, name: string): Stage {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (found === undefined) throw new Error(`the Dockerfile has no stage ${name}`);
  return found;
}

export function argsOf(s: Stage, keyword: string): string[] {
  return s.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** A stage's `COPY SRC... DEST` lines from the build context (not --from another stage). */
export function contextCopies(s: Stage): Array<{ sources: string[]; dest: string }> {
  return argsOf(s, 'COPY')
    .filter((args) => !args.startsWith('--from'))
    .map((args) => {
      const words = args.split(/\s+/);
      return { sources: words.slice(0, -1), dest: words[words.length - 1] as string };
    });
}
