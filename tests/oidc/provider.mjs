// A real OpenID Connect provider for the ProConnect tests: panva's certified
// `oidc-provider`, configured like ProConnect (client_secret_post, ProConnect's scopes and
// claims, userinfo as a signed JWT, RP-initiated logout).
//
//   node tests/oidc/provider.mjs <port> <client_id> <client_secret> <redirect_uri> <post_logout_uri>
//
// Listens on 127.0.0.1:<port> (0: a free port); the issuer is http://127.0.0.1:<that port>
// (oidc-provider accepts plain http outside NODE_ENV=production). There is no login form:
// GET /interaction/<uid> signs in the test account named by the authorization request's
// `login_hint` (no browser is needed to drive it), or else the one of OIDC_TEST_LOGIN (a real
// browser's test). Prints "ready <issuer>" once listening.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri, postLogoutUri] = process.argv.slice(2);
if (!postLogoutUri) {
  console.error('usage: provider.mjs <port> <client_id> <client_secret> <redirect_uri> <post_logout_uri>');
  process.exit(2);
}

// The agents the provider knows (its own directory), by login_hint.
const ACCOUNTS = {
  'agent@metz.fr': {
    given_name: 'Camille', usual_name: 'Durand', email: 'agent@metz.fr', email_verified: true,
    uid: 'uid-4242', siret: '21570463000015', idp_id: 'fia1v2',
  },
  'inconnu@exemple.fr': {
    given_name: 'Dominique', usual_name: 'Martin', email: 'inconnu@exemple.fr',
    email_verified: true, uid: 'uid-1001', siret: '21570463000015', idp_id: 'fia1v2',
  },
  'non-verifie@metz.fr': {
    given_name: 'Alex', usual_name: 'Petit', email: 'non-verifie@metz.fr', email_verified: false,
    uid: 'uid-2002', siret: '21570463000015', idp_id: 'fia1v2',
  },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

const configuration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [postLogoutUri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
    userinfo_signed_response_alg: 'RS256',
  }],
  clientAuthMethods: ['client_secret_post'],
  // ProConnect's flow is the plain authorization code (state and nonce), without PKCE.
  pkce: { required: () => false },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'given_name', 'usual_name', 'email', 'uid', 'siret', 'idp_id'],
  claims: {
    openid: ['sub'],
    given_name: ['given_name'],
    usual_name: ['usual_name'],
    email: ['email', 'email_verified'],
    uid: ['uid'],
    siret: ['siret'],
    idp_id: ['idp_id'],
  },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // The confirmation page, self-contained (the default one loads a web font).
      async logoutSource(ctx, form) {
        ctx.body = `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
          <title>Déconnexion du fournisseur de test</title></head><body><main>
          <h1>Se déconnecter du fournisseur de test ?</h1>${form}
          <button type="submit" form="op.logoutForm" value="yes" name="logout">Oui, me déconnecter</button>
          </main></body></html>`;
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // A first-party client: what it asks is granted, without a consent page.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    const account = ACCOUNTS[sub];
    if (!account) return undefined;
    return { accountId: sub, async claims() { return { sub, ...account }; } };
  },
  ttl: { AuthorizationCode: 60, IdToken: 3600, AccessToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
};

let provider;
let handle;

async function serve(req, res) {
  if (!req.url.startsWith('/interaction/')) {
    handle(req, res);
    return;
  }
  try {
    const details = await provider.interactionDetails(req, res);
    const hint = details.params.login_hint || process.env.OIDC_TEST_LOGIN;
    if (details.prompt.name !== 'login' || !ACCOUNTS[hint]) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`no test account for login_hint ${hint}`);
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: hint } }, { mergeWithLastSubmission: false });
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err));
  }
}

const server = http.createServer(serve);
server.listen(Number(port), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, configuration);
  handle = provider.callback();
  console.log(`ready ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
}
