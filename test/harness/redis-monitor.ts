/**
 * The commands a Redis server runs, as MONITOR shows them, read over a plain socket of its own.
 * ioredis's monitor() mode can take a MONITOR line for the reply of a queued command when both
 * arrive together ("Command queue state error", redis/ioredis #1981), which failed a test under
 * load; MONITOR's output is one simple-string line per command, easy to read directly.
 */
import net from 'node:net';

/** The arguments of one MONITOR line (`+<time> [<db> <client>] "cmd" "arg" …`), unescaped. */
export function monitorArgs(line: string): string[] {
  const out: string[] = [];
  const quoted = /"((?:[^"\\]|\\.)*)"/g;
  for (let m = quoted.exec(line); m; m = quoted.exec(line)) {
    out.push(m[1]!.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => (e[0] === 'x' ? String.fromCharCode(Number.parseInt(e.slice(1), 16))
      : e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e)));
  }
  return out;
}

/** Starts MONITOR on `url` (redis://host:port, no password); `onCommand` gets each command's arguments. */
export async function monitorRedis(url: string, onCommand: (args: string[]) => void): Promise<{ stop(): void }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => { socket.write('MONITOR\r\n'); });
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (line === '+OK') resolve();
        else if (line.startsWith('+')) onCommand(monitorArgs(line));
        else if (line.startsWith('-')) reject(new Error(`MONITOR refused: ${line.slice(1)}`));
      }
    });
  });
  return { stop: () => socket.destroy() };
}
