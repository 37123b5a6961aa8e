import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DeviceEnum } from './model.type.js';
import { PrivacyGuardInput } from './experiment.type.js';

@InputType({ description: 'Sampling settings default to the method: 3-word prompts, nucleus sampling with top-p 0.95 at temperature 1.' })
export class GenerateSyntheticCorpusInput {
  @Field(() => String) name!: string;
  @Field(() => ID, { description: 'A causal LM (gpt2, llama): imported, or adapted here.' }) generatorModelId!: string;
  @Field(() => ID, { description: 'Prompts are the first words of each document of this corpus (split).' }) promptCorpusId!: string;
  @Field(() => String, { nullable: true, description: 'The paper prompts with validation documents: "dev".' }) promptSplit?: string;
  @Field(() => Int, { defaultValue: 3 }) promptWords!: number;
  @Field(() => Int, { nullable: true, description: 'Use only the first N documents as prompts.' }) maxPrompts?: number;
  @Field(() => Int, { defaultValue: 1, description: 'Continuations per prompt (the paper: 80).' }) samplesPerPrompt!: number;
  @Field(() => Int, { defaultValue: 256 }) maxNewTokens!: number;
  @Field(() => Float, { defaultValue: 1 }) temperature!: number;
  @Field(() => Float, { defaultValue: 0.95 }) topP!: number;
  @Field(() => Int, { nullable: true }) topK?: number;
  @Field(() => Int, { defaultValue: 0 }) seed!: number;
  @Field(() => DeviceEnum, { defaultValue: DeviceEnum.cpu }) device!: DeviceEnum;
}

@ObjectType({ description: 'A piece of generated text: whole words of sequence `sequenceIndex` (prompt index × samplesPerPrompt + sample).' })
export class GeneratedToken {
  @Field(() => ID) jobId!: string;
  @Field(() => Int) sequenceIndex!: number;
  @Field(() => String) text!: string;
  @Field(() => Boolean, { description: 'The last piece of this sequence.' }) done!: boolean;
}

@InputType({ description: "The privacy guard on any synthetic corpus: notes over a threshold against the real training text are dropped into a new corpus (DROP) or only listed (FLAG). result.corpusId names the kept notes; result.notes lists each flagged note's name, numbers and reasons, never its text." })
export class RunPrivacyGuardInput extends PrivacyGuardInput {
  @Field(() => String) name!: string;
  @Field(() => ID) syntheticCorpusId!: string;
  @Field(() => ID, { description: "The real corpus the generator was trained on." }) realCorpusId!: string;
  @Field(() => String, { defaultValue: 'train' }) realSplit!: string;
  @Field(() => Float, { defaultValue: 1, description: 'The seeded fraction of the split the generator was adapted on.' }) realFraction!: number;
  @Field(() => Int, { defaultValue: 0 }) realSubsetSeed!: number;
}
