/**
 * The only module that talks to @inquirer/prompts. The guided flow asks through this small
 * interface; Ctrl-C makes inquirer throw ExitPromptError, which the CLI's boundary reports.
 */

import { forTerminal } from '../util/terminal.js';

/** A line for the person at the terminal (stdout; secrets masked and control characters shown, like every other output). */
export function say(line = ''): void {
  process.stdout.write(forTerminal(line) + '\n');
}

/** A check run on each answer as it is typed: true, or the message shown under the prompt. */
export type Validate = (value: string) => true | string | Promise<true | string>;

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
}

export interface Prompts {
  input(message: string, opts?: { default?: string; validate?: Validate }): Promise<string>;
  confirm(message: string, defaultValue: boolean): Promise<boolean>;
  select<T>(message: string, choices: Choice<T>[], defaultValue?: T): Promise<T>;
  /** Masked; the value is kept in memory only. */
  password(message: string, validate?: Validate): Promise<string>;
}

/** Loaded lazily: unattended runs never import inquirer. */
export async function inquirerPrompts(): Promise<Prompts> {
  const inq = await import('@inquirer/prompts');
  return {
    input: (message, opts = {}) => inq.input({ message, ...(opts.default !== undefined ? { default: opts.default } : {}), ...(opts.validate ? { validate: opts.validate } : {}) }),
    confirm: (message, defaultValue) => inq.confirm({ message, default: defaultValue }),
    select: <T>(message: string, choices: Choice<T>[], defaultValue?: T) =>
      inq.select<T>({ message, choices, ...(defaultValue !== undefined ? { default: defaultValue } : {}) }),
    password: (message, validate) => inq.password({ message, mask: '*', ...(validate ? { validate } : {}) }),
  };
}

/** Turn a problem message (or none) into inquirer's validate result. */
export function check(problem: string | undefined): true | string {
  return problem ?? true;
}
