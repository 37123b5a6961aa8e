// The one list of Hugging Face model_types the engine supports, and the kind of model each is.
// Config parsing, loading, export and the API's checks all ask here, so adding a family means
// adding it here (and its parser and builder in models/registry.ts).
export const MODEL_TYPES = { bert: 'encoder', roberta: 'encoder', gpt2: 'decoder', llama: 'decoder' } as const;

export type ModelType = keyof typeof MODEL_TYPES;
export type ArchitectureKind = (typeof MODEL_TYPES)[ModelType];
export type EncoderModelType = { [K in ModelType]: (typeof MODEL_TYPES)[K] extends 'encoder' ? K : never }[ModelType];
export type DecoderModelType = Exclude<ModelType, EncoderModelType>;

export const SUPPORTED_MODEL_TYPES = Object.keys(MODEL_TYPES) as ModelType[];

/** The model_types of one kind, in the list's order ("bert, roberta"). */
export function modelTypesOf(kind: ArchitectureKind): ModelType[] {
  return SUPPORTED_MODEL_TYPES.filter((t) => MODEL_TYPES[t] === kind);
}

/** The kind of a config.json's model_type; an unknown one is an error listing the supported ones. */
export function modelKind(modelType: unknown): ArchitectureKind {
  if (typeof modelType === 'string' && Object.hasOwn(MODEL_TYPES, modelType)) return MODEL_TYPES[modelType as ModelType];
  throw new Error(`unsupported model_type ${JSON.stringify(modelType ?? null)}; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
}

/** `modelType`, checked to be a supported model of `kind`. */
export function expectModelType(modelType: unknown, kind: 'encoder'): EncoderModelType;
export function expectModelType(modelType: unknown, kind: 'decoder'): DecoderModelType;
export function expectModelType(modelType: unknown, kind: ArchitectureKind): ModelType {
  const type = typeof modelType === 'string' && Object.hasOwn(MODEL_TYPES, modelType) ? (modelType as ModelType) : null;
  if (type && MODEL_TYPES[type] === kind) return type;
  const what = type ? `is a ${MODEL_TYPES[type]}` : 'is not supported';
  throw new Error(`model_type ${JSON.stringify(modelType ?? null)} ${what}; supported ${kind}s: ${modelTypesOf(kind).join(', ')}`);
}
