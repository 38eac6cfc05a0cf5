// Shapes shared by the trainer stages.

/** A sentence or word as code points, with how often it occurs. */
export interface CountedChars {
  readonly chars: readonly number[];
  readonly count: number;
}

/** A learned piece and its score, in model order (meta pieces are added when the model is built). */
export interface TrainedPiece {
  readonly piece: string;
  readonly score: number;
}

/** Compares code point sequences the way std::string compares their UTF-8 bytes. */
export function compareCodePoints(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
