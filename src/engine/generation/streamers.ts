// Streaming: generate() calls put(ids) once with the prompt and then once per step with the
// new token of every row, and end() when it stops. A subscription layer adapts this interface.

export interface Streamer {
  /** ids[b] = the tokens row b gained (the prompt on the first call). */
  put(ids: number[][]): void;
  end(): void;
}

export interface TokenDecoder {
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
}

export interface TextStreamerOptions {
  /** Do not emit the prompt. Default true. */
  skipPrompt?: boolean;
  skipSpecialTokens?: boolean;
  /** Receives each piece of text as soon as it holds whole words; `final` on the last call. */
  onText: (text: string, final: boolean) => void;
}

const CJK = /[\u4E00-\u9FFF\u3400-\u4DBF\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\uF900-\uFAFF\u{2F800}-\u{2FA1F}]$/u;

/**
 * Decodes a single sequence (batch 1) incrementally and emits text a word at a time: it
 * re-decodes the tokens since the last line break and releases text up to the last space,
 * so a word split over several tokens (or a character over several bytes) is never cut.
 */
export class TextStreamer implements Streamer {
  private cache: number[] = [];
  private printed = 0;
  private promptSeen = false;

  constructor(
    readonly tokenizer: TokenDecoder,
    readonly options: TextStreamerOptions,
  ) {}

  put(ids: number[][]): void {
    if (ids.length !== 1) throw new Error(`TextStreamer streams one sequence; got a batch of ${ids.length}. Use a TokenStreamer for batches.`);
    if (!this.promptSeen) {
      this.promptSeen = true;
      if (this.options.skipPrompt ?? true) return;
    }
    this.cache.push(...ids[0]);
    const text = this.tokenizer.decode(this.cache, { skipSpecialTokens: this.options.skipSpecialTokens });
    let chunk: string;
    if (text.endsWith('\n')) {
      chunk = text.slice(this.printed);
      this.cache = [];
      this.printed = 0;
    } else if (text.endsWith('\uFFFD')) {
      return; // an incomplete UTF-8 character: wait for its remaining bytes
    } else if (CJK.test(text)) {
      chunk = text.slice(this.printed);
      this.printed += chunk.length;
    } else {
      chunk = text.slice(this.printed, text.lastIndexOf(' ') + 1);
      this.printed += chunk.length;
    }
    if (chunk) this.options.onText(chunk, false);
  }

  end(): void {
    const text = this.cache.length ? this.tokenizer.decode(this.cache, { skipSpecialTokens: this.options.skipSpecialTokens }) : '';
    const rest = text.slice(this.printed);
    this.cache = [];
    this.printed = 0;
    this.options.onText(rest, true);
  }
}

/** Calls back with every new token id of every row (batch-friendly, no decoding). */
export class TokenStreamer implements Streamer {
  private promptSeen = false;

  constructor(
    readonly onTokens: (ids: number[][]) => void,
    readonly onEnd: () => void = () => {},
  ) {}

  put(ids: number[][]): void {
    if (!this.promptSeen) {
      this.promptSeen = true;
      return;
    }
    this.onTokens(ids);
  }

  end(): void {
    this.onEnd();
  }
}

/** A TextStreamer per row of a batch: `onText(row, text, final)` receives each row's text as whole words. */
export class BatchTextStreamer implements Streamer {
  private rows: TextStreamer[] = [];

  constructor(
    readonly tokenizer: TokenDecoder,
    readonly onText: (row: number, text: string, final: boolean) => void,
    readonly options: { skipSpecialTokens?: boolean } = { skipSpecialTokens: true },
  ) {}

  put(ids: number[][]): void {
    if (this.rows.length === 0) {
      this.rows = ids.map((_, row) => new TextStreamer(this.tokenizer, { skipSpecialTokens: this.options.skipSpecialTokens, onText: (text, final) => this.onText(row, text, final) }));
    }
    ids.forEach((rowIds, row) => this.rows[row]!.put([rowIds]));
  }

  end(): void {
    for (const row of this.rows) row.end();
  }
}
