/** Durations and sizes as operators write them ("2s", "10MiB") or as plain numbers (ms, bytes). */
import { Type, type TInteger, type TString, type TUnion } from '@sinclair/typebox';

type TUnit = TUnion<[TString, TInteger]>;

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/;

export function Duration(description: string, defaultValue?: string): TUnit {
  return Type.Union([Type.String({ pattern: DURATION_RE.source }), Type.Integer({ minimum: 0 })], {
    description: `${description} A duration: "500ms", "2s", "1m", "1h", or milliseconds as a number.`,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    errorHint: 'a duration such as "500ms", "2s", "1m" or a number of milliseconds',
  });
}

export function Size(description: string, defaultValue?: string): TUnit {
  return Type.Union([Type.String({ pattern: SIZE_RE.source }), Type.Integer({ minimum: 0 })], {
    description: `${description} A size: "512B", "16KiB", "10MiB", "1GiB", or bytes as a number.`,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    errorHint: 'a size such as "16KiB", "10MiB" or a number of bytes',
  });
}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_BYTES: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

/** Milliseconds. The value has passed schema validation, so a mismatch here is a bug. */
export function toMs(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = DURATION_RE.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  return Math.round(Number(m[1]) * DURATION_MS[m[2]!]!);
}

export function toBytes(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = SIZE_RE.exec(value);
  if (!m) throw new Error(`not a size: ${value}`);
  return Math.round(Number(m[1]) * SIZE_BYTES[m[2] ?? 'B']!);
}
