package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every variable that overrides a key.
const EnvPrefix = "CALIMATIC_"

// EnvConfigPath names the configuration file. It is read by the command, not
// by Load, and is not a key.
const EnvConfigPath = "CALIMATIC_CONFIG"

// envTestPrefix starts the variables the tests read (backend addresses).
const envTestPrefix = "CALIMATIC_TEST_"

// key is one leaf of the configuration: its dotted path, its variable and
// where it lives in Config.
type key struct {
	path  string // "ratelimit.token.limit"
	env   string // "CALIMATIC_RATELIMIT_TOKEN_LIMIT"
	index []int  // for reflect.Value.FieldByIndex
	typ   reflect.Type
}

var durationType = reflect.TypeFor[time.Duration]()

// keys lists every leaf key of Config, in declaration order.
func keys() []key {
	var out []key
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			path := joinPath(prefix, name)
			idx := append(append([]int(nil), index...), i)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, path, idx)
				continue
			}
			out = append(out, key{path: path, env: envName(path), index: idx, typ: f.Type})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
}

// envName is the variable that overrides the key at path.
func envName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

func keysByEnv() map[string]key {
	m := make(map[string]key)
	for _, k := range keys() {
		m[k.env] = k
	}
	return m
}

// applyEnv sets every key whose variable is in environ. Later entries win.
func applyEnv(cfg *Config, environ []string) error {
	byEnv := keysByEnv()
	root := reflect.ValueOf(cfg).Elem()
	failed := map[string]error{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		k, ok := byEnv[name]
		if !ok {
			continue
		}
		if err := setFromString(root.FieldByIndex(k.index), value); err != nil {
			failed[name] = fmt.Errorf("%s (%s): %w", name, k.path, err)
		} else {
			delete(failed, name)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	names := make([]string, 0, len(failed))
	for name := range failed {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 1 {
		return fmt.Errorf("config: bad environment override: %w", failed[names[0]])
	}
	msgs := make([]string, 0, len(names))
	for _, name := range names {
		msgs = append(msgs, failed[name].Error())
	}
	return errors.New("config: bad environment overrides:\n  - " + strings.Join(msgs, "\n  - "))
}

// setFromString parses s into v, by v's type. The messages quote s: only
// numbers, booleans and durations can fail, never a secret.
func setFromString(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a duration (use e.g. 90s, 5m, 1h)", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a boolean (use true or false)", s)
		}
		v.SetBool(b)
	case reflect.Pointer:
		if strings.TrimSpace(s) == "" {
			v.SetZero() // unset: the key's automatic behaviour
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := setFromString(p.Elem(), s); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", v.Type())
		}
		items := []string{}
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		// A new field of a kind this function does not know: fail loudly
		// rather than ignore the override.
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// UnknownEnv returns the names in environ that start with CALIMATIC_ but name
// no key (nor CALIMATIC_CONFIG, nor a CALIMATIC_TEST_ variable), sorted. Load
// ignores them; the command can warn about each, since one is usually a typo.
func UnknownEnv(environ []string) []string {
	byEnv := keysByEnv()
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || name == EnvConfigPath || strings.HasPrefix(name, envTestPrefix) {
			continue
		}
		if _, ok := byEnv[name]; !ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
