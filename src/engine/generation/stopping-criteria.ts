// Stopping criteria: after each step, say for every batch row whether it is done.

export interface StoppingCriterion {
  /** ids: every row's full sequence so far; returns one flag per row. */
  isDone(ids: readonly (readonly number[])[], promptLengths: readonly number[]): boolean[];
}

export class MaxNewTokensCriteria implements StoppingCriterion {
  constructor(readonly maxNewTokens: number) {
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new Error(`maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  }

  isDone(ids: readonly (readonly number[])[], promptLengths: readonly number[]): boolean[] {
    return ids.map((row, b) => row.length - promptLengths[b] >= this.maxNewTokens);
  }
}

export class EosTokenCriteria implements StoppingCriterion {
  private readonly eos: Set<number>;

  constructor(eosTokenIds: number[]) {
    this.eos = new Set(eosTokenIds);
  }

  isDone(ids: readonly (readonly number[])[], promptLengths: readonly number[]): boolean[] {
    return ids.map((row, b) => row.length > promptLengths[b] && this.eos.has(row[row.length - 1]));
  }
}

export class StoppingCriteriaList implements StoppingCriterion {
  constructor(readonly criteria: StoppingCriterion[] = []) {}

  push(c: StoppingCriterion): void {
    this.criteria.push(c);
  }

  isDone(ids: readonly (readonly number[])[], promptLengths: readonly number[]): boolean[] {
    const done = ids.map(() => false);
    for (const c of this.criteria) c.isDone(ids, promptLengths).forEach((d, b) => (done[b] ||= d));
    return done;
  }
}
