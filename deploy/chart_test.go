package deploy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/daemon"
)

const chartDir = "helm/xdrlink"

// helm runs the helm of tools/go.mod with its caches in the test's own
// directories, so it reads no repositories and leaves nothing behind.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	modfile, err := filepath.Abs(filepath.Join(repoRoot, "tools", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "-modfile=" + modfile, "helm"}, args...)...)
	home := filepath.Join(workDir, "helm")
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// valueSets are the chart's defaults and every values file under ci/.
func valueSets(t *testing.T) map[string][]string {
	t.Helper()
	sets := map[string][]string{"default": nil}
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		sets[strings.TrimSuffix(filepath.Base(f), ".yaml")] = []string{"--values", f}
	}
	if len(sets) < 2 {
		t.Fatal("no values files under ci/")
	}
	return sets
}

// rendered is one helm template output, decoded into the API types.
type rendered struct {
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
	services    []*corev1.Service
	configMaps  []*corev1.ConfigMap
	accounts    []*corev1.ServiceAccount
	pdbs        []*policyv1.PodDisruptionBudget
	netpols     []*networkingv1.NetworkPolicy
}

// decode splits the YAML stream and decodes each object strictly into
// its k8s.io/api type: an unknown or duplicate field, a wrong type, or a
// kind the chart is not expected to make fails.
func decode(t *testing.T, stream []byte) *rendered {
	t.Helper()
	r := &rendered{}
	rd := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		if tm.Kind == "" {
			continue // only comments
		}
		var obj any
		switch tm.APIVersion + "/" + tm.Kind {
		case "apps/v1/Deployment":
			o := &appsv1.Deployment{}
			r.deployments, obj = append(r.deployments, o), o
		case "batch/v1/Job":
			o := &batchv1.Job{}
			r.jobs, obj = append(r.jobs, o), o
		case "v1/Service":
			o := &corev1.Service{}
			r.services, obj = append(r.services, o), o
		case "v1/ConfigMap":
			o := &corev1.ConfigMap{}
			r.configMaps, obj = append(r.configMaps, o), o
		case "v1/ServiceAccount":
			o := &corev1.ServiceAccount{}
			r.accounts, obj = append(r.accounts, o), o
		case "policy/v1/PodDisruptionBudget":
			o := &policyv1.PodDisruptionBudget{}
			r.pdbs, obj = append(r.pdbs, o), o
		case "networking.k8s.io/v1/NetworkPolicy":
			o := &networkingv1.NetworkPolicy{}
			r.netpols, obj = append(r.netpols, o), o
		default:
			t.Fatalf("unexpected object %s %s", tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%s: %v in\n%s", tm.Kind, err, doc)
		}
		meta := obj.(metav1.ObjectMetaAccessor).GetObjectMeta()
		for _, msg := range validation.IsDNS1123Subdomain(meta.GetName()) {
			t.Errorf("%s %q: name: %s", tm.Kind, meta.GetName(), msg)
		}
		checkLabels(t, tm.Kind+" "+meta.GetName(), meta.GetLabels())
	}
	return r
}

func checkLabels(t *testing.T, where string, l map[string]string) {
	t.Helper()
	for k, v := range l {
		for _, msg := range validation.IsQualifiedName(k) {
			t.Errorf("%s: label %q: %s", where, k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			t.Errorf("%s: label %s=%q: %s", where, k, v, msg)
		}
	}
}

// TestChart lints the chart and renders it with each value set, decodes
// every object strictly, and holds the result against xdrlinkd: its flags,
// its Azure config loader, its ports and probes.
func TestChart(t *testing.T) {
	recordInputs()
	for name, args := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			if out, err := helm(t, append([]string{"lint", "--strict", chartDir}, args...)...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			out, err := helm(t, append([]string{"template", "xdrlink", chartDir, "--namespace", "xdrlink"}, args...)...)
			if err != nil {
				t.Fatal(err)
			}
			checkRendered(t, decode(t, out))
		})
	}
}

func checkRendered(t *testing.T, r *rendered) {
	if len(r.deployments) != 1 || len(r.services) != 1 || len(r.configMaps) != 1 {
		t.Fatalf("want one Deployment, Service and ConfigMap; got %d, %d, %d", len(r.deployments), len(r.services), len(r.configMaps))
	}
	d := r.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment replicas %v, want 2", d.Spec.Replicas)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	podLabels := labels.Set(d.Spec.Template.Labels)
	if !sel.Matches(podLabels) {
		t.Errorf("Deployment selector %v does not match its pods' labels %v", sel, podLabels)
	}
	checkLabels(t, "pod template", d.Spec.Template.Labels)
	spec := &d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	c := &spec.Containers[0]
	checkSecurity(t, "Deployment", spec, c)
	if len(c.Args) == 0 || c.Args[0] != "serve" || c.Command != nil {
		t.Errorf("container runs %v %v: want the image's entrypoint with serve", c.Command, c.Args)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("container resources %v: want cpu and memory requests and a memory limit", c.Resources)
	}

	env := map[string]corev1.EnvVar{}
	var names []string
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		env[e.Name] = e
		names = append(names, e.Name)
	}

	// The Azure config: decoded by xdrlinkd's own loader, its secrets in
	// the environment or mounted, where it says.
	cfgPath := env["XDRLINK_AZURE_CONFIG"].Value
	if cfgPath == "" {
		t.Fatal("no XDRLINK_AZURE_CONFIG: serve would run the sandbox, which it refuses off loopback")
	}
	azureJSON := fileFromConfigMap(t, spec, c, r.configMaps, cfgPath)
	local := filepath.Join(t.TempDir(), "azure.json")
	if err := os.WriteFile(local, []byte(azureJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	ac, err := daemon.LoadAzureConfig(local)
	if err != nil {
		t.Fatalf("azure.json does not load: %v\n%s", err, azureJSON)
	}
	profileEnv := map[string]bool{}
	for _, p := range ac.Profiles {
		if p.ClientID == "" && p.Kind != credential.KindManagedIdentity {
			// The defaults leave the app's id to the operator (NOTES.txt says so).
			t.Logf("profile %s: no client_id", p.Name)
		} else if err := p.Validate(); err != nil {
			t.Errorf("azure.json: %v", err)
		}
		for _, e := range []string{p.ClientSecretEnv, p.CertificatePasswordEnv} {
			if e == "" {
				continue
			}
			profileEnv[e] = true
			if ev, ok := env[e]; !ok || ev.ValueFrom == nil || ev.ValueFrom.SecretKeyRef == nil {
				t.Errorf("profile %s reads %s: want it in the container's environment from a Secret", p.Name, e)
			}
		}
		for _, f := range []string{p.ClientSecretFile, p.CertificateFile, p.CertificatePasswordFile, p.FederatedTokenFile} {
			if f != "" {
				mountedFile(t, spec, c, f, "Secret")
			}
		}
	}

	checkEnvNamesFlags(t, "Deployment env", "serve", names, profileEnv)
	if v := env["XDRLINK_AUTH"].Value; v != "required" {
		t.Errorf("XDRLINK_AUTH=%q: want required (the pods listen on the pod network)", v)
	}
	if _, ok := env["XDRLINK_ALLOW_UNAUTHENTICATED_NETWORK"]; ok {
		t.Error("XDRLINK_ALLOW_UNAUTHENTICATED_NETWORK is set")
	}
	if db := env["XDRLINK_DB"]; db.Value != "" || db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil {
		t.Errorf("XDRLINK_DB %+v: want the DSN from a Secret", db)
	}
	if env["XDRLINK_SECRET_KEY_FILE"].Value == "" {
		t.Error("no XDRLINK_SECRET_KEY_FILE: serve refuses --azure-config without it")
	}
	// Every file a flag names is in a mount of the right kind.
	for _, e := range c.Env {
		f, ok := envFlag(e.Name)
		if !ok || !strings.HasSuffix(f, "-file") {
			continue
		}
		mountedFile(t, spec, c, e.Value, "Secret")
	}
	tls := env["XDRLINK_TLS_CERT_FILE"].Value != ""
	if tls != (env["XDRLINK_TLS_KEY_FILE"].Value != "") {
		t.Error("TLS cert and key: want both or neither")
	}

	// Ports: the listen addresses, the container ports, the probes and the Service agree.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for k, name := range map[string]string{"XDRLINK_GRPC_ADDR": "grpc", "XDRLINK_HTTP_ADDR": "http", "XDRLINK_METRICS_ADDR": "metrics"} {
		addr, ok := env[k]
		if !ok {
			if name != "metrics" {
				t.Errorf("no %s: serve's default is loopback, unreachable from the kubelet and the Service", k)
			}
			if _, has := ports[name]; has && name == "metrics" {
				t.Errorf("container port %s without %s", name, k)
			}
			continue
		}
		_, p, err := net.SplitHostPort(addr.Value)
		if err != nil {
			t.Fatalf("%s=%q: %v", k, addr.Value, err)
		}
		if strconv.Itoa(int(ports[name])) != p {
			t.Errorf("%s=%s, but container port %q is %d", k, addr.Value, name, ports[name])
		}
	}
	resolve := func(what string, p intstr.IntOrString) int32 {
		if p.Type == intstr.String {
			n, ok := ports[p.StrVal]
			if !ok {
				t.Errorf("%s: no container port named %q", what, p.StrVal)
			}
			return n
		}
		for _, n := range ports {
			if n == p.IntVal {
				return n
			}
		}
		t.Errorf("%s: port %d is no container port", what, p.IntVal)
		return 0
	}
	if c.ReadinessProbe == nil || c.LivenessProbe == nil {
		t.Fatal("want readiness and liveness probes")
	}
	for what, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		if p == nil {
			continue
		}
		switch h := p.ProbeHandler; {
		case h.HTTPGet != nil:
			if h.HTTPGet.Path != "/healthz" || resolve(what, h.HTTPGet.Port) != ports["http"] {
				t.Errorf("%s probe GET %s on %v: want /healthz on the REST port", what, h.HTTPGet.Path, h.HTTPGet.Port.String())
			}
			if want := map[bool]corev1.URIScheme{false: corev1.URISchemeHTTP, true: corev1.URISchemeHTTPS}[tls]; h.HTTPGet.Scheme != want {
				t.Errorf("%s probe scheme %s, want %s (TLS %v)", what, h.HTTPGet.Scheme, want, tls)
			}
		case h.GRPC != nil:
			if tls {
				t.Errorf("%s probe: the kubelet's gRPC probe cannot speak TLS", what)
			}
			if h.GRPC.Port != ports["grpc"] {
				t.Errorf("%s probe: gRPC port %d, want %d", what, h.GRPC.Port, ports["grpc"])
			}
		case h.TCPSocket != nil:
			if n := resolve(what, h.TCPSocket.Port); n != ports["grpc"] && n != ports["http"] {
				t.Errorf("%s probe: TCP port %d is neither API port", what, n)
			}
		default:
			t.Errorf("%s probe: no HTTP, gRPC or TCP handler", what)
		}
	}
	if c.ReadinessProbe.HTTPGet == nil && c.ReadinessProbe.GRPC == nil {
		t.Error("readiness probe: want /healthz or the gRPC health service (it follows the store)")
	}

	svc := r.services[0]
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not match the pods %v", svc.Spec.Selector, podLabels)
	}
	svcPorts := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		svcPorts[p.Name] = true
		resolve("Service port "+p.Name, p.TargetPort)
	}
	for name := range ports {
		if !svcPorts[name] {
			t.Errorf("container port %s is not in the Service", name)
		}
	}

	for _, pdb := range r.pdbs {
		s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !s.Matches(podLabels) {
			t.Errorf("PodDisruptionBudget selector %v does not match the pods", pdb.Spec.Selector)
		}
		if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
			t.Errorf("PodDisruptionBudget minAvailable %v: want fewer than the %d replicas, or no node drains", pdb.Spec.MinAvailable, *d.Spec.Replicas)
		}
	}
	if len(r.pdbs) == 0 {
		t.Error("no PodDisruptionBudget")
	}
	for _, np := range r.netpols {
		s, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !s.Matches(podLabels) {
			t.Errorf("NetworkPolicy selects %v, not the pods", np.Spec.PodSelector)
		}
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port != nil {
					resolve("NetworkPolicy port", *p.Port)
				}
			}
		}
	}
	for _, sa := range r.accounts {
		if sa.Name != spec.ServiceAccountName {
			t.Errorf("ServiceAccount %s made, pods run as %s", sa.Name, spec.ServiceAccountName)
		}
	}

	// Migrations: by the Job, or by each replica at start; never neither.
	autoMigrate := env["XDRLINK_AUTO_MIGRATE"].Value != "false"
	if len(r.jobs) > 1 {
		t.Errorf("%d Jobs, want at most the migration", len(r.jobs))
	}
	if len(r.jobs) == 0 && !autoMigrate {
		t.Error("no migration Job and XDRLINK_AUTO_MIGRATE=false: nothing migrates the store")
	}
	for _, j := range r.jobs {
		if autoMigrate {
			t.Error("a migration Job and auto-migrate: two migrators")
		}
		if hook := j.Annotations["helm.sh/hook"]; !strings.Contains(hook, "pre-install") || !strings.Contains(hook, "pre-upgrade") {
			t.Errorf("migration Job hook %q: want pre-install and pre-upgrade, before the new pods", hook)
		}
		js := &j.Spec.Template.Spec
		if len(js.Containers) != 1 {
			t.Fatalf("migration Job: want one container, got %d", len(js.Containers))
		}
		jc := &js.Containers[0]
		if jc.Image != c.Image || len(jc.Args) == 0 || jc.Args[0] != "migrate" {
			t.Errorf("migration Job runs %s %v: want %s migrate", jc.Image, jc.Args, c.Image)
		}
		if js.RestartPolicy != corev1.RestartPolicyNever && js.RestartPolicy != corev1.RestartPolicyOnFailure {
			t.Errorf("migration Job restartPolicy %q", js.RestartPolicy)
		}
		checkSecurity(t, "migration Job", js, jc)
		var jnames []string
		for _, e := range jc.Env {
			jnames = append(jnames, e.Name)
			if e.Name == "XDRLINK_DB" && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
				*e.ValueFrom.SecretKeyRef != *env["XDRLINK_DB"].ValueFrom.SecretKeyRef) {
				t.Errorf("migration Job XDRLINK_DB %+v: want the server's Secret", e)
			}
		}
		checkEnvNamesFlags(t, "migration Job env", "migrate", jnames, nil)
		if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(j.Spec.Template.Labels)) {
			t.Error("the Service selects the migration Job's pod")
		}
	}
}

// checkSecurity: non-root, no privilege escalation, read-only root, and
// a writable /tmp.
func checkSecurity(t *testing.T, what string, spec *corev1.PodSpec, c *corev1.Container) {
	t.Helper()
	ps, cs := spec.SecurityContext, c.SecurityContext
	if cs == nil {
		t.Fatalf("%s: no container securityContext", what)
	}
	nonRoot := (cs.RunAsNonRoot != nil && *cs.RunAsNonRoot) || (ps != nil && ps.RunAsNonRoot != nil && *ps.RunAsNonRoot)
	if !nonRoot {
		t.Errorf("%s: want runAsNonRoot", what)
	}
	uid := cs.RunAsUser
	if uid == nil && ps != nil {
		uid = ps.RunAsUser
	}
	if uid != nil && *uid == 0 {
		t.Errorf("%s: runAsUser 0", what)
	}
	if cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation {
		t.Errorf("%s: want allowPrivilegeEscalation false", what)
	}
	if cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem {
		t.Errorf("%s: want readOnlyRootFilesystem", what)
	}
	if cs.Capabilities == nil || len(cs.Capabilities.Drop) != 1 || cs.Capabilities.Drop[0] != "ALL" {
		t.Errorf("%s: want capabilities drop ALL", what)
	}
	if v, _ := mountFor(spec, c, "/tmp/x"); v == nil || v.EmptyDir == nil {
		t.Errorf("%s: want an emptyDir on /tmp (the root file system is read-only)", what)
	}
}

// mountFor finds the volume mounted at the directory holding file, and the
// file's path inside it.
func mountFor(spec *corev1.PodSpec, c *corev1.Container, file string) (*corev1.Volume, string) {
	var best *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") && (best == nil || len(m.MountPath) > len(best.MountPath)) {
			best = &c.VolumeMounts[i]
		}
	}
	if best == nil {
		return nil, ""
	}
	rel := strings.TrimPrefix(file, strings.TrimSuffix(best.MountPath, "/")+"/")
	if best.SubPath != "" {
		rel = path.Join(best.SubPath, rel)
	}
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == best.Name {
			return &spec.Volumes[i], rel
		}
	}
	return nil, ""
}

// mountedFile checks that file is in a read-only mount of a volume of the
// given kind ("Secret" or "ConfigMap") that holds it (when the volume lists
// its items).
func mountedFile(t *testing.T, spec *corev1.PodSpec, c *corev1.Container, file, kind string) *corev1.Volume {
	t.Helper()
	v, rel := mountFor(spec, c, file)
	if v == nil {
		t.Errorf("%s is in no mounted volume", file)
		return nil
	}
	var items []corev1.KeyToPath
	switch {
	case v.Secret != nil && kind == "Secret":
		items = v.Secret.Items
	case v.ConfigMap != nil && kind == "ConfigMap":
		items = v.ConfigMap.Items
	default:
		t.Errorf("%s: volume %s is not a %s", file, v.Name, kind)
		return v
	}
	for _, m := range c.VolumeMounts {
		if m.Name == v.Name {
			if !m.ReadOnly {
				t.Errorf("volume %s is mounted writable", v.Name)
			}
			if m.SubPath != "" {
				t.Errorf("volume %s is mounted with subPath: updates (rotated secrets) would not reach the pod", v.Name)
			}
		}
	}
	if len(items) > 0 {
		found := false
		for _, it := range items {
			found = found || it.Path == rel
		}
		if !found {
			t.Errorf("%s: volume %s does not project %s (items %v)", file, v.Name, rel, items)
		}
	}
	return v
}

// fileFromConfigMap returns the content of file as the pod sees it: a
// rendered ConfigMap's key, mounted.
func fileFromConfigMap(t *testing.T, spec *corev1.PodSpec, c *corev1.Container, cms []*corev1.ConfigMap, file string) string {
	t.Helper()
	v := mountedFile(t, spec, c, file, "ConfigMap")
	if v == nil || v.ConfigMap == nil {
		t.FailNow()
	}
	_, rel := mountFor(spec, c, file)
	key := rel
	for _, it := range v.ConfigMap.Items {
		if it.Path == rel {
			key = it.Key
		}
	}
	for _, cm := range cms {
		if cm.Name == v.ConfigMap.Name {
			s, ok := cm.Data[key]
			if !ok {
				t.Fatalf("ConfigMap %s has no key %s", cm.Name, key)
			}
			return s
		}
	}
	t.Fatalf("volume %s: ConfigMap %s is not rendered", v.Name, v.ConfigMap.Name)
	return ""
}
