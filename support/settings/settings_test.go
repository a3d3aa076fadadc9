package settings

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubernaut/gateway-contract/support/repo"
)

func load(t *testing.T, args []string, env map[string]string) (Settings, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	return l.Load(func(k string) string { return env[k] }, fs.Args())
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, s Settings)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, s Settings) {
			if s.Cluster != "local" || s.FallbackNamespace != "kubernaut-system" || s.KeepFailed || s.ContractMode() ||
				!s.TraceGate || s.Godog.Concurrency != 8 || !s.Godog.Strict || s.Timeouts.Eventually != 15*time.Second {
				t.Errorf("defaults = %+v", s)
			}
		}},
		{name: "environment", env: map[string]string{
			"E2E_CLUSTER": "k3s", "E2E_CONCURRENCY": "3", "E2E_SEED": "42", "E2E_TAGS": "@dedup",
			"E2E_KEEP_FAILED": "1", "E2E_TRACE_GATE": "off", "E2E_TIMEOUT_EVENTUALLY": "2s",
			"E2E_GATEWAY_ARGS": "--retry-attempts=1  --log-level=debug", "E2E_GATEWAY_URL": "http://gw.example:8080/",
		}, check: func(t *testing.T, s Settings) {
			if s.Cluster != "k3s" || s.Godog.Concurrency != 3 || s.Seed() != 42 || s.Godog.Tags != "@dedup" ||
				!s.KeepFailed || s.TraceGate || s.Timeouts.Eventually != 2*time.Second ||
				strings.Join(s.GatewayArgs, "|") != "--retry-attempts=1|--log-level=debug" || s.GatewayURL != "http://gw.example:8080" {
				t.Errorf("from the environment = %+v", s)
			}
		}},
		{name: "a flag wins over its variable", args: []string{"-godog.concurrency=2", "-e2e.cluster=kind"},
			env: map[string]string{"E2E_CONCURRENCY": "5", "E2E_CLUSTER": "k3s"}, check: func(t *testing.T, s Settings) {
				if s.Godog.Concurrency != 2 || s.Cluster != "kind" {
					t.Errorf("flags lost: concurrency %d, cluster %s", s.Godog.Concurrency, s.Cluster)
				}
			}},
		{name: "paths from the flag and the arguments", args: []string{"-godog.paths=features/a.feature:3", "features/b.feature"},
			check: func(t *testing.T, s Settings) {
				if strings.Join(s.Paths, ",") != "features/a.feature:3,features/b.feature" {
					t.Errorf("Paths = %v", s.Paths)
				}
			}},
		{name: "bad integer", env: map[string]string{"E2E_CONCURRENCY": "eight"}, wantErr: `E2E_CONCURRENCY="eight"`},
		{name: "zero concurrency", env: map[string]string{"E2E_CONCURRENCY": "0"}, wantErr: "at least one scenario"},
		{name: "bad duration", env: map[string]string{"E2E_TIMEOUT_REQUEST": "5"}, wantErr: `E2E_TIMEOUT_REQUEST="5"`},
		{name: "negative duration", env: map[string]string{"E2E_TIMEOUT_REQUEST": "-1s"}, wantErr: "must be positive"},
		{name: "bad switch", env: map[string]string{"E2E_KEEP_FAILED": "maybe"}, wantErr: `E2E_KEEP_FAILED="maybe"`},
		{name: "bad gateway url", env: map[string]string{"E2E_GATEWAY_URL": "gateway:8080"}, wantErr: "not an http(s) URL"},
		{name: "bad service account", env: map[string]string{"E2E_GATEWAY_SERVICE_ACCOUNT": "nonamespace"}, wantErr: "namespace/name"},
		{name: "bad gateway args", env: map[string]string{"E2E_GATEWAY_ARGS": "retry-attempts=1"}, wantErr: "not a --flag=value"},
		{name: "bad tags", env: map[string]string{"E2E_TAGS": "(@a) && ~@b"}, wantErr: "no parentheses"},
		{name: "tag without @", env: map[string]string{"E2E_TAGS": "resilience"}, wantErr: "is not a tag"},
		{name: "a shard", env: map[string]string{"E2E_SHARD": "2/4", "E2E_SHARD_DURATIONS": "reports/cucumber.json, old/cucumber.json"},
			check: func(t *testing.T, s Settings) {
				if s.Shard.Index != 2 || s.Shard.Total != 4 || strings.Join(s.ShardDurations, "|") != "reports/cucumber.json|old/cucumber.json" {
					t.Errorf("shard %v, durations %v", s.Shard, s.ShardDurations)
				}
			}},
		{name: "bad shard", env: map[string]string{"E2E_SHARD": "5/4"}, wantErr: "1 <= I <= N"},
		{name: "shard and paths", env: map[string]string{"E2E_SHARD": "1/2"}, args: []string{"features/a.feature"}, wantErr: "give one or the other"},
		{name: "durations without a shard", env: map[string]string{"E2E_SHARD_DURATIONS": "x.json"}, wantErr: "without E2E_SHARD"},
		{name: "bad client limits", env: map[string]string{"E2E_CLIENT_QPS": "0"}, wantErr: "must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := load(t, tc.args, tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("Load() = %v, want one line containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}
			tc.check(t, s)
		})
	}
}

func TestLoadReadsTheToolsVariables(t *testing.T) {
	s, err := load(t, nil, map[string]string{
		"KUBECONFIG": "/a/one" + string(filepath.ListSeparator) + string(filepath.ListSeparator) + "/a/two",
		"HOME":       "/home/u", "DOCKER_HOST": " tcp://h:2375 ", "KUBEBUILDER_ASSETS": "/assets",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Tools{Kubeconfigs: []string{"/a/one", "/a/two"}, Home: "/home/u", DockerHost: "tcp://h:2375", Assets: "/assets"}
	if !reflect.DeepEqual(s.Tools, want) {
		t.Fatalf("Tools = %+v, want %+v", s.Tools, want)
	}
}

// TestREADMESettingsTable keeps the README's settings table and the Settings type in step: every
// variable the settings read has a row, and every row names a variable the settings read, with
// the flag that sets it.
func TestREADMESettingsTable(t *testing.T) {
	path, err := repo.Path("README.md")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(E2E_[A-Z0-9_]+)` \\| `(-[a-z0-9.-]+)` \\|")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	l := Bind(fs)
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		documented[m[1]] = m[2]
	}
	var want []string
	for _, e := range l.entries {
		want = append(want, e.env)
		if f, ok := documented[e.env]; !ok {
			t.Errorf("%s: the README's settings table has no row | `%s` | `-%s` | ... |", filepath.Base(path), e.env, e.flag)
		} else if f != "-"+e.flag {
			t.Errorf("README: %s is set by -%s, the table says %s", e.env, e.flag, f)
		}
	}
	for env := range documented {
		if !slices.Contains(want, env) {
			t.Errorf("README: the settings table documents %s, which no setting reads", env)
		}
	}
}

func TestCheckTags(t *testing.T) {
	tests := []struct{ filter, errPart string }{
		{"", ""},
		{"@resilience", ""},
		{"@dedup && ~@launched-gateway,@ops", ""},
		{"(@a) && ~@b", "no parentheses"},
		{"@a or @b", "no parentheses"},
		{"resilience", "is not a tag"},
	}
	for _, tc := range tests {
		err := CheckTags(tc.filter)
		if tc.errPart == "" && err != nil {
			t.Errorf("CheckTags(%q) = %v, want nil", tc.filter, err)
		}
		if tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("CheckTags(%q) = %v, want an error containing %q", tc.filter, err, tc.errPart)
		}
	}
}
