/** An `Authorization: Basic` (or `Proxy-Authorization`) value, RFC 7617: the one place it is built. */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
