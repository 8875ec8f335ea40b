/**
 * Table Storage keys may not contain / \ # ? or control characters and are limited to 1 KiB.
 * Names from requests (mount paths, role names) are escaped, never stored raw: every character
 * outside [A-Za-z0-9_.-] becomes `~` and two hex digits per UTF-8 byte, so the encoding is reversible
 * and readable for the usual names.
 */
const SAFE = /[A-Za-z0-9_.-]/;
const MAX_KEY_BYTES = 1024;

export function encodeKey(name: string): string {
  let out = '';
  for (const char of name) {
    if (SAFE.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `~${byte.toString(16).padStart(2, '0')}`;
  }
  // Azure counts key size in UTF-16 code units of the stored string: 1 KiB = 512 characters is
  // the safe bound for both the service and Azurite.
  if (out.length === 0 || out.length * 2 > MAX_KEY_BYTES) {
    throw new RangeError(`key of ${out.length} characters is empty or over the Table Storage limit`);
  }
  return out;
}

export function decodeKey(key: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < key.length; i++) {
    if (key[i] === '~') {
      bytes.push(parseInt(key.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(key.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}
