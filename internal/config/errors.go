package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/render"
)

// unknownField is yaml.v3's wording of an unknown key under KnownFields.
var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type (\S+)$`)

// yamlLine is yaml.v3's "line N: …" prefix of one problem.
var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// decodeError rewrites a yaml.v3 decoding error of the configuration file
// in the words of the file the user wrote: a key name, the file and its
// line, and the nearest known key, instead of Go type names that say
// nothing to someone editing relais.yaml.
func decodeError(file string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	keys, sections := keysByType()
	var msgs []string
	for _, e := range te.Errors {
		if m := unknownField.FindStringSubmatch(e); m != nil {
			line, _ := strconv.Atoi(m[1])
			where := file
			if sec := sections[m[3]]; sec != "" {
				where = sec + " of " + file
			}
			// The file is named once, in the sentence: "line 2: unknown
			// key "redis_ulr" in relais.yaml (did you mean "redis_url"?)".
			msg := fmt.Sprintf("line %d: unknown key %q in %s", line, m[2], where)
			if c := render.Closest(m[2], keys[m[3]]); c != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", c)
			}
			msgs = append(msgs, msg)
			continue
		}
		if m := yamlLine.FindStringSubmatch(e); m != nil {
			msgs = append(msgs, fmt.Sprintf("%s:%s: %s", file, m[1], goTypeWords(m[2])))
			continue
		}
		msgs = append(msgs, fmt.Sprintf("%s: %s", file, goTypeWords(e)))
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// goTypeWords replaces yaml.v3's Go type names ("into time.Duration") by
// what a value of that type is written as.
func goTypeWords(msg string) string {
	r := strings.NewReplacer(
		"into time.Duration", "into a duration (e.g. 30s)",
		"into int", "into a whole number",
		"into bool", "into true or false",
		"into []string", "into a list of strings",
		"!!str", "text", "!!int", "number", "!!seq", "list", "!!map", "mapping",
	)
	return r.Replace(msg)
}

// keysByType maps the type names yaml.v3 prints ("config.Config",
// "policy.Rules") to the YAML keys of that struct, so that a typo is
// answered with a key of the right section, and to the section's key path
// ("policy", "print.window"; "" for the top level).
func keysByType() (keys map[string][]string, sections map[string]string) {
	out := map[string][]string{}
	sections = map[string]string{}
	var walk func(t reflect.Type, section string)
	walk = func(t reflect.Type, section string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		name := t.String()
		if _, seen := out[name]; seen {
			return
		}
		out[name] = nil
		sections[name] = section
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "-" || !f.IsExported() {
				continue
			}
			if tag == "" {
				tag = strings.ToLower(f.Name)
			}
			out[name] = append(out[name], tag)
			walk(f.Type, strings.TrimPrefix(section+"."+tag, "."))
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out, sections
}
