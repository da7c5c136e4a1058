// A real OpenID provider for Steward's SSO browser test (crates/cli/tests/sso_oidc_browser.rs):
// oidc-provider with its development login screens (any password is accepted; the login name
// becomes the account, whose email is `<login>@example.com`), PKCE required, one confidential
// client. Email claims come from UserInfo, as the code flow defaults to (conformIdTokenClaims).
//
// Env: OIDC_PORT, OIDC_REDIRECT_URI (Steward's /auth/callback), OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET. Prints `READY <issuer>` once listening.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const redirectUri = process.env.OIDC_REDIRECT_URI;
if (!port || !redirectUri) {
  console.error('set OIDC_PORT and OIDC_REDIRECT_URI');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID || 'steward',
    client_secret: process.env.OIDC_CLIENT_SECRET || 'steward-test-secret',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@example.com`, email_verified: true, name: id }),
  }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['steward-test-only-cookie-key'] },
});
provider.listen(port, '127.0.0.1', () => console.log(`READY ${issuer}`));
