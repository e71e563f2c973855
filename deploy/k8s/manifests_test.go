// Package k8s holds the Kubernetes manifests; its test checks them, since no
// schema validator installs here without network access to its schemas.
package k8s

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/config"
)

type doc = map[string]any

func get(d any, path ...string) any {
	for _, p := range path {
		m, ok := d.(map[string]any)
		if !ok {
			return nil
		}
		d = m[p]
	}
	return d
}

func load(t *testing.T) map[string][]doc {
	t.Helper()
	files, _ := filepath.Glob("*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests")
	}
	out := map[string][]doc{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var d doc
			err := dec.Decode(&d)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if d == nil {
				continue
			}
			if get(d, "apiVersion") == nil || get(d, "kind") == nil || get(d, "metadata", "name") == nil {
				t.Errorf("%s: a document without apiVersion, kind or metadata.name", f)
			}
			d["_file"] = f
			out[get(d, "kind").(string)] = append(out[get(d, "kind").(string)], d)
		}
	}
	return out
}

// Every Pod meets the "restricted" Pod Security Standard
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
// runs a pinned image, and mounts only claims, config maps, secrets and
// emptyDirs that exist in the manifests.
func TestManifests_RestrictedPodSecurity(t *testing.T) {
	all := load(t)
	claims := map[string]bool{}
	for _, d := range all["PersistentVolumeClaim"] {
		claims[get(d, "metadata", "name").(string)] = true
	}
	var pods []struct {
		name string
		spec any
	}
	for _, d := range all["Deployment"] {
		pods = append(pods, struct {
			name string
			spec any
		}{get(d, "metadata", "name").(string), get(d, "spec", "template", "spec")})
	}
	for _, d := range all["CronJob"] {
		pods = append(pods, struct {
			name string
			spec any
		}{get(d, "metadata", "name").(string), get(d, "spec", "jobTemplate", "spec", "template", "spec")})
	}
	if len(pods) != 3 {
		t.Fatalf("want the Deployment and two CronJobs, got %d pod specs", len(pods))
	}
	pinned := regexp.MustCompile(`^[^:@]+(:[0-9][\w.-]*|@sha256:[0-9a-f]{64})$`)
	for _, p := range pods {
		if get(p.spec, "securityContext", "runAsNonRoot") != true || get(p.spec, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
			t.Errorf("%s: pod securityContext needs runAsNonRoot: true and seccompProfile RuntimeDefault", p.name)
		}
		if uid, _ := get(p.spec, "securityContext", "runAsUser").(int); uid == 0 {
			t.Errorf("%s: runAsUser must be a non-zero uid", p.name)
		}
		if get(p.spec, "hostNetwork") == true || get(p.spec, "hostPID") == true || get(p.spec, "hostIPC") == true {
			t.Errorf("%s: host namespaces", p.name)
		}
		containers, _ := get(p.spec, "containers").([]any)
		if len(containers) == 0 {
			t.Errorf("%s: no containers", p.name)
		}
		for _, c := range containers {
			sc := get(c, "securityContext")
			drop, _ := get(sc, "capabilities", "drop").([]any)
			if get(sc, "allowPrivilegeEscalation") != false || !slices.Contains(drop, any("ALL")) || get(sc, "readOnlyRootFilesystem") != true ||
				get(sc, "privileged") == true || get(sc, "runAsNonRoot") != true {
				t.Errorf("%s: container securityContext %v: needs allowPrivilegeEscalation: false, capabilities.drop [ALL], readOnlyRootFilesystem: true, runAsNonRoot: true", p.name, sc)
			}
			if added, _ := get(sc, "capabilities", "add").([]any); len(added) > 0 {
				t.Errorf("%s: adds capabilities %v", p.name, added)
			}
			if img, _ := get(c, "image").(string); !pinned.MatchString(img) {
				t.Errorf("%s: image %q is not pinned to a version or digest", p.name, img)
			}
			if get(c, "resources", "limits", "memory") == nil {
				t.Errorf("%s: no memory limit", p.name)
			}
		}
		vols, _ := get(p.spec, "volumes").([]any)
		for _, v := range vols {
			if get(v, "hostPath") != nil {
				t.Errorf("%s: hostPath volume", p.name)
			}
			if cl, ok := get(v, "persistentVolumeClaim", "claimName").(string); ok && !claims[cl] {
				t.Errorf("%s: claim %s is not in the manifests", p.name, cl)
			}
		}
	}
}

// Both CronJobs bound their runs the same way, and every Secret key a
// manifest reads is documented in deployment.yaml's header.
func TestManifests_CronJobLimitsAndSecretsDocumented(t *testing.T) {
	all := load(t)
	for _, d := range all["CronJob"] {
		name := get(d, "metadata", "name")
		if get(d, "spec", "concurrencyPolicy") != "Forbid" || get(d, "spec", "startingDeadlineSeconds") == nil ||
			get(d, "spec", "successfulJobsHistoryLimit") == nil || get(d, "spec", "failedJobsHistoryLimit") == nil {
			t.Errorf("%s: needs concurrencyPolicy Forbid, startingDeadlineSeconds and history limits", name)
		}
		if get(d, "spec", "jobTemplate", "spec", "backoffLimit") == nil || get(d, "spec", "jobTemplate", "spec", "activeDeadlineSeconds") == nil {
			t.Errorf("%s: needs backoffLimit and activeDeadlineSeconds", name)
		}
	}
	header, err := os.ReadFile("deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"Deployment", "CronJob"} {
		for _, d := range all[kind] {
			b, _ := yaml.Marshal(d)
			for _, m := range regexp.MustCompile(`secretKeyRef:\s+key: ([\w-]+)\s+name: ([\w-]+)`).FindAllStringSubmatch(string(b), -1) {
				if !strings.Contains(string(header), "--from-literal="+m[1]+"=") {
					t.Errorf("secret %s key %s is read but not documented in deployment.yaml", m[2], m[1])
				}
			}
		}
	}
}

// The configuration shipped in the ConfigMap loads through the strict loader.
func TestManifests_ConfigMapLoads(t *testing.T) {
	all := load(t)
	if len(all["ConfigMap"]) != 1 {
		t.Fatalf("want one ConfigMap")
	}
	body, _ := get(all["ConfigMap"][0], "data", "devpulse.yaml").(string)
	p := filepath.Join(t.TempDir(), "devpulse.yaml")
	os.WriteFile(p, []byte(body), 0o600)
	env := map[string]string{"GITLAB_TOKEN": "glpat-x", "DEVPULSE_PRIVACY_SECRET": "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"}
	c, err := config.Load(config.Options{Path: p, Env: func(k string) string { return env[k] }, Kinds: collectors.Kinds()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Warehouse.Engine == "duckdb" && !strings.HasPrefix(c.Warehouse.Path, "/var/lib/devpulse/") {
		t.Errorf("the DuckDB file %s is not on the claim mounted at /var/lib/devpulse", c.Warehouse.Path)
	}
}

// The image runs as a non-root user, keeps the DuckDB file in a volume,
// checks its own health, listens where it EXPOSEs, bakes the version in,
// and its build context leaves warehouses and local configs out.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^USER 65532:65532$`),
		regexp.MustCompile(`(?m)^VOLUME \["/var/lib/devpulse"\]$`),
		regexp.MustCompile(`(?m)^HEALTHCHECK .*\n\s+CMD \["/usr/local/bin/devpulse", "healthcheck"`),
		regexp.MustCompile(`(?m)^EXPOSE 9090$`),
		regexp.MustCompile(`(?m)^CMD \["schedule", .*"--listen", "0\.0\.0\.0:9090"\]$`),
		regexp.MustCompile(`internal/version\.Version=\$\{VERSION\}.*internal/version\.Commit=\$\{COMMIT\}.*internal/version\.Date=\$\{DATE\}`),
	} {
		if !want.MatchString(df) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	ign, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*.duckdb", "devpulse.yaml", ".git"} {
		if !slices.Contains(strings.Split(string(ign), "\n"), want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}
