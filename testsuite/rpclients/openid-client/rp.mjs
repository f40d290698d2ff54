// openid-client v6, the certified relying-party library for Node.js, as
// a client of Calimatic's protocol features. app/rpclient_test.go runs it
// against a local provider and checks what it prints.
//
//   node rp.mjs client-credentials   private_key_jwt at the token endpoint,
//                                    then introspection with a new assertion
//
// Input comes from the environment: ISSUER, CLIENT_ID, CLIENT_JWK (the
// client's private signing key as a JWK, with kid and alg) and SCOPE.
// Output is one JSON object on stdout; any failure exits non-zero with the
// library's error on stderr.
import * as client from "openid-client";

const { ISSUER, CLIENT_ID, CLIENT_JWK, SCOPE } = process.env;

// importKey reads the private JWK into a WebCrypto key for its alg.
async function importKey(jwk) {
  const algorithms = {
    ES256: { name: "ECDSA", namedCurve: "P-256" },
    RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    PS256: { name: "RSA-PSS", hash: "SHA-256" },
    EdDSA: { name: "Ed25519" },
  };
  const key = await crypto.subtle.importKey("jwk", jwk, algorithms[jwk.alg], false, ["sign"]);
  return { key, kid: jwk.kid };
}

async function configure() {
  const jwk = JSON.parse(CLIENT_JWK);
  const auth = client.PrivateKeyJwt(await importKey(jwk));
  // The test server speaks http on loopback; a real deployment is https.
  return client.discovery(new URL(ISSUER), CLIENT_ID, {}, auth, {
    execute: [client.allowInsecureRequests],
  });
}

const commands = {
  async "client-credentials"() {
    const config = await configure();
    const tokens = await client.clientCredentialsGrant(config, { scope: SCOPE });
    const introspection = await client.tokenIntrospection(config, tokens.access_token);
    return {
      token_type: tokens.token_type,
      access_token: tokens.access_token,
      introspection,
      token_endpoint_auth_methods_supported: config.serverMetadata().token_endpoint_auth_methods_supported,
    };
  },
};

const command = commands[process.argv[2]];
if (!command) {
  console.error(`usage: node rp.mjs ${Object.keys(commands).join("|")}`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await command()));
} catch (err) {
  console.error(err?.stack ?? String(err));
  if (err?.cause) console.error("cause:", JSON.stringify(err.cause));
  process.exit(1);
}
