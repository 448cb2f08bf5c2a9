// Package deploy holds the container image, Compose and Kubernetes files;
// its test checks them against the binary, since no container runtime is
// needed to see a wrong variable name, a root user or a probe on a path
// relais does not serve.
package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/config"
)

// secretEnv are the variables whose values are secrets: set from a Secret
// (Kubernetes) or a mounted secret file (Compose), never written inline.
// URLs are allowed inline when they carry no password.
var secretEnv = []string{"RELAIS_SECRET", "RELAIS_PREVIOUS_SECRETS", "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID",
	"RELAIS_DKIM_PRIVATE_KEY", "RELAIS_DATABASE_URL", "RELAIS_SMTP_URL", "RELAIS_REDIS_URL"}

// probePaths are the health endpoints relais serves (api role on
// http_addr, other roles on ops_addr).
var probePaths = []string{"/healthz", "/readyz"}

// known fails t when name is not a variable relais reads.
func known(t *testing.T, where, name string) {
	t.Helper()
	if !slices.Contains(config.EnvNames(), name) {
		t.Errorf("%s sets %s, which relais does not read", where, name)
	}
}

// inlineSecret reports whether name=value writes a secret inline.
func inlineSecret(name, value string) bool {
	if !slices.Contains(secretEnv, name) || value == "" {
		return false
	}
	if strings.Contains(value, "://") {
		u, err := url.Parse(value)
		if err != nil {
			return true
		}
		_, hasPw := u.User.Password()
		return hasPw
	}
	return true
}

// pinned reports whether an image reference names a tag or digest other
// than latest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	i := strings.LastIndex(image, ":")
	return i > 0 && !strings.Contains(image[i:], "/") && image[i+1:] != "latest"
}

// TestDockerfile checks the image: multi-stage, static binary, pinned
// bases, non-root final stage, a health check on /readyz.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	var user, health string
	cgo := false
	sc := bufio.NewScanner(bytes.NewReader(bytes.ReplaceAll(b, []byte("\\\n"), nil)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
			user = ""
		case "USER":
			user = f[1]
		case "RUN":
			cgo = cgo || strings.Contains(sc.Text(), "CGO_ENABLED=0")
		case "HEALTHCHECK":
			health = sc.Text()
		case "ENV":
			for _, kv := range f[1:] {
				if name, v, ok := strings.Cut(kv, "="); ok {
					known(t, "Dockerfile", name)
					if inlineSecret(name, v) {
						t.Errorf("Dockerfile sets the secret %s inline", name)
					}
				}
			}
		}
	}
	if len(froms) < 2 {
		t.Errorf("want a multi-stage build, got FROM %v", froms)
	}
	for _, f := range froms {
		if !pinned(f) {
			t.Errorf("FROM %s is not pinned by tag", f)
		}
	}
	if !strings.Contains(froms[len(froms)-1], "distroless/static") && froms[len(froms)-1] != "scratch" {
		t.Errorf("final stage %s: want distroless static or scratch", froms[len(froms)-1])
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("final stage runs as %q, want a non-root user", user)
	}
	if !cgo {
		t.Error("the binary is not built with CGO_ENABLED=0")
	}
	if !strings.Contains(health, "probe") || !strings.Contains(health, "/readyz") {
		t.Errorf("HEALTHCHECK %q: want relais probe on /readyz", health)
	}
}

// composeFile is the part of a Compose file the test reads.
type composeFile struct {
	Services map[string]struct {
		Image         string            `yaml:"image"`
		Command       []string          `yaml:"command"`
		Environment   map[string]string `yaml:"environment"`
		Secrets       []string          `yaml:"secrets"`
		Ports         []string          `yaml:"ports"`
		ContainerName string            `yaml:"container_name"`
		Healthcheck   struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Secrets map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
}

// TestCompose checks deploy/compose.yaml: the services of a complete
// installation, pinned images, known variables, secrets from mounted
// files, probes on relais' endpoints, scalable workers, durable Redis.
func TestCompose(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"postgres", "redis", "mailpit", "relais", "worker", "migrate"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("compose.yaml has no %s service", want)
		}
	}
	for name, s := range c.Services {
		if !pinned(s.Image) {
			t.Errorf("service %s: image %q is not pinned by tag", name, s.Image)
		}
		if !strings.HasPrefix(s.Image, "relais:") {
			continue
		}
		for k, v := range s.Environment {
			known(t, "compose service "+name, k)
			if inlineSecret(k, v) {
				t.Errorf("service %s writes the secret %s inline", name, k)
			}
			if sec, ok := strings.CutPrefix(v, "/run/secrets/"); ok && strings.HasSuffix(k, "_FILE") {
				if !slices.Contains(s.Secrets, sec) {
					t.Errorf("service %s reads %s from secret %s it does not mount", name, k, sec)
				}
				if _, ok := c.Secrets[sec]; !ok {
					t.Errorf("service %s: secret %s is not declared", name, sec)
				}
			}
		}
		if hc := strings.Join(s.Healthcheck.Test, " "); hc != "" && !slices.ContainsFunc(probePaths, func(p string) bool { return strings.Contains(hc, p) }) {
			t.Errorf("service %s: health check %q probes no relais endpoint", name, hc)
		}
	}
	w := c.Services["worker"]
	if w.ContainerName != "" || len(w.Ports) > 0 {
		t.Error("the worker service cannot be scaled: it has a container name or host ports")
	}
	if !slices.Contains(c.Services["redis"].Command, "--appendonly") {
		t.Error("redis runs without AOF persistence")
	}
}

// k8sObject is the part of a Kubernetes object the test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas *int `yaml:"replicas"`
		Template struct {
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		ScaleTargetRef struct {
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
	} `yaml:"spec"`
	Images []struct {
		NewTag string `yaml:"newTag"`
	} `yaml:"images"`
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot bool `yaml:"runAsNonRoot"`
	} `yaml:"securityContext"`
	Containers []struct {
		Name string   `yaml:"name"`
		Args []string `yaml:"args"`
		Env  []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct {
					Name, Key string
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
	} `yaml:"containers"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

// TestKubernetes checks deploy/k8s: non-root pods, known variables, every
// secret from the Secret, probes on relais' endpoints, memory bounds, and
// the migration Job, disruption budget and autoscaler present.
func TestKubernetes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	var objs []k8sObject
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			objs = append(objs, o)
		}
	}
	secretKeys := map[string]bool{}
	kinds := map[string][]string{}
	for _, o := range objs {
		kinds[o.Kind] = append(kinds[o.Kind], o.Metadata.Name)
		switch o.Kind {
		case "Secret":
			for k := range o.StringData {
				secretKeys[k] = true
			}
		case "ConfigMap":
			for k, v := range o.Data {
				known(t, "ConfigMap "+o.Metadata.Name, k)
				if slices.Contains(secretEnv, k) {
					t.Errorf("ConfigMap %s holds %s=%q: secrets belong in the Secret", o.Metadata.Name, k, v)
				}
			}
		case "Kustomization":
			for _, im := range o.Images {
				if im.NewTag == "" || im.NewTag == "latest" {
					t.Errorf("kustomization image tag %q is not pinned", im.NewTag)
				}
			}
		}
	}
	for _, want := range []string{"Deployment", "Job", "PodDisruptionBudget", "ConfigMap", "Secret"} {
		if len(kinds[want]) == 0 {
			t.Errorf("no %s in deploy/k8s", want)
		}
	}
	if len(kinds["HorizontalPodAutoscaler"])+len(kinds["ScaledObject"]) == 0 {
		t.Error("no autoscaler for the workers")
	}
	for _, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "Job" {
			continue
		}
		where := o.Kind + " " + o.Metadata.Name
		ps := o.Spec.Template.Spec
		if !ps.SecurityContext.RunAsNonRoot {
			t.Errorf("%s does not require a non-root user", where)
		}
		for _, c := range ps.Containers {
			refs := map[string]bool{}
			for _, e := range c.Env {
				known(t, where, e.Name)
				if inlineSecret(e.Name, e.Value) {
					t.Errorf("%s writes the secret %s inline", where, e.Name)
				}
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					if !secretKeys[e.ValueFrom.SecretKeyRef.Key] {
						t.Errorf("%s reads key %s the Secret does not have", where, e.ValueFrom.SecretKeyRef.Key)
					}
					refs[e.Name] = true
				}
			}
			for _, s := range secretEnv {
				if !refs[s] {
					t.Errorf("%s does not read %s from the Secret", where, s)
				}
			}
			if c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
				t.Errorf("%s: memory request and limit are required", where)
			}
			if o.Kind != "Deployment" {
				continue
			}
			if c.LivenessProbe == nil || c.ReadinessProbe == nil {
				t.Errorf("%s: liveness and readiness probes are required", where)
				continue
			}
			for _, p := range []string{c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path} {
				if !slices.Contains(probePaths, p) {
					t.Errorf("%s probes %q, which relais does not serve", where, p)
				}
			}
		}
	}
}
