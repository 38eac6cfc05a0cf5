// The base of every error llamats raises for bad input (a file, an argument, a model that
// does not fit). The CLI prints such errors as one line and exits with code 2; anything
// else is a bug and keeps its stack trace.

export class LlamatsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad bytes in a file: names the file, the field being read and its byte offset. */
export class FormatError extends LlamatsError {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`${file}: ${field} at byte ${offset}: ${detail}`);
  }
}

/** Progress of a long job (merge, quantize, convert): the CLI draws it on stderr. */
export interface Progress {
  /** Units done so far and in total (bytes, tensors, tokens: whatever `unit` says). */
  readonly done: number;
  readonly total: number;
  readonly unit: string;
  /** What is being worked on now, e.g. a tensor name. */
  readonly label?: string;
}
export type ProgressCallback = (p: Progress) => void;
