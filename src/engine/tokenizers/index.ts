export { TextTokenizer, loadTokenizer, checkVocabFits } from './tokenizer.js';
export type { TokenizedText, Offset, EncodeOptions, SpecialTokenIds } from './tokenizer.js';
export { trainWordPiece, WordPieceModel } from './wordpiece.js';
export type { WordPieceTrainOptions } from './wordpiece.js';
export { trainByteLevelBpe, ByteBpeModel } from './byte-bpe.js';
export type { ByteBpeTrainOptions } from './byte-bpe.js';
export { learnMerges } from './merges.js';
