/**
 * The tags of a repository, read over plain HTTP. docker-registry answers 404 NAME_UNKNOWN for a
 * repository that has manifests but never had a tag (it looks for the tags folder), and
 * `tags: null` or `[]` once the last tag is gone: all three mean "no tags". Callers check
 * separately that the repository serves a digest.
 */
export async function tagsOf(registryUrl: string, repo: string): Promise<string[]> {
  const res = await fetch(`${registryUrl}/v2/${repo}/tags/list`);
  const body = (await res.json()) as { tags?: string[] | null; errors?: Array<{ code: string }> };
  if (res.status === 404) {
    expect(body.errors?.[0]?.code).toBe('NAME_UNKNOWN');
    return [];
  }
  expect(res.status).toBe(200);
  return body.tags ?? [];
}
