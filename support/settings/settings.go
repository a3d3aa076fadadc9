// Package settings is the suite's one settings surface: every E2E_* value and every bound of a
// run, each with an environment variable and a flag, loaded and validated once. A flag given on
// the command line wins over its environment variable, which wins over the default; a bad value
// is an error that names the variable, never silently ignored. The model is e2e-framework's
// envconf + flags: one config from one flag set.
//
// godog's own options (godog.BindFlags: -godog.tags, -godog.concurrency, -godog.random,
// -godog.format, -godog.stop-on-failure, ...) are part of the same flag set: E2E_TAGS,
// E2E_CONCURRENCY and E2E_SEED are the environment variables of godog's flags rather than flags of
// their own, so that there is one name for each thing.
package settings

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/poll"
	"github.com/kubernaut/gateway-contract/support/shard"
)

// Settings is everything a run can be told.
type Settings struct {
	// Cluster (E2E_CLUSTER) names the cluster provider: local, existing, k3s, kind, container.
	Cluster string
	// KubeContext (E2E_KUBE_CONTEXT) is the kubeconfig context of the existing provider.
	KubeContext string
	// K3sImage and KindImage (E2E_K3S_IMAGE, E2E_KIND_IMAGE) are the images of those providers.
	K3sImage, KindImage string
	// ClientQPS and ClientBurst (E2E_CLIENT_QPS, E2E_CLIENT_BURST) are the suite's client-go rate
	// limits on every provider: high, so that the suite is never throttled by its own client; API
	// Priority and Fairness protects the server.
	ClientQPS   float64
	ClientBurst int

	// GatewayURL (E2E_GATEWAY_URL) points the suite at a deployed gateway instead of launching one:
	// contract mode.
	GatewayURL string
	// GatewayCA (E2E_GATEWAY_CA) is a PEM file of the CA that issued the deployed gateway's serving
	// certificate, in contract mode; empty: the system's roots verify it.
	GatewayCA string
	// FallbackNamespace (E2E_FALLBACK_NAMESPACE) must match the gateway's --fallback-namespace.
	FallbackNamespace string
	// GatewayServiceAccount (E2E_GATEWAY_SERVICE_ACCOUNT, namespace/name) is the deployed gateway's
	// identity in contract mode, for the permission scenarios; the default is the manifest's.
	GatewayServiceAccount string
	// GatewayArgs (E2E_GATEWAY_ARGS, space separated) are added to the launched gateways' flags,
	// after the suite's own, so they win over those; flags a scenario states for its own gateway
	// come last and win over them. `make e2e-must-fail` uses it to turn retries off.
	GatewayArgs []string
	// GatewayBinary (E2E_GATEWAY_BINARY) is a gateway binary built beforehand, launched instead of
	// building gateway/cmd/gateway: `make mutation` runs one compiled suite against many mutant
	// binaries, and a coverage-instrumented one.
	GatewayBinary string

	// GatewayRuntime (E2E_GATEWAY_RUNTIME) is how the suite runs the gateways it launches:
	// "process", a host process given a kubeconfig, or "container", the deployed form: the
	// shipped image and manifests, the Pod template's container run as a kubelet would, on its
	// in-cluster identity.
	GatewayRuntime string

	// AuthzCacheTTL (E2E_AUTHZ_CACHE_TTL) is how long the gateway caches an allowed permission:
	// the suite starts its gateways with it (--authz-allow-cache-ttl), a deployed gateway must
	// have it, and a revoked permission must take effect within it.
	AuthzCacheTTL time.Duration

	// KeepFailed (E2E_KEEP_FAILED=1) keeps a failed scenario's namespace for inspection.
	KeepFailed bool
	// ReportDir (E2E_REPORT_DIR) is where reports go; relative to the project root.
	ReportDir string
	// TraceGate (E2E_TRACE_GATE=off turns it off) fails the run on traceability errors.
	TraceGate bool

	// Shard (E2E_SHARD=I/N) runs one shard of the suite: the scenarios support/shard gives shard
	// I of N. ShardDurations (E2E_SHARD_DURATIONS, comma separated) are earlier runs' cucumber
	// JSON files that balance the split by the scenarios' durations; without them, a stable hash
	// splits the suite evenly by scenario count.
	Shard          shard.Spec
	ShardDurations []string

	// Godog holds godog's options (E2E_TAGS, E2E_CONCURRENCY and E2E_SEED among them).
	Godog godog.Options
	// Paths (-godog.paths, comma separated, or arguments after -args) select feature files or
	// file:LINE scenarios; empty means features/.
	Paths []string

	// Timeouts are every bound of the suite (E2E_TIMEOUT_*).
	Timeouts poll.Bounds

	// Tools holds the variables of the tools the cluster providers stand in for, read here as
	// those tools define them, so that no provider reads the environment itself.
	Tools Tools
}

// Tools are the standard variables of kubectl, the docker CLI and envtest. They have no flags of
// the suite's: a user sets them for those tools already.
type Tools struct {
	// Kubeconfigs is KUBECONFIG's list of files (the existing provider reads the first one).
	Kubeconfigs []string
	// Home (HOME) holds the default ~/.kube/config.
	Home string
	// DockerHost (DOCKER_HOST) is the Docker engine; empty: its default socket.
	DockerHost string
	// Assets (KUBEBUILDER_ASSETS) is a directory of envtest binaries for the local provider;
	// empty: the control plane built from Go modules.
	Assets string
}

// readTools reads Tools through getenv.
func readTools(getenv func(string) string) Tools {
	var files []string
	for _, f := range filepath.SplitList(getenv("KUBECONFIG")) {
		if f = strings.TrimSpace(f); f != "" {
			files = append(files, f)
		}
	}
	return Tools{
		Kubeconfigs: files,
		Home:        getenv("HOME"),
		DockerHost:  strings.TrimSpace(getenv("DOCKER_HOST")),
		Assets:      strings.TrimSpace(getenv("KUBEBUILDER_ASSETS")),
	}
}

// ContractMode reports whether the suite drives a deployed gateway it did not launch.
func (s Settings) ContractMode() bool { return s.GatewayURL != "" }

// The gateway runtimes (E2E_GATEWAY_RUNTIME).
const (
	RuntimeProcess   = "process"
	RuntimeContainer = "container"
)

// Seed is the random order's seed (E2E_SEED, -godog.random); zero until the run picks one.
func (s Settings) Seed() int64 { return s.Godog.Randomize }

// entry is one setting: its variable, its flag, and whether the flag is godog's.
type entry struct {
	env, flag string
	godog     bool
}

// Loader binds the settings to a flag set and loads them once the flags are parsed.
type Loader struct {
	fs      *flag.FlagSet
	s       *Settings
	entries []entry
}

// Bind registers every setting, and godog's options, on fs with their defaults. Call Load after
// fs is parsed (for `go test`, inside the test).
func Bind(fs *flag.FlagSet) *Loader {
	s := &Settings{
		Timeouts: poll.Defaults(),
		Godog: godog.Options{
			Format:      "progress",
			Concurrency: 8,
			Strict:      true,
			NoColors:    true,
		},
	}
	l := &Loader{fs: fs, s: s}
	l.str(&s.Cluster, "E2E_CLUSTER", "cluster", "local", "cluster provider: local, existing, k3s, kind, container")
	l.str(&s.KubeContext, "E2E_KUBE_CONTEXT", "kube-context", "", "kubeconfig context of the existing provider (default: the current one)")
	l.str(&s.K3sImage, "E2E_K3S_IMAGE", "k3s-image", cluster.DefaultK3sImage, "k3s image, already loaded into Docker")
	l.str(&s.KindImage, "E2E_KIND_IMAGE", "kind-image", cluster.DefaultKindImage, "kind node image, already loaded into Docker")
	fs.Float64Var(&s.ClientQPS, "e2e.client-qps", 1000, "the suite's client-go queries per second on every provider")
	l.add("E2E_CLIENT_QPS", "e2e.client-qps", false)
	fs.IntVar(&s.ClientBurst, "e2e.client-burst", 2000, "the suite's client-go burst on every provider")
	l.add("E2E_CLIENT_BURST", "e2e.client-burst", false)
	l.str(&s.GatewayURL, "E2E_GATEWAY_URL", "gateway-url", "", "contract mode: the URL of a deployed gateway the suite did not launch")
	l.str(&s.GatewayCA, "E2E_GATEWAY_CA", "gateway-ca", "", "contract mode: a PEM file of the CA of the deployed gateway's serving certificate (default: the system's roots)")
	l.str(&s.FallbackNamespace, "E2E_FALLBACK_NAMESPACE", "fallback-namespace", "kubernaut-system", "the gateway's --fallback-namespace")
	l.str(&s.GatewayServiceAccount, "E2E_GATEWAY_SERVICE_ACCOUNT", "gateway-service-account", "kubernaut-system/kubernaut-gateway", "contract mode: the deployed gateway's ServiceAccount, namespace/name")
	fs.Var(fieldsValue{&s.GatewayArgs}, "e2e.gateway-args", "extra flags for launched gateways, space separated, after the suite's own")
	l.add("E2E_GATEWAY_ARGS", "e2e.gateway-args", false)
	l.str(&s.GatewayBinary, "E2E_GATEWAY_BINARY", "gateway-binary", "", "a prebuilt gateway binary to launch instead of building gateway/cmd/gateway")
	l.str(&s.GatewayRuntime, "E2E_GATEWAY_RUNTIME", "gateway-runtime", RuntimeProcess, "how launched gateways run: process (a host process) or container (the image and the Deployment's pod template)")
	fs.DurationVar(&s.AuthzCacheTTL, "e2e.authz-cache-ttl", 2*time.Second, "the gateway's --authz-allow-cache-ttl: the bound of a revocation")
	l.add("E2E_AUTHZ_CACHE_TTL", "e2e.authz-cache-ttl", false)
	fs.Var(onOff{&s.KeepFailed}, "e2e.keep-failed", "keep a failed scenario's namespace (1/0)")
	l.add("E2E_KEEP_FAILED", "e2e.keep-failed", false)
	l.str(&s.ReportDir, "E2E_REPORT_DIR", "report-dir", "reports", "where reports go, relative to the project root")
	fs.Var(shardValue{&s.Shard}, "e2e.shard", "run shard I of N of the suite, e.g. 2/4 (CI's job matrix)")
	l.add("E2E_SHARD", "e2e.shard", false)
	fs.Var(listValue{&s.ShardDurations}, "e2e.shard-durations", "earlier runs' cucumber JSON files, comma separated, that balance the shards by duration")
	l.add("E2E_SHARD_DURATIONS", "e2e.shard-durations", false)
	s.TraceGate = true
	fs.Var(onOff{&s.TraceGate}, "e2e.trace-gate", "fail the run on traceability errors (on/off)")
	l.add("E2E_TRACE_GATE", "e2e.trace-gate", false)
	for _, t := range []struct {
		d     *time.Duration
		name  string
		usage string
	}{
		{&s.Timeouts.Eventually, "eventually", "waits for the cluster to show what the gateway acknowledged"},
		{&s.Timeouts.Consistently, "consistently", "how long 'nothing happens' is watched for"},
		{&s.Timeouts.Request, "request", "one HTTP request to the gateway"},
		{&s.Timeouts.GatewayStart, "gateway-start", "a gateway's start, up to /readyz 200"},
		{&s.Timeouts.GatewayStop, "gateway-stop", "a graceful stop before the process is killed"},
		{&s.Timeouts.Readiness, "readiness", "waits for /readyz to change"},
		{&s.Timeouts.AnswerMargin, "answer-margin", "what an answer may take beyond the bound the gateway works within (request deadline, /readyz's 1 s)"},
		{&s.Timeouts.Scenario, "scenario", "a whole scenario"},
		{&s.Timeouts.NamespaceGone, "namespace-gone", "the namespace controller's removal of the run's namespaces at its end"},
		{&s.Timeouts.Interval, "interval", "the polling interval"},
	} {
		name := "e2e.timeout-" + t.name
		fs.DurationVar(t.d, name, *t.d, "bound: "+t.usage)
		l.add("E2E_TIMEOUT_"+strings.ToUpper(strings.ReplaceAll(t.name, "-", "_")), name, false)
	}
	godog.BindFlags("godog.", fs, &s.Godog)
	l.add("E2E_TAGS", "godog.tags", true)
	l.add("E2E_CONCURRENCY", "godog.concurrency", true)
	l.add("E2E_SEED", "godog.random", true)
	return l
}

func (l *Loader) str(p *string, env, name, def, usage string) {
	l.fs.StringVar(p, "e2e."+name, def, usage)
	l.add(env, "e2e."+name, false)
}

func (l *Loader) add(env, flagName string, godogFlag bool) {
	l.entries = append(l.entries, entry{env: env, flag: flagName, godog: godogFlag})
	if f := l.fs.Lookup(flagName); f != nil && !strings.Contains(f.Usage, "(env ") {
		f.Usage += " (env " + env + ")"
	}
}

// Variables lists every environment variable the settings read, sorted: the README's settings
// table must name exactly these (a test keeps them in step).
func (l *Loader) Variables() []string {
	out := make([]string, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e.env)
	}
	sort.Strings(out)
	return out
}

// Load applies the environment to every flag not given on the command line, then validates the
// whole. args are the positional arguments (flag.Args()): feature paths, like -godog.paths.
func (l *Loader) Load(getenv func(string) string, args []string) (Settings, error) {
	onCommandLine := map[string]bool{}
	l.fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var errs []error
	for _, e := range l.entries {
		v := strings.TrimSpace(getenv(e.env))
		if onCommandLine[e.flag] || v == "" {
			continue
		}
		if err := l.fs.Set(e.flag, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: not a valid value for -%s: %w", e.env, v, e.flag, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Settings{}, err
	}
	s := *l.s
	s.Tools = readTools(getenv)
	for _, p := range append(append([]string{}, s.Godog.Paths...), args...) {
		if p = strings.TrimSpace(p); p != "" {
			s.Paths = append(s.Paths, p)
		}
	}
	if err := s.validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

func (s *Settings) validate() error {
	s.GatewayURL = strings.TrimSuffix(strings.TrimSpace(s.GatewayURL), "/")
	if s.GatewayURL != "" {
		u, err := url.Parse(s.GatewayURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("E2E_GATEWAY_URL=%q is not an http(s) URL such as http://gateway.example:8080", s.GatewayURL)
		}
	}
	if ns, name, ok := strings.Cut(s.GatewayServiceAccount, "/"); !ok || ns == "" || name == "" {
		return fmt.Errorf("E2E_GATEWAY_SERVICE_ACCOUNT=%q: write namespace/name", s.GatewayServiceAccount)
	}
	if s.FallbackNamespace == "" {
		return errors.New("E2E_FALLBACK_NAMESPACE is empty: name the gateway's --fallback-namespace")
	}
	if s.GatewayRuntime != RuntimeProcess && s.GatewayRuntime != RuntimeContainer {
		return fmt.Errorf("E2E_GATEWAY_RUNTIME=%q: choose %s or %s", s.GatewayRuntime, RuntimeProcess, RuntimeContainer)
	}
	if s.GatewayRuntime == RuntimeContainer && s.GatewayBinary != "" {
		return fmt.Errorf("E2E_GATEWAY_RUNTIME=container and E2E_GATEWAY_BINARY=%q: the container runtime runs the image built from the source, not a prebuilt binary", s.GatewayBinary)
	}
	for _, a := range s.GatewayArgs {
		if !strings.HasPrefix(a, "--") {
			return fmt.Errorf("E2E_GATEWAY_ARGS: %q is not a --flag=value", a)
		}
	}
	if s.Shard.On() && len(s.Paths) > 0 {
		return fmt.Errorf("E2E_SHARD=%s and feature paths %q: a shard is its own selection of the whole suite; give one or the other", s.Shard, s.Paths)
	}
	if len(s.ShardDurations) > 0 && !s.Shard.On() {
		return fmt.Errorf("E2E_SHARD_DURATIONS=%q without E2E_SHARD: durations only balance a split", strings.Join(s.ShardDurations, ","))
	}
	if s.Godog.Concurrency < 1 {
		return fmt.Errorf("E2E_CONCURRENCY=%d: run at least one scenario at a time", s.Godog.Concurrency)
	}
	if s.AuthzCacheTTL <= 0 {
		return fmt.Errorf("E2E_AUTHZ_CACHE_TTL=%s: must be positive", s.AuthzCacheTTL)
	}
	if s.ClientQPS <= 0 || s.ClientBurst < 1 {
		return fmt.Errorf("E2E_CLIENT_QPS=%g, E2E_CLIENT_BURST=%d: both must be positive", s.ClientQPS, s.ClientBurst)
	}
	if err := CheckTags(s.Godog.Tags); err != nil {
		return err
	}
	if err := s.Timeouts.Validate(); err != nil {
		return fmt.Errorf("E2E_TIMEOUT_*: %w", err)
	}
	return nil
}

// CheckTags rejects tag filters godog would silently misread.
func CheckTags(filter string) error {
	if strings.ContainsAny(filter, "()|!") || strings.Contains(filter, " and ") || strings.Contains(filter, " or ") {
		return fmt.Errorf("E2E_TAGS=%q: godog filters use '&&' for and, ',' for or, '~' for not, and no parentheses", filter)
	}
	for _, alt := range strings.Split(filter, ",") {
		for _, term := range strings.Split(alt, "&&") {
			if term = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(term), "~")); filter != "" && !strings.HasPrefix(term, "@") {
				return fmt.Errorf("E2E_TAGS=%q: %q is not a tag (tags start with @)", filter, term)
			}
		}
	}
	return nil
}

// Print writes the effective settings, one per line, so that every run's log says what it ran with.
func (l *Loader) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "settings:\tvariable\tflag\tvalue")
	for _, e := range l.entries {
		v := l.fs.Lookup(e.flag).Value.String()
		fmt.Fprintf(tw, "\t%s\t-%s\t%s\n", e.env, e.flag, v)
	}
	if len(l.s.Godog.Paths) > 0 {
		fmt.Fprintf(tw, "\t\t-godog.paths\t%s\n", strings.Join(l.s.Godog.Paths, ","))
	}
	tw.Flush()
}

// fieldsValue is a space-separated list.
type fieldsValue struct{ p *[]string }

func (f fieldsValue) String() string {
	if f.p == nil {
		return ""
	}
	return strings.Join(*f.p, " ")
}
func (f fieldsValue) Set(v string) error { *f.p = strings.Fields(v); return nil }

// shardValue is E2E_SHARD's I/N.
type shardValue struct{ p *shard.Spec }

func (v shardValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v shardValue) Set(s string) error {
	spec, err := shard.ParseSpec(s)
	if err != nil {
		return err
	}
	*v.p = spec
	return nil
}

// listValue is a comma-separated list.
type listValue struct{ p *[]string }

func (v listValue) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}

func (v listValue) Set(s string) error {
	*v.p = nil
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*v.p = append(*v.p, f)
		}
	}
	return nil
}

// onOff is a boolean that also reads on/off, the words the README uses.
type onOff struct{ p *bool }

func (o onOff) String() string {
	if o.p != nil && *o.p {
		return "on"
	}
	return "off"
}

func (o onOff) Set(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "on", "yes":
		*o.p = true
	case "0", "false", "off", "no":
		*o.p = false
	default:
		return fmt.Errorf("%q is not on or off (1/0, true/false)", v)
	}
	return nil
}

func (o onOff) IsBoolFlag() bool { return true }

// FromEnvironment is the settings of a command that has no suite flags of its own: the defaults,
// overridden by the environment through getenv.
func FromEnvironment(getenv func(string) string) (Settings, error) {
	fs := flag.NewFlagSet("settings", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return Bind(fs).Load(getenv, nil)
}
