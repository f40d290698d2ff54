package http

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"unicode"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/gofiber/fiber/v2"
)

// cssPath is where cssHandler is mounted. Every page links its stylesheet
// here, because the CSP (style-src 'self') forbids inline styles.
const cssPath = "/assets/calimatic.css"

// jsPath is where the passkey script is served: the CSP (script-src
// 'self') allows scripts from here and nothing inline.
const jsPath = "/assets/passkeys.js"

//go:embed templates/*.html assets/calimatic.css assets/passkeys.js
var pageFiles embed.FS

// pageNames are the pages render accepts; each has templates/<name>.html,
// which defines "title" and "content" for the shared layout.
var pageNames = []string{"login", "consent", "error", "logout", "signed_out", "password", "forgot", "account_done", "join", "device", "device_confirm", "factor", "recovery_codes", "account", "account_totp", "federation_error",
	"console", "console_org", "console_member", "console_activity", "console_apps", "console_app", "console_webhook", "console_keys"}

// pages holds the browser pages, parsed once at start, and the stylesheet
// they share. It is safe for concurrent use.
type pages struct {
	tmpl    map[string]*template.Template
	css     []byte
	cssETag string // strong ETag, quoted
	js      []byte
	jsETag  string
}

// loginView is the data of the "login" page.
type loginView struct {
	Action        string // form action URL (POST)
	InteractionID string // hidden field "interaction"
	CSRFToken     string // hidden field "csrf_token"
	ClientName    string
	ClientURI     string
	LogoURI       string
	Email         string // prefill (login_hint or the last attempt)
	Error         string // shown in an alert region when not empty
	Passkeys      bool   // offer "Sign in with a passkey" (with the script)
	// First shows the first step, the email alone (IdentifyAction);
	// otherwise the password step (Action).
	First          bool
	IdentifyAction string
	// ChangeEmail offers the way back to the first step.
	ChangeEmail bool
	// Providers are the upstream providers offered as buttons, posted to
	// FederatedAction.
	Providers       []oidc.ProviderButton
	FederatedAction string
}

// scopeView is one line of the consent page.
type scopeView struct{ Name, Description string }

// consentView is the data of the "consent" page.
type consentView struct {
	Action, InteractionID, CSRFToken string
	ClientName, ClientURI, LogoURI   string
	PolicyURI, TosURI                string // shown as links when https
	UserEmail                        string
	Scopes                           []scopeView
}

// errorView is the data of the "error" page.
type errorView struct {
	Title   string
	Message string
	Status  int
}

// logoutView is the data of the "logout" page, the "Sign out of Calimatic?"
// confirmation (OIDC RP-Initiated Logout §2: the OP should ask the user).
type logoutView struct {
	Action, CSRFToken     string
	ClientName            string // may be empty
	ClientID              string // hidden field "client_id" when set
	PostLogoutRedirectURI string // hidden field "post_logout_redirect_uri" when set
	State                 string // hidden field "state" when set
}

// signedOutView is the data of the "signed_out" page.
type signedOutView struct{ ClientName string }

// clientLink is a client's homepage, checked and ready to render as a link.
type clientLink struct{ Href, Host string }

// newPages parses every page template and loads the stylesheet.
func newPages() (*pages, error) {
	css, err := pageFiles.ReadFile("assets/calimatic.css")
	if err != nil {
		return nil, fmt.Errorf("pages: read stylesheet: %w", err)
	}
	js, err := pageFiles.ReadFile("assets/passkeys.js")
	if err != nil {
		return nil, fmt.Errorf("pages: read script: %w", err)
	}
	sum := sha256.Sum256(css)
	version := hex.EncodeToString(sum[:12])
	jsSum := sha256.Sum256(js)
	jsVersion := hex.EncodeToString(jsSum[:12])
	p := &pages{
		tmpl:    make(map[string]*template.Template, len(pageNames)),
		css:     css,
		cssETag: `"` + version + `"`,
		js:      js,
		jsETag:  `"` + jsVersion + `"`,
	}
	funcs := template.FuncMap{
		// The version query busts caches when the stylesheet changes;
		// cssHandler ignores it.
		"cssHref":    func() string { return cssPath + "?v=" + version[:16] },
		"jsHref":     func() string { return jsPath + "?v=" + jsVersion[:16] },
		"logoURL":    logoURL,
		"httpsURL":   logoURL, // the same rule: https, a host, no user info
		"clientLink": safeClientLink,
		"initial":    initial,
	}
	for _, name := range pageNames {
		files := []string{"templates/layout.html", "templates/" + name + ".html"}
		if strings.HasPrefix(name, "console") { // the console's pages share its navigation
			files = append(files, "templates/console_nav.html")
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(pageFiles, files...)
		if err != nil {
			return nil, fmt.Errorf("pages: parse %s: %w", name, err)
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// render executes the named page with data, which must be that page's view.
func (p *pages) render(name string, data any) ([]byte, error) {
	t, ok := p.tmpl[name]
	if !ok {
		return nil, fmt.Errorf("pages: unknown page %q", name)
	}
	var buf bytes.Buffer
	buf.Grow(4096)
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, fmt.Errorf("pages: render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// cssHandler serves GET cssPath from memory with a strong ETag.
func (p *pages) cssHandler(c *fiber.Ctx) error {
	return serveAsset(c, "text/css; charset=utf-8", p.cssETag, p.css)
}

// jsHandler serves GET jsPath as cssHandler serves the stylesheet.
func (p *pages) jsHandler(c *fiber.Ctx) error {
	return serveAsset(c, "text/javascript; charset=utf-8", p.jsETag, p.js)
}

func serveAsset(c *fiber.Ctx, contentType, etag string, body []byte) error {
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	c.Set(fiber.HeaderETag, etag)
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
		c.Status(fiber.StatusNotModified)
		return nil
	}
	return c.Send(body)
}

// etagMatches reports whether an If-None-Match header matches etag.
// RFC 9110 §13.1.2: If-None-Match uses the weak comparison, so W/"x" matches "x".
func etagMatches(header, etag string) bool {
	for candidate := range strings.SplitSeq(header, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
			return true
		}
	}
	return false
}

// logoURL returns uri if it may be shown as the client's logo, else "".
// Only https logos are loaded: anything else could leak the page over plain
// HTTP or smuggle a data: or javascript: URL from client registration.
func logoURL(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return ""
	}
	return uri
}

// safeClientLink returns the client's homepage as a link if it is https, or
// http on localhost for development; otherwise nil and the page shows no link.
// A URL with user info ("https://school.example@evil.example") is refused
// because its host is easy to misread.
func safeClientLink(uri string) *clientLink {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || u.User != nil || domain.ValidateRedirectURI(uri) != nil {
		return nil // registration refuses these; a client stored earlier shows no link
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && u.Hostname() == "localhost":
	default:
		return nil
	}
	return &clientLink{Href: uri, Host: u.Host}
}

// initial is the first letter or digit of name, upper-cased, for the
// placeholder shown when a client has no usable logo.
func initial(name string) string {
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return string(unicode.ToUpper(r))
		}
	}
	return "?"
}
