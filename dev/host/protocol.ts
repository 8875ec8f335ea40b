// The lines the CLI prints once the host is ready and spawn.ts parses; kept in one place so the
// two cannot drift apart. "Host listening on" is always printed last and is the ready signal.
export const MASTER_KEY_PREFIX = 'Master key: ';
export const HOST_KEY_PREFIX = 'Host key: ';
export const STORAGE_PREFIX = 'Storage connection string: ';
export const READY_PREFIX = 'Host listening on ';
