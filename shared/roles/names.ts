/**
 * Role names: Vault's `framework.GenericNameRegex` (`\w(([\w-.]+)?\w)?`, ASCII as Go's `\w` is),
 * case-insensitive (stored lower-case), and here at most 255 characters.
 */
import { badRequest } from '../vault/errors';

const ROLE_NAME_PATTERN = /^\w(?:[\w.-]*\w)?$/;
/** Vault has no limit; Table Storage keys do, and no real role name comes near this. */
export const MAX_ROLE_NAME_LENGTH = 255;

export function isValidRoleName(name: string): boolean {
  return name.length <= MAX_ROLE_NAME_LENGTH && ROLE_NAME_PATTERN.test(name);
}

/**
 * The stored (lower-case) form of a role name from a URL, or 400 `invalid role name "<name>"`.
 * (Vault has no route for such a name and answers 404; our route captures the segment, so we can
 * say what is wrong.)
 */
export function canonicalRoleName(name: string): string {
  if (!isValidRoleName(name)) {
    const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
    throw badRequest(
      `invalid role name ${JSON.stringify(shown)}: use 1 to ${MAX_ROLE_NAME_LENGTH} ASCII letters, digits, "_", "-" and ".", starting and ending with a letter, digit or "_"`,
    );
  }
  return name.toLowerCase();
}
