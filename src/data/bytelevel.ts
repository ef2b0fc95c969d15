/**
 * GPT-2 / Hugging Face "ByteLevel" alphabet: every byte 0..255 maps to one printable code point,
 * so a byte string is a plain JS string and a BPE merge is string concatenation.
 * Printable Latin-1 bytes map to themselves; the other 68 bytes to U+0100.. in byte order.
 */
const BYTE_TO_CHAR: string[] = new Array(256);
const CHAR_TO_BYTE = new Map<string, number>();

{
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    const ch = String.fromCodePoint(keep(b) ? b : 256 + next++);
    BYTE_TO_CHAR[b] = ch;
    CHAR_TO_BYTE.set(ch, b);
  }
}

export function byteToChar(b: number): string {
  return BYTE_TO_CHAR[b];
}

/** UTF-8 bytes -> byte-level string. */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

export function textToByteLevel(text: string): string {
  return bytesToByteLevel(Buffer.from(text, 'utf8'));
}

/** Bytes of a byte-level string, or null if some character is outside the alphabet. */
export function byteLevelToBytes(s: string): Uint8Array | null {
  const out: number[] = [];
  for (const ch of s) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return Uint8Array.from(out);
}

/**
 * Decode one token string as Hugging Face's ByteLevel decoder does (docs/SPEC.md section 1): bytes from the
 * alphabet if every character is in it, else the string's own UTF-8 bytes; then lossy UTF-8 with
 * a leading BOM kept (Buffer's decoder keeps it and maps invalid sequences to U+FFFD).
 */
export function decodeByteLevelToken(token: string): string {
  const bytes = byteLevelToBytes(token) ?? Buffer.from(token, 'utf8');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
