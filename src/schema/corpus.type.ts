import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from './pagination.js';

export enum CorpusFormatEnum {
  BRAT = 'BRAT',
  I2B2_XML = 'I2B2_XML',
  CONLL = 'CONLL',
  JSONL = 'JSONL',
  TEXT = 'TEXT',
}
registerEnumType(CorpusFormatEnum, {
  name: 'CorpusFormat',
  description: 'BRAT standoff (.txt + .ann, folders are splits), i2b2-style XML, CoNLL BIO/BIOES, JSONL, or plain text.',
});

export enum CorpusKindEnum {
  REAL = 'REAL',
  SYNTHETIC = 'SYNTHETIC',
}
registerEnumType(CorpusKindEnum, { name: 'CorpusKind' });

export enum AnnotationSourceEnum {
  GOLD = 'GOLD',
  MACHINE = 'MACHINE',
  UNSURE = 'UNSURE',
}
registerEnumType(AnnotationSourceEnum, {
  name: 'AnnotationSource',
  valuesConfig: { UNSURE: { description: "Words the model left out of its spans without being sure when it annotated (annotateCorpus's unsureBelow); no label. Training on the model's MACHINE annotations skips them." } },
});

export enum CorpusOrderField {
  createdAt = 'createdAt',
  name = 'name',
}
registerEnumType(CorpusOrderField, { name: 'CorpusOrderField' });

@ObjectType()
export class Corpus {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String) description!: string;
  @Field(() => CorpusKindEnum) kind!: CorpusKindEnum;
  @Field(() => Boolean, { description: 'Real PHI: readable only by the owner and the people it is shared with.' }) containsPhi!: boolean;
  @Field(() => String, { nullable: true }) sourceFormat!: string | null;
  @Field(() => [String], { description: 'The PHI classes that occur, sorted.' }) labels!: string[];
  @Field(() => Date) createdAt!: Date;
  ownerId!: string;
  createdByJobId!: string | null;
  /** Stored CorpusStats (JSON), or null until counted. */
  stats!: unknown;
}

@ObjectType()
export class Annotation {
  @Field(() => ID) id!: string;
  @Field(() => Int, { description: 'Unicode code-point offset, inclusive.' }) start!: number;
  @Field(() => Int, { description: 'Unicode code-point offset, exclusive.' }) end!: number;
  @Field(() => String) label!: string;
  @Field(() => AnnotationSourceEnum) source!: AnnotationSourceEnum;
  @Field(() => ID, { nullable: true, description: 'The model that made a machine annotation.' }) modelId!: string | null;
  @Field(() => Float, { nullable: true }) confidence!: number | null;
  documentId!: string;
}

@ObjectType()
export class Document {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'The name in the source (file stem, JSONL id).' }) externalId!: string;
  @Field(() => String) split!: string;
  @Field(() => String) text!: string;
  @Field(() => Int, { description: 'Length in Unicode code points.' }) charCount!: number;
  corpusId!: string;
}

@ObjectType()
export class LabelCount {
  @Field(() => String) label!: string;
  @Field(() => Int) mentions!: number;
}

@ObjectType()
export class SplitStats {
  @Field(() => String, { description: 'The split name; "" for documents without one.' }) split!: string;
  @Field(() => Int) documents!: number;
  @Field(() => Int, { description: 'Unicode code points.' }) characters!: number;
  @Field(() => Int, { description: 'Word tokens: runs of letters and digits, and each other non-space character (see README).' }) tokens!: number;
  @Field(() => Int) mentions!: number;
  @Field(() => [LabelCount]) labels!: LabelCount[];
}

@ObjectType()
export class CorpusStats {
  @Field(() => Int) documents!: number;
  @Field(() => Int) characters!: number;
  @Field(() => Int) tokens!: number;
  @Field(() => Int) mentions!: number;
  @Field(() => [LabelCount]) labels!: LabelCount[];
  @Field(() => [SplitStats]) splits!: SplitStats[];
}

@ObjectType()
export class CorpusSplit {
  @Field(() => String) split!: string;
  @Field(() => Int) documents!: number;
}

@ObjectType({ description: 'A seeded document subset; each smaller fraction is contained in every larger one.' })
export class CorpusSubset {
  @Field(() => Float) fraction!: number;
  @Field(() => Int) size!: number;
  @Field(() => [ID]) documentIds!: string[];
}

@InputType()
export class ImportCorpusInput {
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description?: string;
  @Field(() => Boolean, { defaultValue: true, description: 'Whether the texts hold real PHI (restricts who may read it).' }) containsPhi!: boolean;
  @Field(() => CorpusFormatEnum, { nullable: true, description: 'Detected from the files when omitted.' }) format?: CorpusFormatEnum;
  @Field(() => String, { description: 'Name of the uploaded file: .zip, .tar, .tar.gz/.tgz, or a single .jsonl/.conll/.xml/.txt.' }) fileName!: string;
  @Field(() => String, { description: 'The file, base64-encoded.' }) contentBase64!: string;
  @Field(() => Boolean, { defaultValue: false, description: 'Accept overlapping or nested spans.' }) allowOverlaps!: boolean;
  @Field(() => Boolean, { defaultValue: false, description: 'Ignore unknown JSONL fields instead of rejecting them.' }) allowUnknownFields!: boolean;
}

@InputType()
export class SplitFraction {
  @Field(() => String) split!: string;
  @Field(() => Float) fraction!: number;
}

export const CorpusConnection = ConnectionType(Corpus, 'Corpus');
export const DocumentConnection = ConnectionType(Document, 'Document');
