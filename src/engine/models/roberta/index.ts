// RoBERTa shares the BERT encoder (src/engine/models/bert); it differs only in the weight
// prefix ('roberta.'), the masked-LM head names ('lm_head.*') and position ids, which start
// at padding_idx + 1 and skip padding tokens. Those are chosen by config.model_type there.
import { EncoderModel } from '../bert/model.js';
import type { EncoderOptions } from '../bert/model.js';

export async function loadRoberta(dir: string, opts: EncoderOptions & { id2label?: Record<number, string> } = {}): Promise<EncoderModel> {
  const m = await EncoderModel.fromPretrained(dir, opts);
  if (m.config.modelType !== 'roberta') throw new Error(`${dir}: model_type is '${m.config.modelType}', not 'roberta'`);
  return m;
}
export { EncoderModel };
