// Invitation links: `${origin}/invite#lxi_<id>.<secret>`. The token rides in
// the fragment, which browsers never send to a server (nor to its logs).

/** The link an invited user opens. */
export function inviteLink(origin: string, created: { invite_path?: string | null; invite_token?: string | null }): string | null {
  if (created.invite_path) return origin + created.invite_path;
  if (created.invite_token) return `${origin}/invite#${created.invite_token}`;
  return null;
}

/** The token in a location hash ("#lxi_…"), or null when there is none that could be one. */
export function inviteTokenFromHash(hash: string): string | null {
  let token = hash.startsWith("#") ? hash.slice(1) : hash;
  try {
    token = decodeURIComponent(token);
  } catch {
    return null;
  }
  token = token.trim();
  return /^lxi_[0-9]+\.[0-9a-fA-F]+$/.test(token) ? token : null;
}
