/** Answers in a row that found every chunk outside the hint missing, before batches stop asking. */
export const TRUST_AFTER = 3;
/** Once they stop, one batch in this many still asks. */
export const PROBE_EVERY = 8;

/**
 * Whether a backup's next batch asks the store which of its chunks it lacks
 * before sending the ones the previous point did not name (the `known` hint).
 * Those are new to the store unless the account holds them from elsewhere (a
 * disk cloned from another, a second copy of a template). Asking costs a
 * request and a round trip per batch, before the batch can be sent; not
 * asking costs sending the blobs of chunks the store holds, which it then
 * verifies and drops (the blobs are compressed by then either way).
 *
 * So the first batches ask. Once `trustAfter` answers in a row found every
 * such chunk missing, batches send them without asking, but one in
 * `probeEvery` still asks; an answer that finds any of them held goes back to
 * asking every batch. Chunks the hint names are always asked about: they are
 * not compressed until the store says it lacks them.
 */
export class AskFirst {
  private lackedInARow = 0;
  private sinceAsked = 0;

  constructor(
    private readonly trustAfter = TRUST_AFTER,
    private readonly probeEvery = PROBE_EVERY,
  ) {}

  /** Whether the next batch that holds chunks outside the hint asks about them. */
  next(): boolean {
    if (this.lackedInARow < this.trustAfter) return true;
    this.sinceAsked = (this.sinceAsked + 1) % this.probeEvery;
    return this.sinceAsked === 0;
  }

  /** What an asked batch learned: of `asked` chunks outside the hint, the store lacked `lacked`. */
  learn(asked: number, lacked: number): void {
    if (asked === 0) return;
    this.lackedInARow = lacked === asked ? this.lackedInARow + 1 : 0;
    if (this.lackedInARow === 0) this.sinceAsked = 0;
  }
}
