// Writing a tokenizer folder the Hugging Face libraries (Python and JS) load:
// tokenizer.json (the tokenizers-library format) and tokenizer_config.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Json = Record<string, unknown>;

export interface SpecialTokenNames {
  bos?: string;
  eos?: string;
  unk?: string;
  pad?: string;
  cls?: string;
  sep?: string;
  mask?: string;
}

export function addedTokensJson(specials: string[]): Json[] {
  return specials.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
}

/** TemplateProcessing that wraps a sequence in the given special tokens (either may be absent). */
export function templateJson(vocab: Map<string, number>, first?: string, last?: string): Json {
  const special = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } });
  const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const single = [...(first ? [special(first)] : []), seq('A', 0), ...(last ? [special(last)] : [])];
  const pair = [...single, seq('B', 1), ...(last ? [{ SpecialToken: { id: last, type_id: 1 } }] : [])];
  const tokens = Object.fromEntries(
    [first, last].filter((t): t is string => Boolean(t)).map((t) => [t, { id: t, ids: [vocab.get(t)!], tokens: [t] }]),
  );
  return { type: 'TemplateProcessing', single, pair, special_tokens: tokens };
}

export function tokenizerConfigJson(names: SpecialTokenNames, extra: Json = {}): Json {
  const out: Json = {
    // PreTrainedTokenizerFast: Python's AutoTokenizer builds it from tokenizer.json; transformers.js
    // strips "Fast" and uses its generic PreTrainedTokenizer.
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: 1000000000000000019884624838656,
    clean_up_tokenization_spaces: false,
    ...extra,
  };
  for (const [k, v] of Object.entries(names)) if (v) out[`${k}_token`] = v;
  return out;
}

export function saveTokenizerFolder(folder: string, tokenizerJson: Json, tokenizerConfig: Json): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(tokenizerJson, null, 2) + '\n');
  writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2) + '\n');
}
