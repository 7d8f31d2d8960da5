//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	if r := os.Getenv("LW_REPO"); r != "" {
		return r
	}
	r, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestE2EComponents: `otelcol-latencywatch components` lists exactly the
// modules of builder-config.yaml, kind by kind.
func TestE2EComponents(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]any
	if err := yaml.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("builder-config.yaml: %v", err)
	}
	out, err := exec.Command(collectorBinary(t), "components").CombinedOutput()
	if err != nil {
		t.Fatalf("otelcol-latencywatch components: %v\n%s", err, out)
	}
	var listed map[string]any
	if err := yaml.Unmarshal(out, &listed); err != nil {
		t.Fatalf("components output is not YAML: %v\n%s", err, out)
	}
	modules := func(doc map[string]any, kind, field string) []string {
		var mods []string
		items, _ := doc[kind].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			mods = append(mods, fmt.Sprint(m[field]))
		}
		sort.Strings(mods)
		return mods
	}
	total := 0
	for _, kind := range []string{"receivers", "processors", "exporters", "connectors", "extensions"} {
		want, got := modules(manifest, kind, "gomod"), modules(listed, kind, "module")
		total += len(want)
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("%s: builder-config.yaml has\n  %s\nbut the binary lists\n  %s", kind,
				strings.Join(want, "\n  "), strings.Join(got, "\n  "))
		}
	}
	if total < 10 {
		t.Fatalf("only %d components found in builder-config.yaml; the manifest did not parse as expected", total)
	}
}

// configEnv finds the ${env:NAME} references without a default. Each gets a
// value so `validate` checks the file, not the test machine's environment: the
// value a config declares in a comment line
//
//	# validate-env: NAME=value [NAME=value ...]
//
// or else 127.0.0.1:1 (most such variables are broker addresses).
var (
	configEnv    = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)
	declaredEnv  = regexp.MustCompile(`(?m)^#\s*validate-env:(.*)$`)
	serviceKeyRE = regexp.MustCompile(`(?m)^service:`)
)

func validateEnv(raw string) []string {
	declared := map[string]string{}
	for _, m := range declaredEnv.FindAllStringSubmatch(raw, -1) {
		for _, kv := range strings.Fields(m[1]) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				declared[k] = v
			}
		}
	}
	var env []string
	for _, m := range configEnv.FindAllStringSubmatch(raw, -1) {
		v, ok := declared[m[1]]
		if !ok {
			v = "127.0.0.1:1"
		}
		env = append(env, m[1]+"="+v)
	}
	return env
}

// TestE2EValidateConfigs runs `otelcol-latencywatch validate` on every config.
func TestE2EValidateConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "config", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs found under config/: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !serviceKeyRE.Match(raw) {
				// A data file an example config points at (e.g. a metadata table).
				t.Logf("%s has no top-level service: key; not a collector config, not validated", f)
				return
			}
			cmd := exec.Command(collectorBinary(t), "validate", "--config", f)
			cmd.Env = append(os.Environ(), validateEnv(string(raw))...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("validate %s: %v\n%s", f, err, out)
			}
		})
	}
}

// TestE2ELocalConfig is `make run` as a new user sees it: the collector on
// config/local.yaml (ports moved with --set so the test never collides with a
// collector already running), health check up, an OTLP/HTTP request accepted
// and printed by the debug exporter.
func TestE2ELocalConfig(t *testing.T) {
	health, grpcPort, httpPort, pprofPort := freePort(t), freePort(t), freePort(t), freePort(t)
	out := &syncBuffer{}
	cmd := exec.Command(collectorBinary(t), "--config", filepath.Join(repoRoot(t), "config", "local.yaml"),
		fmt.Sprintf("--set=extensions::health_check::endpoint=127.0.0.1:%d", health),
		fmt.Sprintf("--set=extensions::pprof::endpoint=127.0.0.1:%d", pprofPort),
		fmt.Sprintf("--set=receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", grpcPort),
		fmt.Sprintf("--set=receivers::otlp::protocols::http::endpoint=127.0.0.1:%d", httpPort),
		"--set=service::telemetry::metrics::level=none")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &collector{cmd: cmd, out: out, healthPort: health, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	defer func() {
		c.stop(t)
		if t.Failed() {
			t.Logf("collector output:\n%s", out.String())
		}
	}()
	c.waitHealthy(t, 60*time.Second)

	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
"name":"GET /cart/e2e-local","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000"}]}]}]}`
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v1/traces", httpPort), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("OTLP/HTTP request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP/HTTP request answered %s, want 200", resp.Status)
	}
	eventually(t, 20*time.Second, "span printed by the debug exporter", func() (bool, string) {
		return strings.Contains(out.String(), "GET /cart/e2e-local"), "not in output yet"
	})
}

// TestE2EValidateK8sManifests validates the collector config every ConfigMap
// under config/k8s/ carries, and checks that the pods mount and run it with
// probes on the health_check port.
func TestE2EValidateK8sManifests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "config", "k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests found under config/k8s/: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dec := yaml.NewDecoder(strings.NewReader(string(raw)))
			configs, probes := 0, 0
			for {
				var doc struct {
					Kind string            `yaml:"kind"`
					Data map[string]string `yaml:"data"`
					Spec struct {
						Template struct {
							Spec struct {
								Containers []struct {
									Name           string   `yaml:"name"`
									Args           []string `yaml:"args"`
									ReadinessProbe struct {
										HTTPGet struct {
											Port int `yaml:"port"`
										} `yaml:"httpGet"`
									} `yaml:"readinessProbe"`
								} `yaml:"containers"`
							} `yaml:"spec"`
						} `yaml:"template"`
					} `yaml:"spec"`
				}
				if err := dec.Decode(&doc); err != nil {
					if err.Error() == "EOF" {
						break
					}
					t.Fatalf("%s is not valid YAML: %v", f, err)
				}
				switch doc.Kind {
				case "ConfigMap":
					for key, cfg := range doc.Data {
						if !serviceKeyRE.MatchString(cfg) {
							continue
						}
						configs++
						if !strings.Contains(cfg, "endpoint: 0.0.0.0:13133") {
							t.Errorf("ConfigMap key %s: health_check must listen on 0.0.0.0:13133 for the kubelet probes", key)
						}
						path := filepath.Join(t.TempDir(), key)
						if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
							t.Fatal(err)
						}
						cmd := exec.Command(collectorBinary(t), "validate", "--config", path)
						cmd.Env = append(os.Environ(), validateEnv(cfg)...)
						if out, err := cmd.CombinedOutput(); err != nil {
							t.Errorf("validate ConfigMap key %s: %v\n%s", key, err, out)
						}
					}
				case "Deployment", "DaemonSet", "StatefulSet":
					for _, c := range doc.Spec.Template.Spec.Containers {
						if c.Name != "otelcol-latencywatch" {
							continue
						}
						probes++
						if c.ReadinessProbe.HTTPGet.Port != 13133 {
							t.Errorf("%s container: readiness probe port %d, want the health_check port 13133", c.Name, c.ReadinessProbe.HTTPGet.Port)
						}
						if !strings.Contains(strings.Join(c.Args, " "), "--config=/etc/otelcol-latencywatch/config.yaml") {
							t.Errorf("%s container: args %v do not run the mounted config", c.Name, c.Args)
						}
					}
				}
			}
			if configs == 0 || probes == 0 {
				t.Fatalf("%s: found %d collector configs and %d collector containers; want at least one of each", f, configs, probes)
			}
		})
	}
}
