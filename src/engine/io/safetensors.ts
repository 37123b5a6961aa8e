// safetensors: an 8-byte little-endian header length, a JSON header
// { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }, then raw data.
// F32/F16/BF16 read as Float32Array; I64 as BigInt64Array; F64 as Float64Array.
import { readFile, writeFile } from 'node:fs/promises';

export interface NamedTensor {
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
  shape: number[];
}
export type TensorMap = Map<string, NamedTensor>;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export function parseSafetensors(buf: Uint8Array, source = 'safetensors'): { tensors: TensorMap; metadata: Record<string, string> } {
  if (buf.length < 8) throw new Error(`${source}: too short to be a safetensors file`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (8 + n > buf.length) throw new Error(`${source}: header length ${n} exceeds the file size`);
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, HeaderEntry | Record<string, string>>;
  const base = 8 + n;
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = e as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [b, end] } = e as HeaderEntry;
    const count = shape.reduce((a, c) => a * c, 1);
    const bytes = buf.subarray(base + b, base + end);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let data: NamedTensor['data'];
    switch (dtype) {
      case 'F32':
        data = new Float32Array(bytes.slice().buffer, 0, Math.min(count, Math.floor(bytes.length / 4))); // copy: aligned, little-endian host
        break;
      case 'F16': {
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = f16ToF32(view.getUint16(i * 2, true));
        break;
      }
      case 'BF16': {
        const out = new Float32Array(count);
        const u = new Uint32Array(out.buffer);
        for (let i = 0; i < count; i++) u[i] = view.getUint16(i * 2, true) << 16;
        data = out;
        break;
      }
      case 'F64':
        data = new Float64Array(bytes.slice().buffer, 0, Math.min(count, Math.floor(bytes.length / 8))); // copy: aligned, little-endian host
        break;
      case 'I64':
        data = new BigInt64Array(bytes.slice().buffer, 0, Math.min(count, Math.floor(bytes.length / 8))); // copy: aligned, little-endian host
        break;
      case 'I32':
        data = new Int32Array(bytes.slice().buffer, 0, Math.min(count, Math.floor(bytes.length / 4))); // copy: aligned, little-endian host
        break;
      case 'U8':
      case 'BOOL':
        data = Uint8Array.from(bytes);
        break;
      default:
        throw new Error(`${source}: tensor '${name}' has unsupported dtype ${dtype} (supported: F32, F16, BF16, F64, I64, I32, U8, BOOL)`);
    }
    if (bytes.length !== count * (data.BYTES_PER_ELEMENT / (dtype === 'F16' || dtype === 'BF16' ? 2 : 1))) {
      throw new Error(`${source}: tensor '${name}' [${shape}] ${dtype} has ${bytes.length} bytes of data`);
    }
    tensors.set(name, { data, shape });
  }
  return { tensors, metadata };
}

export async function readSafetensors(path: string): Promise<TensorMap> {
  return parseSafetensors(new Uint8Array(await readFile(path)), path).tensors;
}

function dtypeOf(data: NamedTensor['data']): [string, number] {
  if (data instanceof Float32Array) return ['F32', 4];
  if (data instanceof Float64Array) return ['F64', 8];
  if (data instanceof BigInt64Array) return ['I64', 8];
  if (data instanceof Int32Array) return ['I32', 4];
  return ['U8', 1];
}

/** Serialize tensors (sorted by name, as the Python library writes them). */
export function encodeSafetensors(tensors: TensorMap | Record<string, NamedTensor>, metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const entries = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, c) => a * c, 1);
    if (count !== t.data.length) throw new Error(`safetensors: tensor '${name}' has ${t.data.length} values for shape [${t.shape}]`);
    const [dtype, size] = dtypeOf(t.data);
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + count * size] };
    off += count * size;
  }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const hb = new Uint8Array(raw.length + ((8 - (raw.length % 8)) % 8)).fill(0x20); // pad with spaces: data 8-byte aligned
  hb.set(raw);
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let pos = 8 + hb.length;
  for (const [, t] of entries) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

export async function writeSafetensors(path: string, tensors: TensorMap | Record<string, NamedTensor>, metadata?: Record<string, string>): Promise<void> {
  await writeFile(path, encodeSafetensors(tensors, metadata));
}
