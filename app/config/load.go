package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load builds the configuration in layers: Default, then the YAML file at path
// (skipped when path is empty), then the CALIMATIC_* variables in environ (in
// os.Environ form, "NAME=value"), and finally Validate. A trailing slash on the
// issuer is trimmed before validation.
//
// An unknown key in the file is an error that names the key. An environment
// variable that names no key is ignored (see UnknownEnv to warn about one); a
// variable whose value does not parse is an error that names the variable.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(&cfg, data); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return Config{}, err
	}
	cfg.normalize()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// normalize fixes what has a single obvious meaning.
func (c *Config) normalize() {
	if strings.Contains(c.Issuer, "://") {
		c.Issuer = strings.TrimRight(c.Issuer, "/")
	}
}

// decodeYAML lays the document in data over cfg. Keys absent from the
// document keep their current value.
func decodeYAML(cfg *Config, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty file, or only comments
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: the document must be a mapping of keys", root.Line)
	}
	// yaml's own KnownFields error names the Go type, not the key's path, so
	// look for unknown keys first and report every one of them by path.
	if problems := checkKeys(root, reflect.TypeFor[Config](), ""); len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// checkKeys returns a message for every key of the mapping node that has no
// field in the struct type t, and for every bare number given as a duration,
// recursing into nested sections.
func checkKeys(node *yaml.Node, t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if k.Value == "<<" {
			continue // merge key: the decoder resolves it
		}
		path := joinPath(prefix, k.Value)
		f, ok := fieldByKey(t, k.Value)
		if !ok {
			out = append(out, fmt.Sprintf("line %d: unknown key %q (valid keys here: %s)",
				k.Line, path, strings.Join(yamlKeys(t), ", ")))
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct && v.Kind == yaml.MappingNode:
			out = append(out, checkKeys(v, ft, path)...)
		case ft == durationType && v.Kind == yaml.ScalarNode && (v.Tag == "!!int" || v.Tag == "!!float"):
			// yaml's message ("cannot unmarshal !!int into time.Duration")
			// names neither the key nor the fix.
			out = append(out, fmt.Sprintf("line %d: %s: %s is a number, not a duration (write it with a unit: %ss)",
				v.Line, path, v.Value, v.Value))
		}
	}
	return out
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" && name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// yamlName is the key of an exported field from its yaml tag, or "" when the
// field is not part of the configuration.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
