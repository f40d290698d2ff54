// openid-client v6, the certified relying-party library for Node.js, as
// a client of Calimatic's protocol features. app/rpclient_test.go runs it
// against a local provider and checks what it prints.
//
//   node rp.mjs client-credentials   private_key_jwt at the token endpoint,
//                                    then introspection with a new assertion
//   node rp.mjs par-start            pushes an authorization request (PAR,
//                                    private_key_jwt) and prints the URL to
//                                    send the browser to, with the checks
//   node rp.mjs par-finish           exchanges the code at CALLBACK_URL with
//                                    those checks (CODE_VERIFIER, STATE, NONCE)
//   node rp.mjs device               the device authorization grant: prints
//                                    the user code, polls until approved
//   node rp.mjs dpop                 client-credentials with a DPoP key
//                                    openid-client makes (RFC 9449), then
//                                    userinfo with USER_TOKEN and its key
//
// Input comes from the environment: ISSUER, CLIENT_ID, CLIENT_JWK (the
// client's private signing key as a JWK, with kid and alg), SCOPE and
// REDIRECT_URI; for dpop also USER_TOKEN, USER_SUB and USER_DPOP_JWK (the
// private ES256 JWK the user's access token is bound to); for par-start
// and par-finish, DPOP_JWK binds the code to that key (RFC 9449 §10.1).
// Output is one JSON object on stdout; any failure exits non-zero with the
// library's error on stderr.
import * as client from "openid-client";

const { ISSUER, CLIENT_ID, CLIENT_JWK, SCOPE, REDIRECT_URI, USER_TOKEN, USER_SUB, USER_DPOP_JWK } = process.env;

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

// importDPoPKeyPair reads a private ES256 JWK into the key pair a DPoP
// handle signs with; the public half must be extractable, for the proof's jwk.
async function importDPoPKeyPair(jwk) {
  const alg = { name: "ECDSA", namedCurve: "P-256" };
  const { kty, crv, x, y } = jwk;
  return {
    privateKey: await crypto.subtle.importKey("jwk", jwk, alg, false, ["sign"]),
    publicKey: await crypto.subtle.importKey("jwk", { kty, crv, x, y }, alg, true, ["verify"]),
  };
}

// dpopOption is the DPoP handle of the key in DPOP_JWK, when set: a proof
// sent with the pushed request binds the code to that key (RFC 9449
// §10.1), and the code exchange then proves it.
async function dpopOption(config) {
  if (!process.env.DPOP_JWK) return undefined;
  return { DPoP: client.getDPoPHandle(config, await importDPoPKeyPair(JSON.parse(process.env.DPOP_JWK))) };
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
  async "par-start"() {
    const config = await configure();
    const code_verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = await client.buildAuthorizationUrlWithPAR(
      config,
      {
        redirect_uri: REDIRECT_URI,
        scope: SCOPE,
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(code_verifier),
        code_challenge_method: "S256",
      },
      await dpopOption(config),
    );
    return { url: url.href, code_verifier, state, nonce };
  },
  async "par-finish"() {
    const config = await configure();
    const tokens = await client.authorizationCodeGrant(
      config,
      new URL(process.env.CALLBACK_URL),
      {
        pkceCodeVerifier: process.env.CODE_VERIFIER,
        expectedState: process.env.STATE,
        expectedNonce: process.env.NONCE,
        idTokenExpected: true,
      },
      undefined,
      await dpopOption(config),
    );
    return { token_type: tokens.token_type, access_token: tokens.access_token, claims: tokens.claims() };
  },

  // The device flow (RFC 8628) as a television runs it: the device
  // authorization request, then polling. The user code goes to stderr at
  // once, as a line "USER_CODE <code> <verification_uri_complete>", for the
  // test to approve it in a browser while the library polls.
  async device() {
    const config = await configure();
    const da = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
    console.error(`USER_CODE ${da.user_code} ${da.verification_uri_complete}`);
    const tokens = await client.pollDeviceAuthorizationGrant(config, da);
    return {
      token_type: tokens.token_type,
      access_token: tokens.access_token,
      claims: tokens.claims(),
      interval: da.interval,
      verification_uri: da.verification_uri,
    };
  },

  // The library answers the server's use_dpop_nonce itself, at the token
  // endpoint and at userinfo, and signs htm, htu, ath and nonce.
  async dpop() {
    const config = await configure();
    const keyPair = await client.randomDPoPKeyPair("ES256");
    const DPoP = client.getDPoPHandle(config, keyPair);
    const tokens = await client.clientCredentialsGrant(config, { scope: SCOPE }, { DPoP });
    const out = {
      token_type: tokens.token_type,
      access_token: tokens.access_token,
      introspection: await client.tokenIntrospection(config, tokens.access_token),
      dpop_jwk: await crypto.subtle.exportKey("jwk", keyPair.publicKey),
      dpop_signing_alg_values_supported: config.serverMetadata().dpop_signing_alg_values_supported,
    };
    if (USER_TOKEN) {
      const userDPoP = client.getDPoPHandle(config, await importDPoPKeyPair(JSON.parse(USER_DPOP_JWK)));
      out.userinfo = await client.fetchUserInfo(config, USER_TOKEN, USER_SUB, { DPoP: userDPoP });
    }
    return out;
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
