/**
 * Vault's root-protected ("sudo") paths among those this service serves or may serve: a request to
 * one needs `sudo` on its winning rule (or a root token) besides the operation's capability. Vault
 * declares them per backend, relative to the mount, with a trailing `*` meaning "this prefix"; here
 * they are written absolute. `GET sys/auth` itself is not one; enabling, tuning and disabling auth
 * methods (`sys/auth/<path>…`) are. `sys/mounts*`, `sys/policy*`, `sys/policies/*` and
 * `sys/capabilities*` are not.
 */
const ROOT_PATH_PATTERNS: readonly string[] = [
  // sys/ (logical_system.go)
  'sys/auth/*',
  'sys/remount',
  'sys/audit',
  'sys/audit/*',
  'sys/raw',
  'sys/raw/*',
  'sys/rotate',
  // Root-key rotation (Vault 1.17+ `sys/rotate/root`) and the keyring rotation alias.
  'sys/rotate/*',
  'sys/config/cors',
  'sys/config/auditing/*',
  'sys/config/ui/headers/*',
  'sys/plugins/catalog/*',
  'sys/revoke-prefix/*',
  'sys/revoke-force/*',
  'sys/leases/revoke-prefix/*',
  'sys/leases/revoke-force/*',
  'sys/leases/lookup/*',
  'sys/leases',
  'sys/internal/inspect/*',
  'sys/seal',
  'sys/step-down',
  // auth/token/ (token_store.go)
  'auth/token/revoke-orphan/*',
  'auth/token/accessors*',
];

const exact = new Set(ROOT_PATH_PATTERNS.filter((p) => !p.endsWith('*')));
const prefixes = ROOT_PATH_PATTERNS.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));

/** Whether `path` (logical, no leading `/`) is root-protected. */
export function isRootPath(path: string): boolean {
  return exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix));
}
