package k8s

import (
	"flag"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/ssebench/ssebench/scenarios"
)

func load(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

type meta struct {
	Name        string            `yaml:"name"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	PVC *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env          []map[string]any `yaml:"env"`
	Resources    map[string]any   `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type podSpec struct {
	RestartPolicy             string           `yaml:"restartPolicy"`
	TopologySpreadConstraints []map[string]any `yaml:"topologySpreadConstraints"`
	SecurityContext           map[string]any   `yaml:"securityContext"`
	Containers                []container      `yaml:"containers"`
	Volumes                   []volume         `yaml:"volumes"`
}

type job struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   meta   `yaml:"metadata"`
	Spec       struct {
		CompletionMode          string `yaml:"completionMode"`
		Completions             int    `yaml:"completions"`
		Parallelism             int    `yaml:"parallelism"`
		BackoffLimit            *int   `yaml:"backoffLimit"`
		TTLSecondsAfterFinished int    `yaml:"ttlSecondsAfterFinished"`
		Template                struct {
			Metadata meta    `yaml:"metadata"`
			Spec     podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// TestManifestsFitTogether checks the Indexed Job runs `ssebench run` with
// --shard INDEX/N where N equals completions and parallelism, reads the
// scenario the ConfigMap holds (which must be a valid scenario), and writes
// one result per shard into the volume the collector pod reads.
func TestManifestsFitTogether(t *testing.T) {
	var j job
	load(t, "job.yaml", &j)
	if j.APIVersion != "batch/v1" || j.Kind != "Job" || j.Spec.CompletionMode != "Indexed" {
		t.Fatalf("not an Indexed batch/v1 Job: %s %s %s", j.APIVersion, j.Kind, j.Spec.CompletionMode)
	}
	if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit != 0 || j.Spec.Template.Spec.RestartPolicy != "Never" {
		t.Fatal("a failed shard must not be retried mid-test: backoffLimit 0, restartPolicy Never")
	}
	if len(j.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("want one container")
	}
	c := j.Spec.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	m := regexp.MustCompile(`--shard \$\(JOB_COMPLETION_INDEX\)/(\d+)`).FindStringSubmatch(args)
	if len(c.Args) == 0 || c.Args[0] != "run" || m == nil {
		t.Fatalf("args %q: want run ... --shard $(JOB_COMPLETION_INDEX)/N", args)
	}
	n, _ := strconv.Atoi(m[1])
	if n != j.Spec.Completions || n != j.Spec.Parallelism {
		t.Fatalf("--shard .../%d but completions %d and parallelism %d: all shards must run at once", n, j.Spec.Completions, j.Spec.Parallelism)
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	vols := map[string]volume{}
	for _, v := range j.Spec.Template.Spec.Volumes {
		vols[v.Name] = v
	}

	// The scenario file the args name is the ConfigMap's key, mounted.
	var cm struct {
		Kind     string            `yaml:"kind"`
		Metadata meta              `yaml:"metadata"`
		Data     map[string]string `yaml:"data"`
		API      string            `yaml:"apiVersion"`
	}
	load(t, "scenario-configmap.yaml", &cm)
	scenarioArg := c.Args[1]
	dir, key := path.Split(scenarioArg)
	var cmVol string
	for name, v := range vols {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Metadata.Name {
			cmVol = name
		}
	}
	if cm.Kind != "ConfigMap" || cmVol == "" || strings.TrimSuffix(dir, "/") != mounts[cmVol] || cm.Data[key] == "" {
		t.Fatalf("scenario %s is not the ConfigMap %q key %q mounted at %q", scenarioArg, cm.Metadata.Name, key, mounts[cmVol])
	}
	file := filepath.Join(t.TempDir(), key)
	if err := os.WriteFile(file, []byte(cm.Data[key]), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := loadScenario(file)
	if err != nil {
		t.Fatalf("the ConfigMap's scenario is not valid: %v", err)
	}
	if s.MaxTarget()%n != 0 {
		t.Errorf("%d streams do not split evenly over %d shards", s.MaxTarget(), n)
	}

	// Results go to the claimed volume, one file per shard, which the
	// collector mounts too.
	var pvc struct {
		Kind     string `yaml:"kind"`
		API      string `yaml:"apiVersion"`
		Metadata meta   `yaml:"metadata"`
		Spec     map[string]any
	}
	load(t, "results-pvc.yaml", &pvc)
	out := ""
	for i, a := range c.Args {
		if a == "--out" && i+1 < len(c.Args) {
			out = c.Args[i+1]
		}
	}
	var resVol string
	for name, v := range vols {
		if v.PVC != nil && v.PVC.ClaimName == pvc.Metadata.Name {
			resVol = name
		}
	}
	if resVol == "" || !strings.HasPrefix(out, mounts[resVol]+"/") || !strings.Contains(out, "$(JOB_COMPLETION_INDEX)") {
		t.Fatalf("--out %q is not a per-shard file in the claimed volume mounted at %q", out, mounts[resVol])
	}
	var collect struct {
		Kind     string `yaml:"kind"`
		API      string `yaml:"apiVersion"`
		Metadata meta   `yaml:"metadata"`
		Spec     podSpec
	}
	load(t, "collect.yaml", &collect)
	if len(collect.Spec.Volumes) != 1 || collect.Spec.Volumes[0].PVC == nil || collect.Spec.Volumes[0].PVC.ClaimName != pvc.Metadata.Name {
		t.Fatal("the collector pod must mount the results claim")
	}

	// Streams per pod must fit the processes each pod runs.
	procs := 1
	for i, a := range c.Args {
		if a == "--procs" && i+1 < len(c.Args) {
			procs, _ = strconv.Atoi(c.Args[i+1])
		}
	}
	if per := s.MaxTarget() / n / procs; per > 19000 {
		t.Errorf("%d streams per process: over what a 20,000 open-file limit holds; raise --procs", per)
	}
}

// loadScenario reads a scenario file the way `ssebench run FILE` does:
// scenarios.FromCLI with the run flags and none of them given.
func loadScenario(path string) (*scenarios.Scenario, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	for _, f := range scenarios.Flags() {
		if err := f.Apply(fs); err != nil {
			return nil, err
		}
	}
	if err := fs.Parse([]string{path}); err != nil {
		return nil, err
	}
	return scenarios.FromCLI(cli.NewContext(cli.NewApp(), fs, nil))
}

// TestMetricsScraped: every shard pod serves --metrics-addr on the port
// its container declares as "metrics", its annotations point a Prometheus
// there, and the PodMonitor selects these pods on that port.
func TestMetricsScraped(t *testing.T) {
	var j job
	load(t, "job.yaml", &j)
	c := j.Spec.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	m := regexp.MustCompile(`--metrics-addr :(\d+)`).FindStringSubmatch(args)
	if m == nil || !strings.Contains(args, "--metrics-linger") {
		t.Fatalf("args %q: want --metrics-addr :PORT and --metrics-linger", args)
	}
	port, _ := strconv.Atoi(m[1])
	declared := 0
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			declared = p.ContainerPort
		}
	}
	a := j.Spec.Template.Metadata.Annotations
	if declared != port || a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != m[1] || a["prometheus.io/path"] != "/metrics" {
		t.Fatalf("--metrics-addr :%d, container port metrics %d, annotations %v", port, declared, a)
	}
	var pm struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   meta   `yaml:"metadata"`
		Spec       struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			PodMetricsEndpoints []struct {
				Port     string `yaml:"port"`
				Path     string `yaml:"path"`
				Interval string `yaml:"interval"`
			} `yaml:"podMetricsEndpoints"`
		} `yaml:"spec"`
	}
	load(t, "podmonitor.yaml", &pm)
	if pm.Kind != "PodMonitor" || pm.APIVersion != "monitoring.coreos.com/v1" || len(pm.Spec.PodMetricsEndpoints) != 1 ||
		pm.Spec.PodMetricsEndpoints[0].Port != "metrics" || pm.Spec.PodMetricsEndpoints[0].Path != "/metrics" {
		t.Fatalf("podmonitor %+v", pm)
	}
	for k, v := range pm.Spec.Selector.MatchLabels {
		if j.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("PodMonitor selects %s=%s, the pods are labelled %v", k, v, j.Spec.Template.Metadata.Labels)
		}
	}
}
