/** Where the console's OIDC sign-in may land: console paths only, never another site or a sign-in loop. */
import { safeNext } from '../../../src/api/routes/oidc-signin';

describe('safeNext', () => {
  it('keeps console paths', () => {
    for (const p of ['/ui', '/ui/queue', '/ui/requests/abc-123?tab=findings', '/ui/login/oidc/session']) expect(safeNext(p)).toBe(p);
  });

  it('sends anything else to /ui', () => {
    for (const p of ['https://evil.example/ui', '//evil.example/ui', '/ui//evil.example', '/v1/requests', '/uix', '/ui/../v1', '/ui/%2e%2e/v1', '/ui/.%2E/v1', 'javascript:alert(1)', '/ui/\\evil',
      '/ui/callback?code=x', '/ui/login', '/ui/login?next=/ui', '/ui/login/oidc', '/ui/login/oidc?next=/ui', undefined, 42, ['/ui/queue']]) {
      expect({ p, next: safeNext(p) }).toEqual({ p, next: '/ui' });
    }
  });
});
