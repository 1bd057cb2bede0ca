/** What the body processors produce. Inputs and outputs are byte strings (one char per body byte). */

export interface BodyLimits {
  readonly maxArgs: number;
  readonly maxJsonDepth: number;
}

export interface BodyError {
  readonly code: string;
  /** ModSecurity's wording, which the CRS regression suite and operators' log searches expect. */
  readonly message: string;
}

export interface ParsedBody {
  readonly args: ReadonlyArray<readonly [name: string, value: string]>;
  readonly error?: BodyError;
}

export interface MultipartFile {
  readonly name: string;
  readonly filename: string;
  readonly size: number;
  readonly contentType?: string;
}

export interface ParsedMultipart extends ParsedBody {
  readonly files: readonly MultipartFile[];
  readonly partHeaders: ReadonlyArray<readonly [partName: string, headerLine: string]>;
  readonly flags: Readonly<Record<string, 0 | 1>>;
}

export interface ParsedXml extends ParsedBody {
  readonly rootText: string;
  readonly attributes: readonly string[];
}

/** UTF-8 text (from JSON.parse or the XML parser) back into the byte string rules inspect. */
export function toByteString(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

/** A byte string holding UTF-8 into text. */
export function fromByteString(bytes: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(bytes) ? bytes : Buffer.from(bytes, 'latin1').toString('utf8');
}
