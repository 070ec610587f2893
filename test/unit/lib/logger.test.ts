import { Writable } from 'node:stream';
import { createLogger, scrubSecrets } from '../../../src/lib/logger';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  const logger = createLogger({ level: 'debug', destination: destination as unknown as NodeJS.WritableStream & { write(msg: string): void } });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  it('writes ECS field names', () => {
    const { logger, parsed } = capture();
    logger.child({ module: 'api' }).info({ 'http.request.method': 'GET' }, 'hello');
    const [line] = parsed();
    expect(line['log.level']).toBe('info');
    expect(line.message).toBe('hello');
    expect(typeof line['@timestamp']).toBe('string');
    expect(new Date(line['@timestamp'] as string).toString()).not.toBe('Invalid Date');
    expect(line.module).toBe('api');
  });

  it('never writes a token, password or authorization header', () => {
    const { logger, lines } = capture();
    const secrets = ['hunter2-password', 'tok_abcdef123456', 'dXNlcjpwYXNz', 'redis-pw-9'];
    logger.info({ password: secrets[0], token: secrets[1] }, 'login');
    logger.info({ headers: { authorization: `Basic ${secrets[2]}` } }, 'upstream call');
    logger.info({ upstream: { password: secrets[0], username: 'bot' } }, 'nested');
    logger.warn(`connecting to redis://:${secrets[3]}@127.0.0.1:6379 failed`);
    logger.error({ error: new Error(`auth failed for Bearer ${secrets[1]}`) }, 'call failed');
    const all = lines.join('');
    for (const s of secrets) expect(all).not.toContain(s);
    expect(all).toContain('[REDACTED]');
    expect(all).toContain('bot');
  });

  it('masks credentials in URLs and auth headers inside text', () => {
    expect(scrubSecrets('https://user:pa55@registry.example/v2/')).toBe('https://user:[REDACTED]@registry.example/v2/');
    expect(scrubSecrets('Authorization: Bearer abc.def.ghi')).toBe('Authorization: Bearer [REDACTED]');
  });
});
