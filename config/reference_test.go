package config_test

import (
	"flag"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/devpulse/devpulse/collectors"
	. "github.com/devpulse/devpulse/config"
)

var update = flag.Bool("update", false, "rewrite docs/devpulse.reference.yaml from the code")

const referenceFile = "../docs/devpulse.reference.yaml"

// The reference in docs/ is what `devpulse config reference` prints.
func TestReference_IsGenerated(t *testing.T) {
	got := Reference(collectors.Kinds())
	if *update {
		if err := os.WriteFile(referenceFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("%s differs from Reference(); run go test ./config -run Reference -update", referenceFile)
	}
}

// Both shipped files load through the strict loader: the reference with
// every source type, the minimal example with one token and the secret.
func TestReference_AndExampleLoad(t *testing.T) {
	c, err := load(Options{Path: referenceFile, Env: env(map[string]string{"GITLAB_TOKEN": "x", "REDMINE_API_KEY": "y", "JIRA_TOKEN": "z", "PAYMENTS_SLACK_WEBHOOK": "https://hooks.slack.com/services/T0/B0/x"})})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range collectors.TypeNames() {
		if c.Sources[typ] == nil || c.Sources[typ].Type != typ {
			t.Errorf("reference has no %s source", typ)
		}
	}
	c, err = load(Options{Path: "../devpulse.example.yaml", Env: env(map[string]string{"GITLAB_TOKEN": "glpat-x"})})
	if err != nil {
		t.Fatalf("minimal example with GITLAB_TOKEN set: %v", err)
	}
	if len(c.Sources) != 1 || len(c.Schedule.Jobs) != 0 {
		t.Errorf("the minimal example should hold one source and no jobs: %+v", c)
	}
}

var keyLine = regexp.MustCompile(`^( *)(?:- )?([a-z_]+):`)

// Every key the loader takes appears in the reference with a comment on its
// line or the line above.
func TestReference_DocumentsEveryKey(t *testing.T) {
	lines := strings.Split(Reference(collectors.Kinds()), "\n")
	documented := map[string]bool{} // dotted path, sources.<type>.<key>
	var stack []struct {
		indent int
		key    string
	}
	for i, l := range lines {
		m := keyLine.FindStringSubmatch(l)
		if m == nil || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		indent := len(m[1])
		if strings.Contains(l, "- ") && strings.Index(l, "- ") == indent {
			indent += 2
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		stack = append(stack, struct {
			indent int
			key    string
		}{indent, m[2]})
		var path []string
		for _, s := range stack {
			path = append(path, s.key)
		}
		commented := strings.Contains(l, "#") || (i > 0 && strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#"))
		documented[strings.Join(path, ".")] = documented[strings.Join(path, ".")] || commented
	}
	check := func(key string) {
		t.Helper()
		if ok, found := documented[key]; !found {
			t.Errorf("key %s is missing from the reference", key)
		} else if !ok {
			t.Errorf("key %s has no comment in the reference", key)
		}
	}
	for _, k := range configKeys(reflect.TypeOf(Config{}), "") {
		check(k)
	}
	for _, k := range configKeys(reflect.TypeOf(Job{}), "schedule.jobs.") {
		check(k)
	}
	for _, k := range configKeys(reflect.TypeOf(Source{}), "") {
		check("sources.gitlab." + k)
	}
	for _, typ := range collectors.TypeNames() {
		for _, k := range configKeys(reflect.TypeOf(collectors.Registry[typ].Kind.New()).Elem(), "sources."+typ+".") {
			check(k)
		}
	}
}

// configKeys are the dotted keys of a config struct, maps and lists of
// structs included as one key.
func configKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("mapstructure")
		if tag == "" || tag == "-" || (t == reflect.TypeOf(Config{}) && tag == "sources") {
			continue
		}
		if ft := t.Field(i).Type; ft.Kind() == reflect.Struct && ft.Name() != "Duration" {
			out = append(out, configKeys(ft, prefix+tag+".")...)
			continue
		}
		out = append(out, prefix+tag)
	}
	return out
}
