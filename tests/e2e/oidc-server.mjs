// A standards-grade OpenID Connect provider (the npm package oidc-provider) on 127.0.0.1, for tests of
// the generic path: discovery from the issuer alone, PKCE, refresh, revocation.
// Prints one line: "oidc-provider listening on http://127.0.0.1:PORT". Any login and password work.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const server = createServer();
await new Promise((ok) => server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', ok));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'account-linker',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['org.accountlinker.app:/oauth2/oidc-test'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
  ],
  pkce: { required: () => true },
  features: { revocation: { enabled: true }, devInteractions: { enabled: true } },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
  async findAccount(ctx, id) {
    return { accountId: id, claims: async () => ({ sub: id, email: `${id}@oidc.test`, name: 'OIDC Test User' }) };
  },
  ttl: { AccessToken: 3600, IdToken: 3600, RefreshToken: 86400, Grant: 86400, Session: 86400, Interaction: 600 },
});
server.on('request', provider.callback());
console.log(`oidc-provider listening on ${issuer}`);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
