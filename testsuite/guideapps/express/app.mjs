// The integration guide's "Example: Node.js / Express" (section 2), as
// written there. app/guideapp_test.go runs it against a local provider and
// signs the demo user in through it. Every line that differs from the guide
// says why in a comment marked ADAPTED; everything else is the guide's code.
import { randomBytes, createHash } from "crypto";
import express from "express";
import session from "express-session"; // ADAPTED: the guide uses req.session without setting it up.

const app = express();
const ISSUER = process.env.ISSUER; // ADAPTED: the guide hard-codes "https://auth.calimatic.com"; the one value it says to change.
const CLIENT_ID = process.env.CALIMATIC_CLIENT_ID; // ADAPTED: plain JS, no TypeScript "!".
const CLIENT_SECRET = process.env.CALIMATIC_CLIENT_SECRET; // ADAPTED: plain JS, no TypeScript "!".
const REDIRECT_URI = process.env.REDIRECT_URI; // ADAPTED: the guide hard-codes "https://myapp.com/auth/callback"; this app's real local callback.

// ADAPTED: the session middleware the guide's req.session assumes. Memory
// store; the secret only signs this run's cookie.
app.use(
  session({
    secret: process.env.SESSION_SECRET || randomBytes(32).toString("hex"),
    resave: false,
    saveUninitialized: false,
  }),
);

// Generate PKCE pair
function generatePKCE() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

// Login route
app.get("/login", (req, res) => {
  const { verifier, challenge } = generatePKCE();
  const state = randomBytes(16).toString("hex");

  // Store in session for callback verification
  req.session.oauthState = state;
  req.session.codeVerifier = verifier;

  const url = new URL(`${ISSUER}/api/v1/oidc/authorize`);
  url.searchParams.set("client_id", CLIENT_ID);
  url.searchParams.set("redirect_uri", REDIRECT_URI);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", "openid profile email");
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", challenge);
  url.searchParams.set("code_challenge_method", "S256");

  res.redirect(url.toString());
});

// Callback route
app.get("/auth/callback", async (req, res) => {
  const { code, state } = req.query;

  // Verify state
  if (state !== req.session.oauthState) {
    return res.status(400).send("Invalid state");
  }

  // Exchange code for tokens
  const tokenRes = await fetch(`${ISSUER}/api/v1/oidc/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: code, // ADAPTED: plain JS, no TypeScript "as string".
      redirect_uri: REDIRECT_URI,
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      code_verifier: req.session.codeVerifier,
    }),
  });

  const tokens = await tokenRes.json();

  // Fetch user info
  const userRes = await fetch(`${ISSUER}/api/v1/oidc/userinfo`, {
    headers: { Authorization: `Bearer ${tokens.access_token}` },
  });
  const user = await userRes.json();

  // Create session in your app
  req.session.user = user;
  req.session.accessToken = tokens.access_token;

  res.redirect("/dashboard");
});

// ADAPTED: the guide redirects to /dashboard without defining it. This one
// shows the session's user so the test can read what the app received.
app.get("/dashboard", (req, res) => {
  res.type("application/json").send(JSON.stringify(req.session.user));
});

// ADAPTED: the guide never starts the server. Loopback only, on PORT.
const PORT = Number(process.env.PORT);
app.listen(PORT, "127.0.0.1", () => {
  console.log(`guide express app listening on http://127.0.0.1:${PORT}`);
});
