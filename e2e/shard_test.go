package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kubernaut/gateway-contract/support/report"
	"github.com/kubernaut/gateway-contract/support/settings"
	"github.com/kubernaut/gateway-contract/support/shard"
)

// shardRun is what E2E_SHARD changes in a run: the scenarios it runs, its report's title, and
// the requirements that other shards' scenarios cover (the shard's gate leaves those to the
// merged report).
type shardRun struct {
	on        bool
	paths     []string
	title     string
	otherReqs map[string]bool
}

// selectShard splits features/ as support/shard does and picks this run's shard. An empty shard
// (more shards than scenarios) writes an empty cucumber.json, so that the merge still finds one
// file per shard.
func selectShard(root string, s settings.Settings, out string) (shardRun, error) {
	if !s.Shard.On() {
		return shardRun{}, nil
	}
	all, err := shard.Discover(root, "features")
	if err != nil {
		return shardRun{}, err
	}
	var durations map[string]time.Duration
	how := "a stable hash (no E2E_SHARD_DURATIONS)"
	if len(s.ShardDurations) > 0 {
		files, err := durationFiles(root, s.ShardDurations)
		if err != nil {
			return shardRun{}, err
		}
		if len(files) > 0 {
			if durations, err = shard.Durations(files...); err != nil {
				return shardRun{}, fmt.Errorf("E2E_SHARD_DURATIONS: %w", err)
			}
			how = fmt.Sprintf("the durations in %d earlier report(s) (%s)", len(files), strings.Join(s.ShardDurations, ", "))
		} else {
			how = fmt.Sprintf("a stable hash (E2E_SHARD_DURATIONS=%s matches no file yet)", strings.Join(s.ShardDurations, ","))
		}
	}
	plan, err := shard.Split(all, s.Shard.Total, durations)
	if err != nil {
		return shardRun{}, err
	}
	r := shardRun{on: true, otherReqs: map[string]bool{},
		title: fmt.Sprintf("%s (shard %d of %d)", report.DefaultTitle, s.Shard.Index, s.Shard.Total)}
	for i, sh := range plan.Shards {
		for _, sc := range sh {
			if i == s.Shard.Index-1 {
				r.paths = append(r.paths, sc.Path())
				continue
			}
			for _, tag := range sc.Tags {
				if id, ok := strings.CutPrefix(tag, "@"); ok && strings.HasPrefix(id, "BR-") {
					r.otherReqs[id] = true
				}
			}
		}
	}
	var total time.Duration
	for _, l := range plan.Load {
		total += l
	}
	fmt.Fprintf(os.Stderr, "e2e: shard %s: %d of %d scenarios, split by %s (this shard's share: %s of %s)\n",
		s.Shard, len(r.paths), len(all), how, plan.Load[s.Shard.Index-1].Round(1e9), total.Round(1e9))
	if len(r.paths) == 0 {
		fmt.Fprintf(os.Stderr, "e2e: shard %s has no scenario (more shards than scenarios); it writes an empty report\n", s.Shard)
		if err := os.WriteFile(filepath.Join(out, "cucumber.json"), []byte("[]\n"), 0o644); err != nil {
			return shardRun{}, fmt.Errorf("writing the empty shard's report: %w", err)
		}
	}
	return r, nil
}

// durationFiles resolves E2E_SHARD_DURATIONS from the project root. A glob pattern may match
// nothing (CI's first run has no earlier report: the split is then by hash); a file named
// plainly must exist.
func durationFiles(root string, given []string) ([]string, error) {
	var files []string
	for _, f := range given {
		if !filepath.IsAbs(f) {
			f = filepath.Join(root, f)
		}
		if !strings.ContainsAny(f, "*?[") {
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("E2E_SHARD_DURATIONS: %w", err)
			}
			files = append(files, f)
			continue
		}
		m, err := filepath.Glob(f)
		if err != nil {
			return nil, fmt.Errorf("E2E_SHARD_DURATIONS: pattern %s: %w", f, err)
		}
		slices.Sort(m)
		files = append(files, m...)
	}
	return files, nil
}
