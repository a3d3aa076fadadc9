package shard

import (
	"strconv"
	"time"

	"github.com/kubernaut/gateway-contract/support/report"
)

// Durations reads earlier runs' cucumber JSON (E2E_SHARD_DURATIONS: an unsharded run's
// reports/cucumber.json, or the shards' files of the last CI run) into the weights Split uses:
// each element's ("uri:line") summed step durations; a later file wins over an earlier one.
func Durations(files ...string) (map[string]time.Duration, error) {
	runs, err := report.LoadCucumber(files...)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Duration{}
	for _, run := range runs {
		for _, f := range run.Features {
			uri := report.TrimLine(f.URI)
			for _, e := range f.Elements {
				var d time.Duration
				for _, st := range e.Steps {
					if st.Result.Duration != nil {
						d += time.Duration(*st.Result.Duration)
					}
				}
				out[uri+":"+strconv.Itoa(e.Line)] = d
			}
		}
	}
	return out, nil
}
