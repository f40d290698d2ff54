package app_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The import rules of DESIGN.md ("Dependencies point one way"):
//
//	core/domain <- ports <- core use cases <- adapters <- app
//
//   - core and ports import no Fiber, no database driver, no Vault client, no
//     fx and no logger, and nothing from adapters or app;
//   - core/domain imports only the standard library and golang.org/x/crypto;
//   - core imports no net/http and names no HTTP status: it reports a kind
//     (core/fault), and adapters/http picks each dialect's status;
//   - ports import, within the module, only core/domain;
//   - adapters never import each other;
//   - only app, and each adapter's own module.go, import fx;
//   - adapters/internal/ holds plumbing the adapters share (a background
//     task's start and stop, the JWK Sets others publish); it is no
//     adapter, and depends on nothing else of the module: otherwise it
//     would be a way round the rules above.
//
// The rules apply to the code that ships: test files may compose more freely
// (an end-to-end test wires adapters together), except for the fx rule, which
// is checked file by file.

// pkg is what `go list` says about one package of the module.
type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string // direct imports of the non-test files
	Deps       []string // every transitive dependency of the non-test files
	Error      *struct{ Err string }
}

// file is one Go file of the module and its imports.
type file struct {
	Pkg     string // import path of its package
	Name    string // base name, "module.go"
	Imports []string
	// Statuses are the HTTP statuses the file names (httpStatuses).
	Statuses []string
}

func TestArchitecture(t *testing.T) {
	module, pkgs := listModule(t)
	files := parseFiles(t, pkgs)

	rel := func(p pkg) string { return strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/") }
	count := func(prefix string) int {
		n := 0
		for _, p := range pkgs {
			if under(rel(p), prefix) {
				n++
			}
		}
		return n
	}
	// A rule over no packages passes vacuously: make sure each layer is seen.
	for _, layer := range []string{"core/domain", "core", "ports", "adapters", "app"} {
		require.NotZero(t, count(layer), "go list found no package under %s/", layer)
	}
	for _, p := range pkgs {
		if p.Error != nil {
			t.Logf("go list: %s: %s (checked with what go list could resolve)", p.ImportPath, p.Error.Err)
		}
	}

	for _, v := range checkPackages(module, pkgs) {
		t.Error(v)
	}
	for _, v := range checkFx(module, files) {
		t.Error(v)
	}
	for _, v := range checkStatuses(module, files) {
		t.Error(v)
	}
}

// forbiddenInCore are import path prefixes that core and ports must not
// depend on, even indirectly.
var forbiddenInCore = []string{
	"github.com/gofiber/",          // HTTP framework
	"github.com/valyala/fasthttp",  // Fiber's server
	"github.com/jackc/",            // PostgreSQL driver
	"github.com/lib/pq",            // PostgreSQL driver
	"go.mongodb.org/",              // MongoDB driver
	"github.com/hashicorp/vault",   // Vault client
	"go.uber.org/fx",               // wiring
	"go.uber.org/dig",              // fx's container
	"go.uber.org/zap",              // logger
	"github.com/sirupsen/logrus",   // logger
	"github.com/rs/zerolog",        // logger
	"log/slog",                     // logger
	"github.com/prometheus/",       // metrics are an adapter's concern
	"github.com/chromedp/",         // browser tests
	"github.com/stretchr/testify/", // test helpers in shipped code
}

// forbiddenDirectInCore are standard packages core and ports must not import
// themselves (other standard packages may use them internally).
var forbiddenDirectInCore = []string{"log"}

// checkPackages applies the package-level rules and returns one message per
// violation.
func checkPackages(module string, pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		rel, ok := relPath(module, p.ImportPath)
		if !ok {
			continue
		}
		inCore := under(rel, "core") || under(rel, "ports")

		if inCore {
			// One line per forbidden family ("github.com/gofiber/"), not
			// one per package of it; direct imports first, as the likelier
			// culprit.
			seen := map[string]bool{}
			for _, dep := range append(slices.Clone(p.Imports), p.Deps...) {
				prefix, bad := matchPrefix(dep, forbiddenInCore)
				if !bad || seen[prefix] {
					continue
				}
				seen[prefix] = true
				out = append(out, fmt.Sprintf("%s depends on %s: core and ports use no framework, driver, fx or logger%s",
					rel, dep, via(p, dep, pkgs)))
			}
			for _, dep := range p.Deps {
				if depRel, ok := relPath(module, dep); ok && (under(depRel, "adapters") || under(depRel, "app")) {
					out = append(out, fmt.Sprintf("%s depends on %s: core and ports never depend on adapters or app%s",
						rel, depRel, via(p, dep, pkgs)))
				}
			}
			for _, imp := range p.Imports {
				if slices.Contains(forbiddenDirectInCore, imp) {
					out = append(out, fmt.Sprintf("%s imports %s: core and ports do not log; return errors instead", rel, imp))
				}
			}
		}

		if under(rel, "core") {
			for _, imp := range p.Imports {
				if under(imp, "net/http") {
					out = append(out, fmt.Sprintf("%s imports %s: core reports a fault.Kind, and adapters/http picks the status", rel, imp))
				}
			}
		}

		if under(rel, "core/domain") {
			for _, imp := range p.Imports {
				impRel, internal := relPath(module, imp)
				switch {
				case internal && under(impRel, "core/domain"):
				case isStandard(imp), under(imp, "golang.org/x/crypto"):
				default:
					out = append(out, fmt.Sprintf("%s imports %s: core/domain imports only the standard library and golang.org/x/crypto", rel, imp))
				}
			}
		}

		if under(rel, "ports") {
			for _, dep := range p.Deps {
				if depRel, ok := relPath(module, dep); ok && !under(depRel, "core/domain") && !under(depRel, "ports") {
					out = append(out, fmt.Sprintf("%s depends on %s: ports speak only core/domain types%s", rel, depRel, via(p, dep, pkgs)))
				}
			}
		}

		if under(rel, "adapters/internal") {
			for _, dep := range p.Deps {
				if depRel, ok := relPath(module, dep); ok && !under(depRel, "adapters/internal") {
					out = append(out, fmt.Sprintf("%s depends on %s: the adapters' shared plumbing depends on nothing else of the module%s", rel, depRel, via(p, dep, pkgs)))
				}
			}
		}

		if adapter, ok := adapterOf(rel); ok {
			for _, dep := range p.Deps {
				depRel, internal := relPath(module, dep)
				if !internal {
					continue
				}
				if other, ok := adapterOf(depRel); ok && other != adapter {
					out = append(out, fmt.Sprintf("%s depends on %s: adapters never import each other%s", rel, depRel, via(p, dep, pkgs)))
				}
				if under(depRel, "app") {
					out = append(out, fmt.Sprintf("%s depends on %s: adapters never depend on app", rel, depRel))
				}
			}
		}
	}
	return out
}

// checkFx applies the fx rule file by file: only app/..., and an adapter's
// module.go, import fx. An adapter's tests may too, to check that its Module
// wires (fx.New(memory.Module, fx.Populate(...))); no other test may.
func checkFx(module string, files []file) []string {
	var out []string
	for _, f := range files {
		rel, ok := relPath(module, f.Pkg)
		if !ok || under(rel, "app") {
			continue
		}
		_, isAdapter := adapterOf(rel)
		if isAdapter && (f.Name == "module.go" || strings.HasSuffix(f.Name, "_test.go")) {
			continue
		}
		for _, imp := range f.Imports {
			if under(imp, "go.uber.org/fx") || under(imp, "go.uber.org/dig") {
				out = append(out, fmt.Sprintf("%s imports %s: only app and an adapter's module.go import fx",
					filepath.ToSlash(filepath.Join(rel, f.Name)), imp))
			}
		}
	}
	return out
}

// checkStatuses applies the status rule file by file: no shipped file
// under core names an HTTP status.
func checkStatuses(module string, files []file) []string {
	var out []string
	for _, f := range files {
		rel, ok := relPath(module, f.Pkg)
		if !ok || !under(rel, "core") || strings.HasSuffix(f.Name, "_test.go") {
			continue
		}
		for _, st := range f.Statuses {
			out = append(out, fmt.Sprintf("%s names an HTTP status (%s): core reports a fault.Kind, and adapters/http picks the status",
				filepath.ToSlash(filepath.Join(rel, f.Name)), st))
		}
	}
	return out
}

// httpStatuses lists what a file names of HTTP statuses: net/http's Status
// constants (http.StatusNotFound, under any import name), and ints called
// status (a field, parameter or result, such as an error's Status int),
// which is how a bare 404 gets in. Numbers are not looked at: a 404 is
// also a length or a count, and a receiver's StatusCode is a fact to keep.
func httpStatuses(fset *token.FileSet, f *ast.File) []string {
	httpNames := map[string]bool{}
	for _, spec := range f.Imports {
		if path, err := strconv.Unquote(spec.Path.Value); err == nil && path == "net/http" {
			name := "http"
			if spec.Name != nil {
				name = spec.Name.Name
			}
			httpNames[name] = true
		}
	}
	var out []string
	at := func(n ast.Node) string { return strconv.Itoa(fset.Position(n.Pos()).Line) }
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && httpNames[x.Name] && strings.HasPrefix(n.Sel.Name, "Status") {
				out = append(out, x.Name+"."+n.Sel.Name+" at line "+at(n))
			}
		case *ast.Field:
			if t, ok := n.Type.(*ast.Ident); ok && t.Name == "int" {
				for _, name := range n.Names {
					if strings.EqualFold(name.Name, "status") {
						out = append(out, name.Name+" int at line "+at(name))
					}
				}
			}
		}
		return true
	})
	return out
}

// adapterOf returns the adapter a module-relative package belongs to:
// "adapters/http/ui" belongs to "http".
func adapterOf(rel string) (string, bool) {
	rest, ok := strings.CutPrefix(rel, "adapters/")
	if !ok || rest == "" {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "/")
	if name == "internal" {
		return "", false // the adapters' shared plumbing, no adapter
	}
	return name, true
}

// via explains how p reaches dep when it does not import it directly.
func via(p pkg, dep string, pkgs []pkg) string {
	if slices.Contains(p.Imports, dep) {
		return ""
	}
	for _, imp := range p.Imports {
		for _, q := range pkgs {
			if q.ImportPath == imp && slices.Contains(q.Deps, dep) {
				return " (through " + imp + ")"
			}
		}
	}
	return " (indirectly)"
}

// relPath returns path relative to the module, and whether it is inside it.
func relPath(module, path string) (string, bool) {
	if path == module {
		return "", true
	}
	rest, ok := strings.CutPrefix(path, module+"/")
	return rest, ok
}

// under reports whether path is prefix or inside it, by whole elements.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// matchPrefix returns the entry of prefixes that path falls under. An entry
// ending in "/" matches by string prefix, any other by whole path elements.
func matchPrefix(path string, prefixes []string) (string, bool) {
	for _, p := range prefixes {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) || under(path, p) {
			return p, true
		}
	}
	return "", false
}

// isStandard reports whether an import path is the standard library's: its
// first element has no dot.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// listModule runs `go list -deps`-style queries over every package of the
// module, from the module root.
func listModule(t *testing.T) (string, []pkg) {
	t.Helper()
	gomod := strings.TrimSpace(goCmd(t, "", "env", "GOMOD"))
	require.NotEmpty(t, gomod, "not inside a module")
	require.NotEqual(t, "/dev/null", gomod, "not inside a module")
	root := filepath.Dir(gomod)
	module := strings.TrimSpace(goCmd(t, root, "list", "-m"))
	require.NotEmpty(t, module)

	// -e: a package another session is still writing may not build; list
	// what can be resolved rather than fail on it.
	out := goCmd(t, root, "list", "-e", "-json=ImportPath,Dir,Imports,Deps,Error", "./...")
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader([]byte(out)))
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs, "go list ./... found no package")
	return module, pkgs
}

// parseFiles reads the imports and the HTTP statuses named of every .go
// file (tests included, build tags ignored) of every package.
func parseFiles(t *testing.T, pkgs []pkg) []file {
	t.Helper()
	var files []file
	fset := token.NewFileSet()
	for _, p := range pkgs {
		if p.Dir == "" {
			continue
		}
		names, err := filepath.Glob(filepath.Join(p.Dir, "*.go"))
		require.NoError(t, err)
		for _, name := range names {
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Logf("skipping %s: %v", name, err)
				continue
			}
			fi := file{Pkg: p.ImportPath, Name: filepath.Base(name), Statuses: httpStatuses(fset, f)}
			for _, spec := range f.Imports {
				if path, err := strconv.Unquote(spec.Path.Value); err == nil {
					fi.Imports = append(fi.Imports, path)
				}
			}
			files = append(files, fi)
		}
	}
	require.NotEmpty(t, files, "found no Go file to check")
	return files
}

func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go %s: %s", strings.Join(args, " "), stderr.String())
	return string(out)
}

// TestArchitectureRulesCatchViolations feeds the checks a made-up module that
// breaks every rule, so that TestArchitecture cannot pass because a check is
// blind.
func TestArchitectureRulesCatchViolations(t *testing.T) {
	const m = "example.com/mod"
	pkgs := []pkg{
		{ImportPath: m + "/core/domain", Imports: []string{"time", "golang.org/x/crypto/argon2", "github.com/google/uuid"},
			Deps: []string{"time", "golang.org/x/crypto/argon2", "golang.org/x/sys/cpu", "github.com/google/uuid"}},
		{ImportPath: m + "/core/oidc", Imports: []string{m + "/ports", "log/slog", "log", m + "/adapters/memory"},
			Deps: []string{m + "/ports", "log/slog", "log", m + "/adapters/memory"}},
		{ImportPath: m + "/ports", Imports: []string{m + "/core/domain", m + "/core/oidc"},
			Deps: []string{m + "/core/domain", m + "/core/oidc", "github.com/gofiber/fiber/v2"}},
		{ImportPath: m + "/core/scim", Imports: []string{"net/http", "strconv"}, Deps: []string{"net/http", "strconv"}},
		{ImportPath: m + "/core/webhooks", Imports: []string{m + "/ports"}, Deps: []string{m + "/ports", "net/http"}},
		{ImportPath: m + "/adapters/http", Imports: []string{m + "/adapters/memory", "net/http"}, Deps: []string{m + "/adapters/memory", "net/http"}},
		{ImportPath: m + "/adapters/http/ui", Imports: []string{m + "/adapters/http"}, Deps: []string{m + "/adapters/http"}},
		{ImportPath: m + "/adapters/memory", Imports: []string{m + "/app/config"}, Deps: []string{m + "/app/config"}},
		{ImportPath: m + "/app", Imports: []string{"go.uber.org/fx", m + "/adapters/http"}, Deps: []string{"go.uber.org/fx", m + "/adapters/http"}},
		{ImportPath: m + "/adapters/internal/background", Imports: []string{m + "/ports"}, Deps: []string{m + "/ports", m + "/core/domain"}},
		{ImportPath: m + "/adapters/mongo", Imports: []string{m + "/adapters/internal/background"}, Deps: []string{m + "/adapters/internal/background"}},
	}
	got := strings.Join(checkPackages(m, pkgs), "\n")
	for _, want := range []string{
		"core/domain imports github.com/google/uuid",
		"core/oidc depends on log/slog",
		"core/oidc imports log:",
		"core/oidc depends on adapters/memory",
		"ports depends on github.com/gofiber/fiber/v2",
		"ports depends on core/oidc",
		"adapters/http depends on adapters/memory",
		"adapters/memory depends on app/config",
		"adapters/internal/background depends on ports",
		"core/scim imports net/http:",
	} {
		assert.Contains(t, got, want)
	}
	for _, notWant := range []string{
		"core/domain imports golang.org/x/crypto",   // allowed
		"core/domain imports time",                  // allowed
		"adapters/http/ui depends on adapters/http", // same adapter
		"app depends", // app may depend on anything
		"adapters/mongo depends on adapters/internal", // shared plumbing
		"core/webhooks imports net/http",              // a dependency may use it
		"adapters/http imports net/http",              // the edge speaks HTTP
	} {
		assert.NotContains(t, got, notWant)
	}

	files := []file{
		{Pkg: m + "/app", Name: "app.go", Imports: []string{"go.uber.org/fx"}},
		{Pkg: m + "/app/cmd/calimatic-auth", Name: "main.go", Imports: []string{"go.uber.org/fx"}},
		{Pkg: m + "/adapters/memory", Name: "module.go", Imports: []string{"go.uber.org/fx"}},
		{Pkg: m + "/adapters/memory", Name: "memory_test.go", Imports: []string{"go.uber.org/fx/fxtest"}},
		{Pkg: m + "/adapters/memory", Name: "clients.go", Imports: []string{"go.uber.org/fx"}},
		{Pkg: m + "/core/oidc", Name: "module.go", Imports: []string{"go.uber.org/fx"}},
		{Pkg: m + "/core/oidc", Name: "provider_test.go", Imports: []string{"go.uber.org/fx"}},
		{Pkg: m + "/testsuite", Name: "suite.go", Imports: []string{"go.uber.org/fx"}},
		{Pkg: m + "/adapters/internal/background", Name: "background.go", Imports: []string{"go.uber.org/fx"}},
	}
	assert.ElementsMatch(t, []string{
		"adapters/memory/clients.go imports go.uber.org/fx: only app and an adapter's module.go import fx",
		"core/oidc/module.go imports go.uber.org/fx: only app and an adapter's module.go import fx",
		"core/oidc/provider_test.go imports go.uber.org/fx: only app and an adapter's module.go import fx",
		"testsuite/suite.go imports go.uber.org/fx: only app and an adapter's module.go import fx",
		"adapters/internal/background/background.go imports go.uber.org/fx: only app and an adapter's module.go import fx",
	}, checkFx(m, files))

	// The status rule, on made-up sources: the ways a status gets into the
	// core, and the look-alikes that are not one.
	statusesOf := func(src string) []string {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "errors.go", src, parser.SkipObjectResolution)
		require.NoError(t, err)
		return httpStatuses(fset, f)
	}
	assert.Equal(t, []string{"http.StatusNotFound at line 3", "nethttp.StatusConflict at line 4"}, statusesOf(`package scim
import ("net/http"; nethttp "net/http")
var errNotFound = newErr(http.StatusNotFound, "no such resource")
var errTaken = newErr(nethttp.StatusConflict, "taken")`))
	assert.Equal(t, []string{"Status int at line 2", "status int at line 3"}, statusesOf(`package scim
type Error struct { Status int; Detail string }
func newErr(status int, detail string) *Error { return &Error{Status: status, Detail: detail} }`))
	assert.Empty(t, statusesOf(`package webhooks
import "example.com/mod/ports"
const maxLen = 404
type Attempt struct { StatusCode int; Status ports.Status }
func gone(res ports.Result) bool { return res.StatusCode == 410 }`), "a receiver's status code, a typed status and plain numbers are not the core choosing a status")

	statusFiles := []file{
		{Pkg: m + "/core/scim", Name: "errors.go", Statuses: []string{"Status int at line 21"}},
		{Pkg: m + "/core/scim", Name: "errors_test.go", Statuses: []string{"http.StatusBadRequest at line 9"}},
		{Pkg: m + "/adapters/http", Name: "errors.go", Statuses: []string{"http.StatusNotFound at line 30"}},
	}
	assert.Equal(t, []string{
		"core/scim/errors.go names an HTTP status (Status int at line 21): core reports a fault.Kind, and adapters/http picks the status",
	}, checkStatuses(m, statusFiles))
}

// maxFileLines bounds a production file: past it, a file holds more than
// one idea, and a reader has to page through all of them.
const maxFileLines = 600

// TestNoProductionFileIsTooLong checks every non-test Go file of the
// module (the wrappers under .ci are modules of their own).
func TestNoProductionFileIsTooLong(t *testing.T) {
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != ".." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if n := bytes.Count(b, []byte("\n")); n > maxFileLines {
			t.Errorf("%s has %d lines, more than %d: split it along a seam", strings.TrimPrefix(path, "../"), n, maxFileLines)
		}
		return nil
	})
	require.NoError(t, err)
	require.NotZero(t, checked, "no Go file found under the module root")
}
