import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { readCommandLine } from './process-tree.js';

/** A process found listening on a port. */
export interface PortHolder {
  pid: number;
  /** Its command line, joined with spaces. */
  command: string;
}

/** Thrown when an instance's port is taken before it starts. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  readonly code = 'PORT_IN_USE';
  constructor(
    readonly host: string,
    readonly port: number,
    readonly holder: PortHolder | null,
  ) {
    super(
      `port ${port} on ${host} is already in use${
        holder ? ` by pid ${holder.pid} (${holder.command})` : ''
      }: stop that process or choose another COMFYUI_PORT_START`,
    );
  }
}

function tryBind(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve(null));
    });
  });
}

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT", st 0A = LISTEN, inode is column 9.
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === '0A' && cols[9]) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/**
 * Which process listens on `port` (Linux: /proc/net/tcp{,6} socket inode → /proc/<pid>/fd).
 * Null when unknown: another OS, or a process of another user we may not inspect.
 */
export function findPortHolder(port: number): PortHolder | null {
  if (process.platform !== 'linux') return null;
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1] && inodes.has(match[1])) {
        const argv = readCommandLine(Number(pid));
        return { pid: Number(pid), command: argv ? argv.join(' ') : '?' };
      }
    }
  }
  return null;
}

/** Bind addresses to probe for a ComfyUI --listen value (a comma list binds each). */
function probeHosts(listen: string): string[] {
  const hosts = listen
    .split(',')
    .map((h) => h.trim().replace(/^\[(.*)\]$/, '$1'))
    .filter((h) => h !== '');
  return hosts.length > 0 ? hosts : ['127.0.0.1'];
}

/**
 * Checks that ComfyUI could bind `port` on `listen` by binding it briefly ourselves. Throws
 * {@link PortInUseError} naming the port and, when it can be found, the process holding it.
 * Other bind errors (EADDRNOTAVAIL for an address this host lacks, EACCES) are rethrown as is.
 *
 * @example
 * await assertPortFree('127.0.0.1', 8188); // throws PortInUseError when taken
 */
export async function assertPortFree(listen: string, port: number): Promise<void> {
  for (const host of probeHosts(listen)) {
    const error = await tryBind(host, port);
    if (!error) continue;
    if (error.code === 'EADDRINUSE') throw new PortInUseError(host, port, findPortHolder(port));
    if (error.code === 'EAFNOSUPPORT' && host.includes(':')) continue; // no IPv6 on this host
    throw new Error(`cannot bind port ${port} on ${host}: ${error.message}`);
  }
}
