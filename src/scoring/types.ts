/** A labelled character span: 0-based Unicode code point offsets, `end` exclusive. */
export interface Span {
  start: number;
  end: number;
  label: string;
}

/** A gold (or real-corpus) document. `text` is the exact text the offsets index, BOM included. */
export interface ScoringDocument {
  id: string;
  text: string;
  spans: Span[];
}

/**
 * A system's output for one document. `text` may be left out; when given it must equal the gold text
 * (otherwise the offsets would point into a different string).
 */
export interface PredictedDocument {
  id: string;
  text?: string;
  spans: Span[];
}

/** A text without annotations, e.g. one synthetic document. */
export interface PlainDocument {
  id: string;
  text: string;
}

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

/**
 * Precision / recall / F1 with the official MEDDOCAN conventions: a ratio whose denominator is 0 is 0,
 * so P=R=F1=0 when nothing is predicted, and also when gold and prediction are both empty.
 */
export interface Prf extends Counts {
  precision: number;
  recall: number;
  f1: number;
}

/** Percentile bootstrap interval of an F1 (see bootstrap.ts). */
export interface ConfidenceInterval {
  low: number;
  high: number;
  level: number;
}

export type PrfWithCi = Prf & { ci?: ConfidenceInterval };

/** The label a token outside every span carries; no span may use it. */
export const OUTSIDE = 'O';

/** The 29 PHI types of the MEDDOCAN guidelines (`tags.py` of the official script, less its 'TOKEN'). */
export const MEDDOCAN_LABELS: readonly string[] = Object.freeze([
  'NOMBRE_SUJETO_ASISTENCIA', 'NOMBRE_PERSONAL_SANITARIO', 'PROFESION', 'HOSPITAL', 'INSTITUCION',
  'CALLE', 'TERRITORIO', 'PAIS', 'CENTRO_SALUD', 'EDAD_SUJETO_ASISTENCIA', 'FECHAS',
  'NUMERO_TELEFONO', 'NUMERO_FAX', 'CORREO_ELECTRONICO', 'URL_WEB', 'ID_ASEGURAMIENTO',
  'ID_CONTACTO_ASISTENCIAL', 'NUMERO_BENEF_PLAN_SALUD', 'IDENTIF_VEHICULOS_NRSERIE_PLACAS',
  'IDENTIF_DISPOSITIVOS_NRSERIE', 'IDENTIF_BIOMETRICOS', 'ID_SUJETO_ASISTENCIA',
  'ID_TITULACION_PERSONAL_SANITARIO', 'ID_EMPLEO_PERSONAL_SANITARIO', 'OTRO_NUMERO_IDENTIF',
  'SEXO_SUJETO_ASISTENCIA', 'FAMILIARES_SUJETO_ASISTENCIA', 'OTROS_SUJETO_ASISTENCIA',
  'DIREC_PROT_INTERNET',
]);
