import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar } from './scalars.js';
import { ConnectionType } from './pagination.js';

export enum ModelKindEnum {
  NER_ANNOTATOR = 'NER_ANNOTATOR',
  NER_SYNTHETIC = 'NER_SYNTHETIC',
  GENERATOR = 'GENERATOR',
  ENCODER_PRETRAINED = 'ENCODER_PRETRAINED',
}
registerEnumType(ModelKindEnum, {
  name: 'ModelKind',
  description: 'NER_ANNOTATOR: tagger trained on real notes; NER_SYNTHETIC: tagger trained on synthetic notes; GENERATOR: causal LM; ENCODER_PRETRAINED: a base encoder to fine-tune.',
});

export enum DeviceEnum {
  cpu = 'cpu',
  webgpu = 'webgpu',
  cuda = 'cuda',
}
registerEnumType(DeviceEnum, {
  name: 'Device',
  description: 'cpu (default); webgpu (bundled with onnxruntime-node; NVIDIA through Vulkan); cuda (where its provider is installed). An unavailable device fails the job with a clear error; there is no silent fallback. On webgpu and cuda the job\'s log says, per session after its second run, which nodes ran on the CPU instead (by op) and what they and the copies cost. Training there runs AdamW in the graph: on webgpu the weights and moments stay on the device between steps, on cuda up to 16 steps go into one run (a step that accumulates micro-batches updates on the host).',
});

export enum ModelOrderField {
  createdAt = 'createdAt',
  name = 'name',
}
registerEnumType(ModelOrderField, { name: 'ModelOrderField' });

@ObjectType()
export class Model {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => ModelKindEnum) kind!: ModelKindEnum;
  @Field(() => String, { description: 'Hugging Face model_type: bert, roberta, gpt2, llama.' }) architecture!: string;
  @Field(() => JSONScalar, { description: 'config.json' }) config!: unknown;
  @Field(() => JSONScalar, { description: 'How it was made: data, subset, hyperparameters, steps, seconds.' }) trainingConfig!: unknown;
  @Field(() => ID, { nullable: true }) baseModelId!: string | null;
  @Field(() => ID, { nullable: true }) trainedOnCorpusId!: string | null;
  @Field(() => Boolean, { description: 'Private (owner only) when anything it was made from holds PHI: training corpus, base model or its tokenizer, the annotations it learned from. Weights and vocabulary can memorize names.' }) containsPhi!: boolean;
  @Field(() => Date) createdAt!: Date;
  ownerId!: string;
  createdByJobId!: string | null;
}

@ObjectType()
export class MetricPoint {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => Float) value!: number;
  @Field(() => Int, { nullable: true }) step!: number | null;
  @Field(() => String, { nullable: true }) label!: string | null;
  @Field(() => String, { nullable: true }) split!: string | null;
  @Field(() => Float, { nullable: true }) ciLow!: number | null;
  @Field(() => Float, { nullable: true }) ciHigh!: number | null;
  @Field(() => Date) createdAt!: Date;
}

/** ScratchEncoderInput's defaults, for inputs that omit it. */
export const SCRATCH_DEFAULTS = { hiddenSize: 128, numLayers: 2, numHeads: 2, intermediateSize: 512, maxPositions: 512, vocabSize: 8000 };

@InputType({ description: 'A fresh BERT-style encoder, with a WordPiece tokenizer trained on the training texts.' })
export class ScratchEncoderInput {
  @Field(() => Int, { defaultValue: 128 }) hiddenSize!: number;
  @Field(() => Int, { defaultValue: 2 }) numLayers!: number;
  @Field(() => Int, { defaultValue: 2 }) numHeads!: number;
  @Field(() => Int, { defaultValue: 512 }) intermediateSize!: number;
  @Field(() => Int, { defaultValue: 512 }) maxPositions!: number;
  @Field(() => Int, { defaultValue: 8000 }) vocabSize!: number;
}

@InputType()
export class TrainNerModelInput {
  @Field(() => String) name!: string;
  @Field(() => ID) corpusId!: string;
  @Field(() => String, { defaultValue: 'train', description: 'Documents without a split (generated notes) have the split "".' }) split!: string;
  @Field(() => Float, { defaultValue: 1, description: 'Train on a seeded nested subset of the split (corpusSubsets gives the same documents).' }) documentFraction!: number;
  @Field(() => Int, { defaultValue: 0 }) subsetSeed!: number;
  @Field(() => ID, { nullable: true, description: 'An encoder to fine-tune; omitted: train from scratch.' }) baseModelId?: string;
  @Field(() => ScratchEncoderInput, { nullable: true }) scratch?: ScratchEncoderInput;
  @Field(() => ID, { nullable: true, description: "Learn from this model's machine annotations on the corpus (e.g. synthetic notes tagged by the annotator), skipping the words it left out of its spans unsure (its UNSURE annotations, annotateCorpus's unsureBelow); omitted: the gold annotations." }) annotationModelId?: string;
  @Field(() => Int, { defaultValue: 6 }) epochs!: number;
  @Field(() => Int, { defaultValue: 16 }) batchSize!: number;
  @Field(() => Float, { nullable: true, description: 'Default 1e-3 from scratch, 5e-5 when fine-tuning.' }) learningRate?: number;
  @Field(() => Float, { defaultValue: 0 }) warmupRatio!: number;
  @Field(() => Int, { defaultValue: 128, description: 'Texts are cut into chunks of this many words.' }) chunkWords!: number;
  @Field(() => Float, {
    defaultValue: 0,
    description: 'Hold out this share of the documents (seeded) and score on it after every epoch (metrics val_token_f1, val_entity_f1); the best epoch by strict entity F1 is the model kept. 0: no validation.',
  })
  validationSplit!: number;
  @Field(() => Int, { defaultValue: 2, description: 'With validationSplit: stop after this many epochs without a better strict entity F1.' }) earlyStoppingPatience!: number;
  @Field(() => Int, { defaultValue: 0 }) seed!: number;
  @Field(() => Int, { nullable: true, description: 'Stop after this many optimizer steps.' }) maxSteps?: number;
  @Field(() => ModelKindEnum, { defaultValue: ModelKindEnum.NER_ANNOTATOR }) kind!: ModelKindEnum;
  @Field(() => DeviceEnum, { defaultValue: DeviceEnum.cpu }) device!: DeviceEnum;
}

@InputType({ description: 'A LoRA adapter (PEFT semantics); the paper used r 8, alpha 32.' })
export class LoraInput {
  @Field(() => Int, { defaultValue: 8 }) r!: number;
  @Field(() => Int, { defaultValue: 32 }) alpha!: number;
  @Field(() => [String], { nullable: true, description: 'Default: c_attn and c_proj (GPT-2), q_proj and v_proj (LLaMA).' }) targetModules?: string[];
}

@InputType({ description: 'Domain adaptation of a generator: causal language modelling on a corpus split (no instructions).' })
export class AdaptGeneratorInput {
  @Field(() => String) name!: string;
  @Field(() => ID, { description: 'A causal LM (gpt2, llama) to adapt.' }) baseModelId!: string;
  @Field(() => ID) corpusId!: string;
  @Field(() => String, { defaultValue: 'train' }) split!: string;
  @Field(() => String, { nullable: true, description: 'Measure held-out perplexity on this split after training (metric heldout_perplexity), e.g. "dev".' }) heldOutSplit?: string;
  @Field(() => Float, { defaultValue: 1, description: 'Adapt on a seeded nested subset of the split (the ablations vary this).' }) documentFraction!: number;
  @Field(() => Int, { defaultValue: 0 }) subsetSeed!: number;
  @Field(() => LoraInput, { nullable: true, description: 'Train a LoRA adapter (merged into the result); omitted: train every weight.' }) lora?: LoraInput;
  @Field(() => Int, { defaultValue: 128, description: 'Tokens per training window.' }) seqLen!: number;
  @Field(() => Int, { defaultValue: 8 }) batchSize!: number;
  @Field(() => Int, { defaultValue: 1 }) epochs!: number;
  @Field(() => Int, { nullable: true }) maxSteps?: number;
  @Field(() => Float, { nullable: true, description: 'Default 2e-4 with LoRA, 5e-5 for all weights.' }) learningRate?: number;
  @Field(() => Int, { defaultValue: 0 }) warmupSteps!: number;
  @Field(() => Int, { defaultValue: 0 }) seed!: number;
  @Field(() => DeviceEnum, { defaultValue: DeviceEnum.cpu }) device!: DeviceEnum;
}

export enum DecoderArchitectureEnum {
  gpt2 = 'gpt2',
  llama = 'llama',
}
registerEnumType(DecoderArchitectureEnum, { name: 'DecoderArchitecture', description: 'The Hugging Face model_type of a decoder trained from scratch.' });

export enum EncoderArchitectureEnum {
  bert = 'bert',
  roberta = 'roberta',
}
registerEnumType(EncoderArchitectureEnum, { name: 'EncoderArchitecture', description: 'The Hugging Face model_type of an encoder pre-trained from scratch (masked LM).' });

export enum PretrainArchitectureEnum {
  gpt2 = 'gpt2',
  llama = 'llama',
  bert = 'bert',
  roberta = 'roberta',
}
registerEnumType(PretrainArchitectureEnum, {
  name: 'PretrainArchitecture',
  description: 'The Hugging Face model_type of a model trained from scratch: gpt2 and llama are decoders (causal LM; a GENERATOR), bert and roberta encoders (masked LM; an ENCODER_PRETRAINED that trainNerModel fine-tunes).',
});

@InputType({ description: 'The size of a model trained from scratch; its tokenizer (byte-level BPE; WordPiece for bert) is trained to vocabSize on the same text.' })
export class DecoderSizeInput {
  @Field(() => Int, { defaultValue: 128 }) hiddenSize!: number;
  @Field(() => Int, { defaultValue: 2 }) numLayers!: number;
  @Field(() => Int, { defaultValue: 4 }) numHeads!: number;
  @Field(() => Int, { defaultValue: 512, description: 'LLaMA, BERT and RoBERTa (GPT-2 uses 4 × hiddenSize).' }) intermediateSize!: number;
  @Field(() => Int, { defaultValue: 256 }) maxPositions!: number;
  @Field(() => Int, { defaultValue: 4000 }) vocabSize!: number;
}

/** DecoderSizeInput's defaults, for inputs that omit it. */
export const DECODER_SIZE_DEFAULTS = { hiddenSize: 128, numLayers: 2, numHeads: 4, intermediateSize: 512, maxPositions: 256, vocabSize: 4000 };

@InputType({
  description:
    'Pre-trains a model from scratch (no weights needed) on the text of corpora, e.g. unannotated clinical text imported as TEXT: a tokenizer and a GPT-2 or LLaMA decoder (causal LM; a GENERATOR), or a BERT or RoBERTa encoder (masked LM; an ENCODER_PRETRAINED to fine-tune as a tagger).',
})
export class PretrainModelInput {
  @Field(() => String) name!: string;
  @Field(() => [ID], { defaultValue: [], description: 'Every document of these corpora.' }) corpusIds!: string[];
  @Field(() => ID, { nullable: true, description: 'And one split of this corpus (e.g. a real corpus\'s "train").' }) corpusId?: string;
  @Field(() => String, { nullable: true }) split?: string;
  @Field(() => Float, { defaultValue: 0.05, description: 'Share of documents held out to measure perplexity, or masked-LM loss for encoders (every round(1/x)-th).' }) heldOutFraction!: number;
  @Field(() => PretrainArchitectureEnum, { defaultValue: PretrainArchitectureEnum.gpt2 }) architecture!: PretrainArchitectureEnum;
  @Field(() => DecoderSizeInput, { nullable: true }) size?: DecoderSizeInput;
  @Field(() => Float, { defaultValue: 0.15, description: 'Encoders (bert, roberta): the share of tokens chosen for prediction (of those, 80% become the mask token, 10% a random token, 10% stay). Ignored for decoders.' }) maskProbability!: number;
  @Field(() => Int, { defaultValue: 128 }) seqLen!: number;
  @Field(() => Int, { defaultValue: 8 }) batchSize!: number;
  @Field(() => Int, { defaultValue: 1 }) epochs!: number;
  @Field(() => Int, { nullable: true }) maxSteps?: number;
  @Field(() => Float, { defaultValue: 0.001 }) learningRate!: number;
  @Field(() => Int, { defaultValue: 0 }) warmupSteps!: number;
  @Field(() => Int, { defaultValue: 0 }) seed!: number;
  @Field(() => DeviceEnum, { defaultValue: DeviceEnum.cpu }) device!: DeviceEnum;
}

@InputType()
export class ImportModelInput {
  @Field(() => String) name!: string;
  @Field(() => ModelKindEnum) kind!: ModelKindEnum;
  @Field(() => String, { description: 'A zip of a Hugging Face folder (config.json, model.safetensors, tokenizer.json), base64.' }) contentBase64!: string;
  @Field(() => Boolean, { defaultValue: true, description: 'Whether the checkpoint may hold PHI (trained or tokenized on real notes). A PHI model is visible only to you, and so is all that is made from it. Set false only for public checkpoints.' }) containsPhi!: boolean;
}

export const ModelConnection = ConnectionType(Model, 'Model');
